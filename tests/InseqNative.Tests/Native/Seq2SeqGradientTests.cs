using InseqNative.Attribution;
using InseqNative.StepFunctions;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Native;

/// <summary>
/// The encoder-decoder graph's backward (inq_seq2seq_backward) and cached decoding on every layout (Marian post-norm,
/// M2M100 pre-norm, T5 RMS + relative bias + gated-gelu): gradients to both embeddings against central finite
/// differences of the forward, several cotangents of one forward equal to one forward per cotangent, right padding
/// that changes nothing, and KV-cached steps equal to full forwards.
/// </summary>
public class Seq2SeqGradientTests
{
    public static TheoryData<string> Models => new() { "tiny-marian", "tiny-m2m100", "tiny-t5" };

    static readonly int[] Source = [5, 17, 33, 8, 1];
    static readonly int[] Target = [0, 12, 40, 9];

    static (TransformerModel Model, int[] Src, int[] Tgt) Load(string name)
    {
        var model = TransformerModel.Load(FixturePaths.Models(name), Device.Cpu);
        var eos = model.EosTokenIds[0];
        var start = model.Config.DecoderStartTokenId!.Value;
        return (model, [.. Source[..^1], eos], [start, .. Target[1..]]);
    }

    static float[] RandomRow(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Backward_to_both_embeddings_matches_finite_differences(string name)
    {
        var (model, src, tgt) = Load(name);
        using (model)
        {
            int s = src.Length, t = tgt.Length, c = model.Config.HiddenSize, v = model.Config.VocabSize;
            var xs = model.Embed(src).Data;
            var xt = model.Embed(tgt).Data;
            using var ctx = model.CreateContext(1, Math.Max(s, t), 1);
            const int pos = 2;
            var dl = RandomRow(v, 7);
            ctx.Seq2SeqForwardEmbeddings(new Tensor(xs, 1, s, c), null, new Tensor(xt, 1, t, c), null, LogitsMode.None,
                keepForBackward: true);
            var (gs, gt) = ctx.Seq2SeqBackward([pos], new Tensor(dl, 1, 1, v));
            float[] x = [.. xs, .. xt];
            var cotangent = new float[t * v];
            dl.CopyTo(cotangent, pos * v);
            float[] Forward(float[] input) => ctx.Seq2SeqForwardEmbeddings(new Tensor(input[..(s * c)], 1, s, c), null,
                new Tensor(input[(s * c)..], 1, t, c), null)!.Data;
            // M2M100's ReLU has kinks that a wide central difference straddles: a smaller step (and the fp32 noise
            // that comes with it) for that one.
            var relu = name == "tiny-m2m100";
            FiniteDifferences.Check(Forward, x, cotangent, [.. gs.Data, .. gt.Data], $"{name} seq2seq backward",
                eps: relu ? 1e-3f : 1e-2f, tolerance: relu ? 5e-3 : 2e-3);
            // Causality: target rows after the cotangent's position get nothing.
            Assert.All(gt.Data[((pos + 1) * c)..], g => Assert.Equal(0f, g));
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Many_cotangents_of_one_forward_equal_one_forward_per_prefix(string name)
    {
        var (model, src, tgt) = Load(name);
        using (model)
        {
            int s = src.Length, t = tgt.Length, c = model.Config.HiddenSize, v = model.Config.VocabSize;
            var xs = new Tensor(model.Embed(src).Data, 1, s, c);
            var xt = new Tensor(model.Embed(tgt).Data, 1, t, c);
            var dl = new Tensor(RandomRow(t * v, 3), 1, t, v);
            using var ctx = model.CreateContext(1, Math.Max(s, t), t);
            ctx.Seq2SeqForwardEmbeddings(xs, null, xt, null, LogitsMode.None, keepForBackward: true);
            var (fs, ft) = ctx.Seq2SeqBackward(Enumerable.Range(0, t).ToArray(), dl);
            for (var p = 0; p < t; p++)
            {
                var prefix = new Tensor(xt.Data[..((p + 1) * c)], 1, p + 1, c);
                ctx.Seq2SeqForwardEmbeddings(xs, null, prefix, null, LogitsMode.None, keepForBackward: true);
                var (ps, pt) = ctx.Seq2SeqBackward([p], new Tensor(dl.Slice(0, p).ToArray(), 1, 1, v));
                TensorAssert(ps.Data, fs.Slice(0, p).ToArray(), $"{name} source gradient of position {p}");
                TensorAssert(pt.Data, ft.Slice(0, p)[..((p + 1) * c)].ToArray(), $"{name} target gradient of position {p}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void A_negative_position_is_a_zero_cotangent(string name)
    {
        var (model, src, tgt) = Load(name);
        using (model)
        {
            int s = src.Length, t = tgt.Length, v = model.Config.VocabSize;
            using var ctx = model.CreateContext(1, Math.Max(s, t), 3);
            ctx.Seq2SeqForward(1, src, null, tgt, null, LogitsMode.None, keepForBackward: true);
            var dl = new Tensor(RandomRow(3 * v, 5), 1, 3, v);
            var (gs, gt) = ctx.Seq2SeqBackward([2, -1, 1], dl);
            Assert.All(gs.Slice(0, 1).ToArray(), g => Assert.Equal(0f, g));
            Assert.All(gt.Slice(0, 1).ToArray(), g => Assert.Equal(0f, g));
            var (one, oneT) = ctx.Seq2SeqBackward([1], new Tensor(dl.Slice(0, 2).ToArray(), 1, 1, v));
            TensorAssert(gs.Slice(0, 2).ToArray(), one.Data, $"{name} live cotangent after a dead one");
            TensorAssert(gt.Slice(0, 2).ToArray(), oneT.Data, $"{name} live target gradient after a dead one");
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Right_padding_changes_neither_logits_nor_gradients(string name)
    {
        var (model, src, tgt) = Load(name);
        using (model)
        {
            int s = src.Length, t = tgt.Length, c = model.Config.HiddenSize, v = model.Config.VocabSize;
            var pad = model.Config.PadTokenId ?? 0;
            // Row 0: the sequence itself; row 1: a shorter source and target, right-padded to the same lengths.
            int[] srcIds = [.. src, .. src[..3], .. Enumerable.Repeat(pad, s - 3)];
            int[] srcMask = [.. Enumerable.Repeat(1, s), 1, 1, 1, .. Enumerable.Repeat(0, s - 3)];
            int[] tgtIds = [.. tgt, .. tgt[..2], .. Enumerable.Repeat(pad, t - 2)];
            int[] tgtMask = [.. Enumerable.Repeat(1, t), 1, 1, .. Enumerable.Repeat(0, t - 2)];
            var emb = (int[] ids, int n) => new Tensor(model.Embed(ids).Data, 2, n, c);
            using var ctx = model.CreateContext(2, Math.Max(s, t), 2);
            var logits = ctx.Seq2SeqForwardEmbeddings(emb(srcIds, s), srcMask, emb(tgtIds, t), tgtMask,
                LogitsMode.All, keepForBackward: true)!;
            var dl = new Tensor(RandomRow(2 * v, 11), 2, 1, v);
            var (gs, gt) = ctx.Seq2SeqBackward([t - 1, 1], dl);

            using var one = model.CreateContext(1, Math.Max(s, t), 1);
            var alone = one.Seq2SeqForwardEmbeddings(new Tensor(model.Embed(src[..3]).Data, 1, 3, c), null,
                new Tensor(model.Embed(tgt[..2]).Data, 1, 2, c), null, LogitsMode.All, keepForBackward: true)!;
            TensorAssert(logits.Slice(1, 1).ToArray(), alone.Slice(0, 1).ToArray(), $"{name} padded logits");
            var (as_, at) = one.Seq2SeqBackward([1], new Tensor(dl.Slice(1, 0).ToArray(), 1, 1, v));
            TensorAssert(gs.Slice(1, 0)[..(3 * c)].ToArray(), as_.Data, $"{name} padded source gradient");
            Assert.All(gs.Slice(1, 0)[(3 * c)..].ToArray(), g => Assert.Equal(0f, g));
            TensorAssert(gt.Slice(1, 0)[..(2 * c)].ToArray(), at.Data, $"{name} padded target gradient");
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Cached_decoding_steps_equal_full_forwards(string name)
    {
        var (model, src, tgt) = Load(name);
        using (model)
        {
            int s = src.Length, t = tgt.Length, v = model.Config.VocabSize;
            var pad = model.Config.PadTokenId ?? 0;
            int[] srcIds = [.. src, .. src[..3], .. Enumerable.Repeat(pad, s - 3)];
            int[] srcMask = [.. Enumerable.Repeat(1, s), 1, 1, 1, .. Enumerable.Repeat(0, s - 3)];
            int[] second = [tgt[0], 21, 30, 4];
            using var full = model.CreateContext(2, Math.Max(s, t));
            var reference = full.Seq2SeqForward(2, srcIds, srcMask, [.. tgt, .. second], null)!;
            using var ctx = model.CreateContext(2, Math.Max(s, t));
            var logits = ctx.Seq2SeqForward(2, srcIds, srcMask, [tgt[0], second[0]], null, fillCache: true)!;
            for (var p = 0; p < t; p++)
            {
                if (p > 0) logits = ctx.Seq2SeqCacheStep([tgt[p], second[p]]);
                for (var b = 0; b < 2; b++)
                    TensorAssert(logits.Data.AsSpan(b * v, v).ToArray(), reference.Slice(b, p).ToArray(),
                        $"{name} cached row {b} position {p}");
            }
            Assert.Throws<InvalidInputException>(() => ctx.Seq2SeqCacheStep([1]));
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Native_step_functions_equal_the_managed_reference_on_logits_rows(string name)
    {
        var (model, src, tgt) = Load(name);
        using (model)
        {
            int s = src.Length, t = tgt.Length, v = model.Config.VocabSize;
            var registry = new StepFunctionRegistry();
            int[] positions = [0, 1, 2, 3];
            int[] targets = [tgt[1], tgt[2], tgt[3], 3];
            int[] contrast = [7, 8, 9, 10];
            using var ctx = model.CreateContext(1, Math.Max(s, t), positions.Length);
            var logits = ctx.Seq2SeqForward(1, src, null, tgt, null, keepForBackward: true)!;
            foreach (var id in new[] { "probability", "entropy", "logit", "contrast_prob_diff", "crossentropy" })
            {
                var fn = registry.Get(id);
                var objective = new StepObjective(fn, StepFunctionArgs.Default, positions, targets, contrast);
                var scores = ctx.Seq2SeqStepScores(fn.Native!.Value, StepFunctionArgs.Default, [0, 0, 0, 0], positions,
                    targets, contrast);
                var dl = Tensor.Zeros(1, positions.Length, v);
                for (var k = 0; k < positions.Length; k++)
                {
                    var row = logits.Slice(0, positions[k]);
                    Assert.Equal(objective.Score(row, k), scores[k], 1e-5 * Math.Max(1, Math.Abs(scores[k])));
                    objective.Gradient(row, k, dl.Slice(0, k));
                }
                var (ns, nt, ns2) = ctx.Seq2SeqBackwardStep(fn.Native!.Value, StepFunctionArgs.Default, positions, targets, contrast);
                var (ms, mt) = ctx.Seq2SeqBackward(positions, dl);
                TensorAssert(ns.Data, ms.Data, $"{name} {id} source gradients");
                TensorAssert(nt.Data, mt.Data, $"{name} {id} target gradients");
                Assert.Equal(scores, ns2);
            }
        }
    }

    /// <summary>Equal within 1e-5 of the largest magnitude (different GEMM shapes round differently).</summary>
    static void TensorAssert(float[] actual, float[] expected, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxRef = expected.Max(Math.Abs), maxErr = 0;
        for (var i = 0; i < expected.Length; i++) maxErr = Math.Max(maxErr, Math.Abs(expected[i] - actual[i]));
        Assert.True(maxErr <= 1e-5 * maxRef + 1e-7, $"{what}: max |Δ| {maxErr:E3} vs max {maxRef:E3}");
    }
}
