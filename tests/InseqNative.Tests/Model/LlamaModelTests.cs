using InseqNative.Attribution;
using InseqNative.Loading;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Model;

/// <summary>The Llama graph's invariants on a random model with grouped-query attention and q/k/v biases (the Qwen2
/// shape): padding, KV cache, fused cotangents against per-prefix backwards, Fused == Stepwise through the engine
/// (layer methods at model.layers.N included), determinism.</summary>
public class LlamaModelTests
{
    internal static TransformerModel SmallRandom() =>
        TransformerModel.CreateRandom(
            (LlamaConfig)ModelConfig.Parse("""
                {"model_type": "qwen2", "hidden_size": 16, "num_attention_heads": 4, "num_key_value_heads": 2,
                 "num_hidden_layers": 2, "intermediate_size": 24, "vocab_size": 37, "max_position_embeddings": 24,
                 "rope_theta": 100.0, "eos_token_id": 36}
                """),
            seed: 7, Device.Cpu, std: 0.3f);

    static int[] RandomIds(int n, int vocab, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray();
    }

    [Fact]
    public void A_left_padded_row_equals_its_unpadded_self()
    {
        using var model = SmallRandom();
        var longer = RandomIds(9, 37, 1);
        var shorter = RandomIds(5, 37, 2);
        var batch = model.Logits([longer, shorter]);
        var alone = model.Logits([shorter]);
        for (var t = 0; t < 5; t++)
            for (var i = 0; i < 37; i++)
                Assert.Equal(alone[0, t, i], batch[1, t + 4, i], 5);
    }

    [Fact]
    public void Cached_decoding_gives_the_logits_of_a_full_forward()
    {
        using var model = SmallRandom();
        var ids = RandomIds(12, 37, 3);
        var full = model.Logits([ids]);
        using var ctx = model.CreateContext(1, 12);
        var prefill = ctx.CachePrefill(TokenBatch.Single(ids[..6]));
        for (var i = 0; i < 37; i++) Assert.Equal(full[0, 5, i], prefill[0, i]);
        for (var t = 6; t < 12; t++)
        {
            var step = ctx.CacheStep([ids[t]]);
            for (var i = 0; i < 37; i++) Assert.Equal(full[0, t, i], step[0, i]); // rotated keys cached: bitwise
        }
    }

    [Fact]
    public void Fused_cotangents_equal_one_backward_per_prefix()
    {
        using var model = SmallRandom();
        var ids = RandomIds(9, 37, 4);
        int t = ids.Length, c = model.Config.HiddenSize, v = model.Config.VocabSize;
        var emb = new Tensor(model.Embed(ids).Data, 1, t, c);
        var rng = new Random(9);
        var positions = Enumerable.Range(0, t).ToArray();
        var dl = Tensor.Zeros(1, t, v);
        for (var i = 0; i < dl.Data.Length; i++) dl.Data[i] = (float)(rng.NextDouble() - 0.5);
        var fused = model.EmbeddingGradients(emb, null, positions, dl, maxCotangentRows: 4);
        var again = model.EmbeddingGradients(emb, null, positions, dl, maxCotangentRows: 4);
        Assert.Equal(fused.Data, again.Data);
        for (var k = 0; k < t; k++)
        {
            var prefix = new Tensor(emb.Data[..((k + 1) * c)], 1, k + 1, c);
            var one = Tensor.Zeros(1, 1, v);
            dl.Slice(0, k).CopyTo(one.Slice(0, 0));
            var single = model.EmbeddingGradients(prefix, null, [k], one);
            for (var j = 0; j < t; j++)
                for (var h = 0; h < c; h++)
                {
                    var expected = j <= k ? single[0, 0, j, h] : 0f;
                    Assert.True(Math.Abs(expected - fused[0, k, j, h]) <= 1e-5 * (1 + Math.Abs(expected)),
                        $"step {k} position {j} dim {h}: fused {fused[0, k, j, h]} vs per prefix {expected}");
                }
        }
    }

    public static TheoryData<string, string> Methods() => new()
    {
        { "saliency", "{}" }, { "input_x_gradient", "{}" }, { "deeplift", "{}" },
        { "integrated_gradients", "{\"n_steps\": 6}" }, { "gradient_shap", "{\"n_samples\": 3, \"stdevs\": 0.1}" },
        { "attention", "{}" }, { "occlusion", "{}" },
        { "layer_gradient_x_activation", "{\"layer\": \"model.layers.0\"}" },
        { "layer_integrated_gradients", "{\"layer\": \"model.layers.1\", \"n_steps\": 4}" },
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public void Fused_equals_stepwise_on_tiny_llama(string method, string args)
    {
        using var model = Inseq.LoadModel(FixturePaths.Models("tiny-llama"), method, Device.Cpu);
        AttributeOptions Options(AttributionStrategy s) => InseqArguments.ToOptions(new Dictionary<string, object?>
        {
            ["method"] = method,
            ["attribution_args"] = InseqArguments.ParseJsonObject(args, "args"),
            ["strategy"] = s.ToString(),
            ["step_scores"] = new[] { "probability", "entropy" },
        });
        const string input = "The quick brown fox";
        const string target = "The quick brown fox jumps over the lazy dog.";
        var fused = model.Attribute([input], [target], Options(AttributionStrategy.Fused)).SequenceAttributions[0];
        var stepwise = model.Attribute([input], [target], Options(AttributionStrategy.Stepwise)).SequenceAttributions[0];
        var f = fused.TargetAttributions!;
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
        Assert.True(max > 0, "attributions are all zero");
        Assert.True(err <= 1e-5 * max, $"{method}: fused vs stepwise max |Δ| {err:E3} vs max {max:E3}");
        foreach (var (name, t) in fused.StepScores)
            for (var k = 0; k < t.Data.Length; k++)
                Assert.Equal(t.Data[k], stepwise.StepScores[name].Data[k], 1e-5f * (1 + Math.Abs(t.Data[k])));
    }

    [Fact]
    public void Layer_names_of_llama_resolve_to_points()
    {
        using var model = TransformerModel.Load(FixturePaths.Models("tiny-llama"), Device.Cpu);
        Assert.Equal(0, InseqNative.Attribution.Methods.LayerPoints.Resolve(model, "model.embed_tokens"));
        Assert.Equal(2, InseqNative.Attribution.Methods.LayerPoints.Resolve(model, "model.layers.1"));
        Assert.Throws<InvalidInputException>(() => InseqNative.Attribution.Methods.LayerPoints.Resolve(model, "model.layers.2"));
    }
}
