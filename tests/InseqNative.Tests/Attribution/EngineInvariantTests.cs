using InseqNative.Attribution;
using InseqNative.Loading;
using InseqNative.StepFunctions;

namespace InseqNative.Tests.Attribution;

/// <summary>Fused == Stepwise on every method, IG completeness, layer methods against their input twins, user step
/// functions, and the errors a user sees for bad names — on a small random model (no tokenizer: ids API).</summary>
public class EngineInvariantTests
{
    static AttributionModel RandomModel() => new(TransformerModel.CreateRandom(
        ModelConfig.ForGpt2(layers: 2, heads: 2, hidden: 16, vocab: 41, positions: 32, eosTokenId: 40),
        seed: 3, Device.Cpu, std: 0.3f));

    static readonly int[] Prompt = [5, 17, 2, 33];
    static readonly int[] Target = [5, 17, 2, 33, 8, 40, 11, 29, 3];
    static readonly int[] Contrast = [5, 17, 2, 33, 8, 21, 11, 30, 3];

    public static TheoryData<string, string> Methods() => new()
    {
        { "saliency", "{}" }, { "input_x_gradient", "{}" }, { "deeplift", "{}" },
        { "integrated_gradients", "{\"n_steps\": 7}" },
        { "integrated_gradients", "{\"n_steps\": 6, \"method\": \"riemann_trapezoid\", \"internal_batch_size\": 4}" },
        { "integrated_gradients", "{\"n_steps\": 5, \"method\": \"riemann_left\"}" },
        { "gradient_shap", "{\"n_samples\": 4, \"stdevs\": 0.1}" },
        { "attention", "{}" }, { "occlusion", "{}" },
        { "layer_gradient_x_activation", "{\"layer\": \"transformer.h.0\"}" },
        { "layer_integrated_gradients", "{\"layer\": \"transformer.h.1\", \"n_steps\": 5}" },
        { "dummy", "{}" },
    };

    static AttributeOptions Options(string method, string args, AttributionStrategy strategy, string? attributedFn = null) =>
        InseqArguments.ToOptions(new Dictionary<string, object?>
        {
            ["method"] = method,
            ["attribution_args"] = InseqArguments.ParseJsonObject(args, "args"),
            ["strategy"] = strategy.ToString(),
            ["step_scores"] = new[] { "probability", "entropy", "contrast_prob_diff", "pcxmi", "kl_divergence", "top_p_size" },
            ["top_p"] = 0.9f,
            ["attributed_fn"] = attributedFn,
        });

    static InseqNative.Outputs.FeatureAttributionOutput Run(AttributionModel model, AttributeOptions options) =>
        model.AttributeIds([Prompt], [Target], options, contrastTargetIds: [Contrast]);

    [Theory]
    [MemberData(nameof(Methods))]
    public void Fused_equals_stepwise(string method, string args)
    {
        using var model = RandomModel();
        foreach (var fn in new[] { "probability", "contrast_prob_diff" })
        {
            var fused = Run(model, Options(method, args, AttributionStrategy.Fused, fn)).SequenceAttributions[0];
            var stepwise = Run(model, Options(method, args, AttributionStrategy.Stepwise, fn)).SequenceAttributions[0];
            Assert.Equal(fused.TargetAttributions is null, stepwise.TargetAttributions is null);
            if (fused.TargetAttributions is { } f)
            {
                var s = stepwise.TargetAttributions!;
                Assert.Equal(f.Shape, s.Shape);
                double max = 0, err = 0;
                for (var i = 0; i < f.Data.Length; i++)
                {
                    Assert.Equal(float.IsNaN(f.Data[i]), float.IsNaN(s.Data[i]));
                    if (float.IsNaN(f.Data[i])) continue;
                    max = Math.Max(max, Math.Abs(s.Data[i]));
                    err = Math.Max(err, Math.Abs(f.Data[i] - s.Data[i]));
                }
                Assert.True(err <= 1e-5 * max, $"{method}/{fn}: fused vs stepwise max |Δ| {err:E3} vs max {max:E3}");
                Assert.True(max > 0, "attributions are all zero: the test would not see a difference");
            }
            foreach (var (name, t) in fused.StepScores)
                for (var k = 0; k < t.Data.Length; k++)
                    Assert.Equal(t.Data[k], stepwise.StepScores[name].Data[k], 1e-5f * (1 + Math.Abs(t.Data[k])));
        }
    }

    [Fact]
    public void Integrated_gradients_are_complete_at_50_steps()
    {
        using var model = RandomModel();
        var output = model.AttributeIds([Prompt], [Target], new AttributeOptions
        {
            Method = "integrated_gradients",
            MethodOptions = new IntegratedGradientsOptions { Steps = 50, ReturnConvergenceDelta = true },
        });
        var seq = output.SequenceAttributions[0];
        var deltas = seq.StepScores["deltas"].Data;
        Assert.Equal(seq.StepCount, deltas.Length);
        // |Σ attributions − (f(x) − f(baseline))| relative to the gap f(x) − f(b) itself (probabilities here are ~1e-2).
        var a = seq.TargetAttributions!;
        for (var k = 0; k < deltas.Length; k++)
        {
            double sum = 0;
            for (var j = 0; j < a.Dim(0); j++)
                for (var h = 0; h < a.Dim(2); h++)
                    if (!float.IsNaN(a[j, k, h])) sum += a[j, k, h];
            var gap = sum - deltas[k];
            Assert.True(Math.Abs(deltas[k]) <= 1e-3 * Math.Abs(gap) + 1e-7,
                $"step {k}: completeness error {deltas[k]:E3} for a gap f(x) − f(b) = {gap:E3}");
        }
    }

    [Fact]
    public void Layer_methods_at_the_embedding_layer_equal_their_input_twins()
    {
        using var model = RandomModel();
        var gxa = model.AttributeIds([Prompt], [Target], new AttributeOptions { Method = "layer_gradient_x_activation",
            MethodOptions = new LayerOptions { Layer = "transformer.wte" } }).SequenceAttributions[0].TargetAttributions!;
        var ixg = model.AttributeIds([Prompt], [Target], new AttributeOptions { Method = "input_x_gradient" })
            .SequenceAttributions[0].TargetAttributions!;
        Assert.Equal(ixg.Data, gxa.Data);
        var lig = model.AttributeIds([Prompt], [Target], new AttributeOptions { Method = "layer_integrated_gradients",
            MethodOptions = new LayerOptions { Layer = "wte", Integration = new() { Steps = 9 } } }).SequenceAttributions[0].TargetAttributions!;
        var ig = model.AttributeIds([Prompt], [Target], new AttributeOptions { Method = "integrated_gradients",
            MethodOptions = new IntegratedGradientsOptions { Steps = 9 } }).SequenceAttributions[0].TargetAttributions!;
        Assert.Equal(ig.Data, lig.Data);
    }

    [Fact]
    public void A_user_step_function_with_its_gradient_attributes_like_the_builtin_it_reimplements()
    {
        using var model = RandomModel();
        // log-probability of the target, written by a user: score and gradient (onehot − softmax).
        model.RegisterStepFunction(StepFunction.Create("my_logprob",
            row =>
            {
                var max = row.Logits.Max();
                var lse = max + Math.Log(row.Logits.Sum(l => Math.Exp(l - max)));
                return row.Logits[row.Target] - lse;
            },
            (row, d) =>
            {
                var max = row.Logits.Max();
                var z = row.Logits.Sum(l => Math.Exp(l - max));
                for (var i = 0; i < d.Length; i++) d[i] = (float)((i == row.Target ? 1 : 0) - Math.Exp(row.Logits[i] - max) / z);
            }));
        var mine = model.AttributeIds([Prompt], [Target], new AttributeOptions
        {
            Method = "saliency", AttributedFn = "my_logprob", StepScores = ["my_logprob"],
        }).SequenceAttributions[0];
        var builtin = model.AttributeIds([Prompt], [Target], new AttributeOptions
        {
            Method = "saliency", AttributedFn = "probability", StepScores = ["probability"],
            StepFunctionArgs = new StepFunctionArgs { LogProb = true },
        }).SequenceAttributions[0];
        for (var i = 0; i < mine.TargetAttributions!.Data.Length; i++)
        {
            var a = mine.TargetAttributions.Data[i];
            var b = builtin.TargetAttributions!.Data[i];
            if (float.IsNaN(b)) { Assert.True(float.IsNaN(a)); continue; }
            Assert.True(Math.Abs(a - b) <= 1e-5 * (1 + Math.Abs(b)), $"element {i}: {a} vs {b}");
        }
        for (var k = 0; k < mine.StepCount; k++)
            Assert.Equal(builtin.StepScores["probability"].Data[k], mine.StepScores["my_logprob"].Data[k], 1e-5f);
    }

    [Fact]
    public void Unknown_names_are_errors_that_list_the_known_ones()
    {
        using var model = RandomModel();
        var e1 = Assert.Throws<InvalidInputException>(() =>
            model.AttributeIds([Prompt], [Target], new AttributeOptions { Method = "lime2" }));
        Assert.Contains("saliency", e1.Message);
        var e2 = Assert.Throws<InvalidInputException>(() =>
            model.AttributeIds([Prompt], [Target], new AttributeOptions { StepScores = ["probabilty"] }));
        Assert.Contains("probability", e2.Message);
        var e3 = Assert.Throws<InvalidInputException>(() => InseqArguments.ToOptions(new Dictionary<string, object?> { ["n_stepz"] = 3 }));
        Assert.Contains("n_steps", e3.Message);
        var e4 = Assert.Throws<InvalidInputException>(() => model.AttributeIds([Prompt], [Target],
            new AttributeOptions { Method = "layer_gradient_x_activation", MethodOptions = new LayerOptions { Layer = "transformer.h.9" } }));
        Assert.Contains("transformer.h.N", e4.Message);
        var e5 = Assert.Throws<InvalidInputException>(() => model.AttributeIds([Prompt], [Target],
            new AttributeOptions { Method = "saliency", AttributedFn = "top_p_size" }));
        Assert.Contains("top_p_size", e5.Message);
        Assert.Throws<InvalidInputException>(() => model.AttributeIds([Prompt], [Prompt], new AttributeOptions()));
    }
}
