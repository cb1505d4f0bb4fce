using InseqNative.Loading;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Model;

/// <summary>Properties the native model must have whatever the weights: determinism, padding and cache
/// consistency, fused cotangents equal to separate ones, gradients equal to finite differences.</summary>
public class ModelInvariantTests
{
    internal static TransformerModel SmallRandom(string activation = "gelu_new") =>
        TransformerModel.CreateRandom(
            ModelConfig.ForGpt2(layers: 2, heads: 2, hidden: 16, vocab: 37, positions: 24, activation: activation),
            seed: 5, Device.Cpu, std: 0.3f);

    static int[] RandomIds(int n, int vocab, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray();
    }

    [Fact]
    public void A_second_run_is_bitwise_identical()
    {
        using var model = TransformerModel.Load(FixturePaths.Models("tiny-gpt2"), Device.Cpu);
        var ids = model.Encode("The quick brown fox jumps over the lazy dog");
        var a = model.Logits([ids]);
        var b = model.Logits([ids]);
        Assert.Equal(a.Data, b.Data);

        var emb = new Tensor(model.Embed(ids).Data, 1, ids.Length, model.Config.HiddenSize);
        var dl = Tensor.Zeros(1, 3, model.Config.VocabSize);
        for (var k = 0; k < 3; k++) dl[0, k, 100 + k] = 1f;
        int[] pos = [2, 5, ids.Length - 1];
        var g1 = model.EmbeddingGradients(emb, null, pos, dl);
        var g2 = model.EmbeddingGradients(emb, null, pos, dl);
        Assert.Equal(g1.Data, g2.Data);
    }

    [Fact]
    public void A_left_padded_row_equals_its_unpadded_self()
    {
        using var model = SmallRandom();
        var longer = RandomIds(9, 37, 1);
        var shorter = RandomIds(5, 37, 2);
        var batch = model.Logits([longer, shorter]);          // shorter is left-padded by 4
        var alone = model.Logits([shorter]);
        var v = model.Config.VocabSize;
        for (var t = 0; t < 5; t++)
            for (var i = 0; i < v; i++)
                Assert.Equal(alone[0, t, i], batch[1, t + 4, i], 5);
    }

    [Fact]
    public void Cached_decoding_gives_the_logits_of_a_full_forward()
    {
        using var model = SmallRandom("gelu");
        var ids = RandomIds(12, 37, 3);
        var full = model.Logits([ids]);
        using var ctx = model.CreateContext(1, 12);
        var prefill = ctx.CachePrefill(TokenBatch.Single(ids[..6]));
        Assert.Equal(6, ctx.CacheLength);
        var v = model.Config.VocabSize;
        for (var i = 0; i < v; i++) Assert.Equal(full[0, 5, i], prefill[0, i], 5);
        for (var t = 6; t < 12; t++)
        {
            var step = ctx.CacheStep([ids[t]]);
            for (var i = 0; i < v; i++) Assert.Equal(full[0, t, i], step[0, i], 5);
        }
        Assert.Throws<CapacityExceededException>(() => ctx.CacheStep([1]));
    }

    [Fact]
    public void Fused_cotangents_equal_one_backward_per_position()
    {
        using var model = SmallRandom();
        var ids = RandomIds(10, 37, 4);
        int t = ids.Length, c = model.Config.HiddenSize, v = model.Config.VocabSize;
        var emb = new Tensor(model.Embed(ids).Data, 1, t, c);
        var rng = new Random(9);
        var positions = Enumerable.Range(0, t).ToArray();
        var dl = Tensor.Zeros(1, t, v);
        for (var i = 0; i < dl.Data.Length; i++) dl.Data[i] = (float)(rng.NextDouble() - 0.5);
        var fused = model.EmbeddingGradients(emb, null, positions, dl, maxCotangentRows: 3); // chunked 3 at a time
        for (var k = 0; k < t; k++)
        {
            // Stepwise: a forward over the prefix only, as Inseq runs it.
            var prefix = new Tensor(emb.Data[..((k + 1) * c)], 1, k + 1, c);
            var one = Tensor.Zeros(1, 1, v);
            dl.Slice(0, k).CopyTo(one.Slice(0, 0));
            var single = model.EmbeddingGradients(prefix, null, [k], one);
            for (var j = 0; j < t; j++)
                for (var h = 0; h < c; h++)
                {
                    var expected = j <= k ? single[0, 0, j, h] : 0f;
                    Assert.True(Math.Abs(expected - fused[0, k, j, h]) <= 1e-5 * (1 + Math.Abs(expected)),
                        $"step {k} position {j} dim {h}: fused {fused[0, k, j, h]} vs stepwise {expected}");
                }
        }
    }

    [Fact]
    public void Embedding_gradients_match_central_finite_differences()
    {
        using var model = SmallRandom();
        var ids = RandomIds(7, 37, 6);
        int t = ids.Length, c = model.Config.HiddenSize, v = model.Config.VocabSize;
        var emb = new Tensor(model.Embed(ids).Data, 1, t, c);
        var rng = new Random(11);
        var dl = Tensor.Zeros(1, 1, v);
        for (var i = 0; i < v; i++) dl.Data[i] = (float)(rng.NextDouble() - 0.5);
        const int pos = 5;
        var grad = model.EmbeddingGradients(emb, null, [pos], dl);

        double Score(Tensor e)
        {
            var logits = model.LogitsFromEmbeddings(e);
            double s = 0;
            for (var i = 0; i < v; i++) s += (double)dl.Data[i] * logits[0, pos, i];
            return s;
        }
        const float eps = 1e-2f;
        double maxAbs = 0, maxErr = 0;
        for (var j = 0; j < t; j++)
            for (var h = 0; h < c; h += 3)
            {
                var plus = new Tensor((float[])emb.Data.Clone(), emb.Shape);
                var minus = new Tensor((float[])emb.Data.Clone(), emb.Shape);
                plus[0, j, h] += eps;
                minus[0, j, h] -= eps;
                var fd = (Score(plus) - Score(minus)) / (2 * eps);
                maxAbs = Math.Max(maxAbs, Math.Abs(fd));
                maxErr = Math.Max(maxErr, Math.Abs(fd - grad[0, 0, j, h]));
                if (j > pos) Assert.Equal(0f, grad[0, 0, j, h]);
            }
        Assert.True(maxErr <= 2e-3 * maxAbs + 1e-5, $"max |grad − FD| {maxErr:E3} vs max |FD| {maxAbs:E3}");
    }

    [Fact]
    public void Contexts_keep_their_model_alive_after_the_model_is_disposed()
    {
        var model = SmallRandom();
        var ctx = model.CreateContext(1, 8);
        model.Dispose();
        var logits = ctx.Forward(TokenBatch.Single([1, 2, 3]));
        Assert.Equal(3 * 37, logits!.Data.Length);
        ctx.Dispose();
    }

    [Fact]
    public void The_context_size_query_grows_with_capacity()
    {
        using var model = SmallRandom();
        var small = model.ContextMemoryBytes(1, 8, 0);
        var big = model.ContextMemoryBytes(4, 16, 32, keepAttention: true);
        Assert.True(small > 0 && big > small, $"{small} vs {big}");
        using var ctx = model.CreateContext(1, 8);
        Assert.Equal(small, ctx.ArenaBytes);
    }

    [Fact]
    public void Attention_probabilities_are_causal_rows_that_sum_to_one()
    {
        using var model = SmallRandom();
        using var ctx = model.CreateContext(1, 6, keepAttention: true);
        ctx.Forward(TokenBatch.Single(RandomIds(6, 37, 8)), LogitsMode.None, keepAttention: true);
        var att = ctx.Attention(1);                     // [1, heads, 6, 6]
        for (var h = 0; h < model.Config.NumHeads; h++)
            for (var q = 0; q < 6; q++)
            {
                double sum = 0;
                for (var k = 0; k < 6; k++)
                {
                    if (k > q) Assert.Equal(0f, att[0, h, q, k]);
                    sum += att[0, h, q, k];
                }
                Assert.Equal(1.0, sum, 5);
            }
    }
}
