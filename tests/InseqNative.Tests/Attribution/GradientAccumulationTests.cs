using InseqNative.Attribution;
using InseqNative.Loading;
using InseqNative.Outputs;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Attribution;

/// <summary>
/// DESIGN §5.6: integrated_gradients, gradient_shap and layer_integrated_gradients sum their forward rows' gradients
/// inside the backward (inq_*backward_step_accumulate) and download the granular sum once. On the CPU that sum is
/// bitwise the host loop's (AttributeOptions.HostGradientAccumulation keeps the host loop reachable), for
/// decoder-only and encoder-decoder models (attribute_target on and off), with one chunk and with several row and
/// step chunks.
/// </summary>
public class GradientAccumulationTests
{
    static readonly int[] Prompt = [5, 17, 2, 33];
    static readonly int[] Target = [5, 17, 2, 33, 8, 40, 11, 29, 3];
    static readonly int[] Contrast = [5, 17, 2, 33, 8, 21, 11, 30, 3];

    static AttributionModel Gpt2() => new(TransformerModel.CreateRandom(
        ModelConfig.ForGpt2(layers: 2, heads: 2, hidden: 16, vocab: 41, positions: 32, eosTokenId: 40),
        seed: 3, Device.Cpu, std: 0.3f));

    public static TheoryData<string, string, bool, string> DecoderCases()
    {
        var data = new TheoryData<string, string, bool, string>();
        foreach (var chunked in new[] { false, true })
            foreach (var fn in new[] { "probability", "contrast_prob_diff" })
            {
                data.Add("integrated_gradients", "{\"n_steps\": 7}", chunked, fn);
                data.Add("integrated_gradients", "{\"n_steps\": 6, \"method\": \"riemann_trapezoid\", \"internal_batch_size\": 4}", chunked, fn);
                data.Add("gradient_shap", "{\"n_samples\": 5, \"stdevs\": 0.1}", chunked, fn);
                data.Add("layer_integrated_gradients", "{\"layer\": \"transformer.h.0\", \"n_steps\": 5}", chunked, fn);
            }
        return data;
    }

    static AttributeOptions Options(string method, string args, string fn, long budget, bool host) =>
        InseqArguments.ToOptions(new Dictionary<string, object?>
        {
            ["method"] = method,
            ["attribution_args"] = InseqArguments.ParseJsonObject(args, "args"),
            ["strategy"] = "Fused",
            ["step_scores"] = new[] { "probability" },
            ["attributed_fn"] = fn,
        }) with { MemoryBudgetBytes = budget, HostGradientAccumulation = host };

    /// <summary>A budget that the engine's chunk sizing (rows 8, cotangents up to rows × steps, halved in turn) meets
    /// at 2 rows and 4 cotangent rows: several row chunks and several step chunks.</summary>
    static long SmallBudget(TransformerModel model, int length) => model.ContextMemoryBytes(2, length, 4);

    static void AssertBitwiseEqual(FeatureAttributionOutput device, FeatureAttributionOutput host, string what)
    {
        var d = device.SequenceAttributions[0];
        var h = host.SequenceAttributions[0];
        Assert.Equal(h.SourceAttributions is null, d.SourceAttributions is null);
        Assert.Equal(h.TargetAttributions is null, d.TargetAttributions is null);
        foreach (var (a, b) in new[] { (d.SourceAttributions, h.SourceAttributions), (d.TargetAttributions, h.TargetAttributions) })
        {
            if (a is null) continue;
            Assert.Equal(b!.Shape, a.Shape);
            var nonzero = false;
            for (var i = 0; i < a.Data.Length; i++)
            {
                // Bit patterns: +0 vs -0 and NaN payloads count too.
                Assert.True(BitConverter.SingleToInt32Bits(a.Data[i]) == BitConverter.SingleToInt32Bits(b.Data[i]),
                    $"{what}: element {i} device {a.Data[i]:R} host {b.Data[i]:R}");
                nonzero |= a.Data[i] != 0 && !float.IsNaN(a.Data[i]);
            }
            Assert.True(nonzero, $"{what}: attributions are all zero: the comparison would not see a difference");
        }
        foreach (var (name, t) in h.StepScores) Assert.Equal(t.Data, d.StepScores[name].Data);
    }

    [Theory]
    [MemberData(nameof(DecoderCases))]
    public void Decoder_only_device_accumulation_is_bitwise_the_host_loop(string method, string args, bool chunked, string fn)
    {
        using var model = Gpt2();
        var budget = chunked ? SmallBudget(model.Model, Target.Length) : new AttributeOptions().MemoryBudgetBytes;
        var device = model.AttributeIds([Prompt], [Target], Options(method, args, fn, budget, host: false), [Contrast]);
        var host = model.AttributeIds([Prompt], [Target], Options(method, args, fn, budget, host: true), [Contrast]);
        if (chunked)
        {
            Assert.Equal(2, device.Info["timings"]!["row_chunk"]!.GetValue<int>());
            Assert.Equal(4, device.Info["timings"]!["cotangent_rows"]!.GetValue<int>());
        }
        AssertBitwiseEqual(device, host, $"{method} {args} {fn} chunked={chunked}");
    }

    public static TheoryData<string, string, bool, bool> Seq2SeqCases()
    {
        var data = new TheoryData<string, string, bool, bool>();
        foreach (var chunked in new[] { false, true })
            foreach (var attributeTarget in new[] { false, true })
            {
                data.Add("integrated_gradients", "{\"n_steps\": 5}", chunked, attributeTarget);
                data.Add("gradient_shap", "{\"n_samples\": 3, \"stdevs\": 0.05}", chunked, attributeTarget);
            }
        return data;
    }

    [Theory]
    [MemberData(nameof(Seq2SeqCases))]
    public void Encoder_decoder_device_accumulation_is_bitwise_the_host_loop(string method, string args, bool chunked,
        bool attributeTarget)
    {
        using var model = new AttributionModel(TransformerModel.Load(FixturePaths.Models("tiny-marian"), Device.Cpu));
        var config = model.Model.Config;
        var start = config.DecoderStartTokenId ?? config.PadTokenId ?? 0;
        var rng = new Random(7);
        int[] source = [.. Enumerable.Range(0, 6).Select(_ => 3 + rng.Next(config.VocabSize - 3))];
        int[] target = [start, .. Enumerable.Range(0, 5).Select(_ => 3 + rng.Next(config.VocabSize - 3))];
        var budget = chunked ? SmallBudget(model.Model, Math.Max(source.Length, target.Length))
            : new AttributeOptions().MemoryBudgetBytes;
        FeatureAttributionOutput Run(bool host) => model.AttributeIds([source], [target],
            Options(method, args, "probability", budget, host) with { AttributeTarget = attributeTarget });
        var device = Run(host: false);
        var hostRun = Run(host: true);
        if (chunked)
        {
            Assert.Equal(2, device.Info["timings"]!["row_chunk"]!.GetValue<int>());
            Assert.Equal(4, device.Info["timings"]!["cotangent_rows"]!.GetValue<int>());
        }
        AssertBitwiseEqual(device, hostRun, $"{method} attribute_target={attributeTarget} chunked={chunked}");
    }
}
