using InseqNative.Attribution;
using InseqNative.Interop;
using InseqNative.Loading;
using InseqNative.Outputs;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Attribution;

/// <summary>
/// AttributeOptions.GranularAttributions = false: gradient methods return the default aggregation (L2 over the hidden
/// units, each step column L1-normalized over source + target) with the norms computed where the gradients are
/// (inq_grad_accumulator_reduce). On the CPU that is bitwise <c>output.Aggregate()</c> of the granular run, for every
/// gradient method, both strategies, decoder-only and encoder-decoder (attribute_target on and off), chunked or not.
/// </summary>
public class AggregatedAttributionTests
{
    static readonly int[] Prompt = [5, 17, 2, 33];
    static readonly int[] Target = [5, 17, 2, 33, 8, 40, 11, 29, 3];

    static AttributionModel Gpt2() => new(TransformerModel.CreateRandom(
        ModelConfig.ForGpt2(layers: 2, heads: 2, hidden: 16, vocab: 41, positions: 32, eosTokenId: 40),
        seed: 3, Device.Cpu, std: 0.3f));

    public static TheoryData<string, string, string, bool> DecoderCases()
    {
        var data = new TheoryData<string, string, string, bool>();
        foreach (var strategy in new[] { "Fused", "Stepwise" })
            foreach (var chunked in new[] { false, true })
            {
                data.Add("saliency", "{}", strategy, chunked);
                data.Add("input_x_gradient", "{}", strategy, chunked);
                data.Add("deeplift", "{}", strategy, chunked);
                data.Add("integrated_gradients", "{\"n_steps\": 7, \"return_convergence_delta\": true}", strategy, chunked);
                data.Add("gradient_shap", "{\"n_samples\": 4, \"stdevs\": 0.1}", strategy, chunked);
                data.Add("layer_integrated_gradients", "{\"layer\": \"transformer.h.0\", \"n_steps\": 4}", strategy, chunked);
            }
        return data;
    }

    static AttributeOptions Options(string method, string args, string strategy, long budget, bool granular) =>
        InseqArguments.ToOptions(new Dictionary<string, object?>
        {
            ["method"] = method,
            ["attribution_args"] = InseqArguments.ParseJsonObject(args, "args"),
            ["strategy"] = strategy,
            ["step_scores"] = new[] { "probability" },
        }) with { MemoryBudgetBytes = budget, GranularAttributions = granular };

    static void AssertSameAggregation(FeatureAttributionOutput aggregatedRun, FeatureAttributionOutput granularRun, string what)
    {
        var a = aggregatedRun.SequenceAttributions[0];
        var g = granularRun.SequenceAttributions[0].Aggregate();
        Assert.Equal(SequenceOutputKind.Base, a.Kind);
        Assert.Equal(2, a.AttributionRank);
        foreach (var (x, y) in new[] { (a.SourceAttributions, g.SourceAttributions), (a.TargetAttributions, g.TargetAttributions) })
        {
            Assert.Equal(y is null, x is null);
            if (x is null) continue;
            Assert.Equal(y!.Shape, x.Shape);
            var finite = 0;
            for (var i = 0; i < x.Data.Length; i++)
            {
                Assert.True(BitConverter.SingleToInt32Bits(x.Data[i]) == BitConverter.SingleToInt32Bits(y.Data[i]),
                    $"{what}: element {i} aggregated-run {x.Data[i]:R} vs granular-run aggregated {y.Data[i]:R}");
                if (float.IsFinite(x.Data[i]) && x.Data[i] != 0) finite++;
            }
            Assert.True(finite > 0, $"{what}: nothing but zeros and NaN to compare");
        }
        foreach (var (name, t) in granularRun.SequenceAttributions[0].StepScores)
        {
            var other = a.StepScores[name].Data;
            for (var i = 0; i < t.Data.Length; i++)
                Assert.True(Math.Abs(t.Data[i] - other[i]) <= 1e-5 * (1 + Math.Abs(t.Data[i])), $"{what}: step score {name}[{i}]");
        }
        // Aggregating again changes nothing: the default aggregation of a [tokens, steps] output is empty.
        Assert.Equal(a.TargetAttributions?.Data, a.Aggregate().TargetAttributions?.Data);
    }

    [Theory]
    [MemberData(nameof(DecoderCases))]
    public void Decoder_only_aggregated_output_is_bitwise_the_aggregated_granular_output(string method, string args,
        string strategy, bool chunked)
    {
        using var model = Gpt2();
        var budget = chunked ? model.Model.ContextMemoryBytes(2, Target.Length, 4) : new AttributeOptions().MemoryBudgetBytes;
        var aggregated = model.AttributeIds([Prompt], [Target], Options(method, args, strategy, budget, granular: false));
        var granular = model.AttributeIds([Prompt], [Target], Options(method, args, strategy, budget, granular: true));
        AssertSameAggregation(aggregated, granular, $"{method} {strategy} chunked={chunked}");
        Assert.False(aggregated.Info["granular_attributions"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("saliency", "{}", false)]
    [InlineData("input_x_gradient", "{}", true)]
    [InlineData("integrated_gradients", "{\"n_steps\": 5}", false)]
    [InlineData("integrated_gradients", "{\"n_steps\": 5}", true)]
    [InlineData("gradient_shap", "{\"n_samples\": 3, \"stdevs\": 0.05}", true)]
    public void Encoder_decoder_aggregated_output_is_bitwise_the_aggregated_granular_output(string method, string args,
        bool attributeTarget)
    {
        using var model = new AttributionModel(TransformerModel.Load(FixturePaths.Models("tiny-marian"), Device.Cpu));
        var config = model.Model.Config;
        var start = config.DecoderStartTokenId ?? config.PadTokenId ?? 0;
        var rng = new Random(7);
        int[] source = [.. Enumerable.Range(0, 6).Select(_ => 3 + rng.Next(config.VocabSize - 3))];
        int[] target = [start, .. Enumerable.Range(0, 5).Select(_ => 3 + rng.Next(config.VocabSize - 3))];
        FeatureAttributionOutput Run(bool granular) => model.AttributeIds([source], [target],
            Options(method, args, "Fused", new AttributeOptions().MemoryBudgetBytes, granular) with { AttributeTarget = attributeTarget });
        AssertSameAggregation(Run(granular: false), Run(granular: true), $"{method} attribute_target={attributeTarget}");
    }

    [Fact]
    public void Integrated_gradients_convergence_deltas_agree_between_the_two_outputs()
    {
        using var model = Gpt2();
        const string args = "{\"n_steps\": 9, \"return_convergence_delta\": true}";
        var budget = new AttributeOptions().MemoryBudgetBytes;
        var a = model.AttributeIds([Prompt], [Target], Options("integrated_gradients", args, "Fused", budget, false));
        var g = model.AttributeIds([Prompt], [Target], Options("integrated_gradients", args, "Fused", budget, true));
        var x = a.SequenceAttributions[0].StepScores["deltas"].Data;
        var y = g.SequenceAttributions[0].StepScores["deltas"].Data;
        for (var i = 0; i < x.Length; i++) Assert.True(Math.Abs(x[i] - y[i]) <= 1e-6 * (1 + Math.Abs(y[i])), $"delta {i}: {x[i]} vs {y[i]}");
    }

    [Fact]
    public void Methods_without_hidden_units_are_unaffected()
    {
        using var model = Gpt2();
        var budget = new AttributeOptions().MemoryBudgetBytes;
        foreach (var method in new[] { "attention", "occlusion" })
        {
            var a = model.AttributeIds([Prompt], [Target], Options(method, "{}", "Fused", budget, false));
            var g = model.AttributeIds([Prompt], [Target], Options(method, "{}", "Fused", budget, true));
            Assert.Equal(g.SequenceAttributions[0].Kind, a.SequenceAttributions[0].Kind);
            Assert.Equal(g.SequenceAttributions[0].TargetAttributions!.Data, a.SequenceAttributions[0].TargetAttributions!.Data);
        }
    }
}
