using System.Runtime.InteropServices;
using InseqNative.Interop;
using InseqNative.Loading;
using InseqNative.StepFunctions;
using InseqNative.Tests.Model;

namespace InseqNative.Tests.Native;

/// <summary>
/// Native step functions (ops step_fn_scores / step_fn_dlogits, InferenceContext.StepScores and BackwardStep) against
/// the managed reference: the StepFunctionRegistry built-ins' Score and Gradient.
/// </summary>
public class NativeStepFunctionTests
{
    static readonly StepFunctionRegistry Registry = new();

    public static readonly StepFunctionArgs[] ArgVariants =
    [
        StepFunctionArgs.Default,
        new() { LogProb = true },
        new() { TopK = 5, TopP = 0.9f },
        new() { TopP = 0.5f, MinTokensToKeep = 3 },
        new() { TopK = 7 },
    ];

    static float[] RandomRows(int rows, int vocab, int seed, float scale)
    {
        var rng = new Random(seed);
        var a = new float[rows * vocab];
        // A few large logits per row so top-p keeps a small, non-trivial set.
        for (var i = 0; i < a.Length; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        for (var r = 0; r < rows; r++)
            for (var j = 0; j < 4; j++) a[r * vocab + rng.Next(vocab)] += 3 * scale;
        return a;
    }

    static int[] RandomIds(int n, int vocab, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray();
    }

    static NativeStepFunction Fn(string id) =>
        NativeStepFunctions.TryGet(id, out var fn) ? fn : throw new InvalidOperationException(id);

    static long[] Dims(int rows, int vocab, NativeStepFunction fn, StepFunctionArgs a) =>
        [rows, vocab, (int)fn, a.LogProb ? 1 : 0, a.TopK, a.MinTokensToKeep];

    internal static void AssertClose(float expected, float actual, double scale, string what)
    {
        if (float.IsNaN(expected) || float.IsNaN(actual))
        {
            Assert.True(float.IsNaN(expected) && float.IsNaN(actual), $"{what}: native {actual} vs managed {expected}");
            return;
        }
        var tol = 1e-5 * Math.Abs(expected) + 1e-6 * scale + 1e-12;
        Assert.True(Math.Abs(expected - actual) <= tol, $"{what}: native {actual} vs managed {expected}");
    }

    static (float[] Scores, float[]? Grad) Managed(StepFunction f, float[] logits, float[] contrast, int[] y, int[] c,
        bool shares, StepFunctionArgs args, int vocab, bool gradient)
    {
        var rows = y.Length;
        var scores = new float[rows];
        var grad = gradient ? new float[rows * vocab] : null;
        for (var r = 0; r < rows; r++)
        {
            var l = logits.AsSpan(r * vocab, vocab);
            var q = shares ? l : contrast.AsSpan(r * vocab, vocab);
            var row = new StepRow(l, y[r], c[r], q, shares);
            scores[r] = (float)f.Score(row, args);
            if (grad is not null) f.Gradient(row, args, grad.AsSpan(r * vocab, vocab));
        }
        return (scores, grad);
    }

    [Theory]
    [InlineData(50, 6)]
    [InlineData(50257, 2)]
    public void Ops_equal_the_managed_reference_for_every_builtin(int vocab, int rows)
    {
        var logits = RandomRows(rows, vocab, 1 + vocab, 2f);
        var contrast = RandomRows(rows, vocab, 2 + vocab, 2f);
        var y = RandomIds(rows, vocab, 3);
        var c = RandomIds(rows, vocab, 4);
        var checkedCount = 0;
        foreach (var f in StepFunctionRegistry.BuiltIns())
        {
            var fn = Fn(f.Id);
            foreach (var args in ArgVariants)
                foreach (var shares in new[] { true, false })
                {
                    var (ms, mg) = Managed(f, logits, contrast, y, c, shares, args, vocab,
                        NativeStepFunctions.IsDifferentiable(fn, shares));
                    var scores = new float[rows];
                    object?[] inputs = [logits, shares ? null : contrast, y, c];
                    NativeOps.Run("step_fn_scores", Dims(rows, vocab, fn, args), inputs, [scores], [args.TopP]);
                    var what = $"{f.Id} vocab {vocab} shares {shares} args {args}";
                    for (var r = 0; r < rows; r++) AssertClose(ms[r], scores[r], 1, $"{what} score[{r}]");
                    if (mg is null) continue;
                    var dl = new float[rows * vocab];
                    var scores2 = new float[rows];
                    NativeOps.Run("step_fn_dlogits", Dims(rows, vocab, fn, args), inputs, [dl, scores2], [args.TopP]);
                    Assert.Equal(scores, scores2);
                    for (var r = 0; r < rows; r++)
                    {
                        double max = 0;
                        for (var i = 0; i < vocab; i++) max = Math.Max(max, Math.Abs(mg[r * vocab + i]));
                        for (var i = 0; i < vocab; i++)
                            AssertClose(mg[r * vocab + i], dl[r * vocab + i], max, $"{what} dlogits[{r}, {i}]");
                    }
                    checkedCount++;
                }
        }
        Assert.True(checkedCount > 100);
    }

    [Fact]
    public void Top_p_size_and_filtered_kl_keep_the_reference_sets()
    {
        // Ties and a peaked distribution: the counts must be exact.
        const int vocab = 40;
        var logits = new float[vocab];
        for (var i = 0; i < vocab; i++) logits[i] = i % 4 == 0 ? 2f : (i % 3 == 0 ? 1f : -1f);
        foreach (var topP in new[] { 0.1f, 0.3f, 0.5f, 0.75f, 0.9f, 0.99f, 1f })
            foreach (var minKeep in new[] { 0, 1, 5 })
            {
                var args = new StepFunctionArgs { TopP = topP, MinTokensToKeep = minKeep };
                var expected = (float)Registry.Get("top_p_size").Score(StepRow.Plain(logits, 0), args);
                var got = new float[1];
                NativeOps.Run("step_fn_scores", Dims(1, vocab, NativeStepFunction.TopPSize, args), [logits, null, new[] { 0 }, null], [got], [topP]);
                Assert.Equal(expected, got[0]);
            }
    }

    [Fact]
    public void Ops_reject_functions_without_a_gradient_and_bad_arguments()
    {
        const int vocab = 10;
        var logits = RandomRows(1, vocab, 5, 1f);
        var dl = new float[vocab];
        var sc = new float[1];
        var e = Assert.Throws<NativeArgumentException>(() => NativeOps.Run("step_fn_dlogits",
            Dims(1, vocab, NativeStepFunction.TopPSize, StepFunctionArgs.Default), [logits, null, new[] { 1 }, null], [dl, sc], [1f]));
        Assert.Contains("top_p_size", e.Message);
        e = Assert.Throws<NativeArgumentException>(() => NativeOps.Run("step_fn_dlogits",
            Dims(1, vocab, NativeStepFunction.KlDivergence, StepFunctionArgs.Default), [logits, null, new[] { 1 }, null], [dl, sc], [1f]));
        Assert.Contains("kl_divergence", e.Message);
        Assert.Throws<NativeArgumentException>(() => NativeOps.Run("step_fn_scores",
            Dims(1, vocab, NativeStepFunction.Probability, StepFunctionArgs.Default), [logits, null, new[] { vocab }, null], [sc], [1f]));
        Assert.Throws<NativeArgumentException>(() => NativeOps.Run("step_fn_scores",
            [1, vocab, 13, 0, 0, 1], [logits, null, new[] { 1 }, null], [sc], [1f]));
        Assert.Throws<NativeArgumentException>(() => NativeOps.Run("step_fn_scores",
            Dims(1, vocab, NativeStepFunction.Probability, StepFunctionArgs.Default), [logits, null, new[] { 1 }, null], [sc], [float.NaN]));
    }

    [Fact]
    public void Every_builtin_id_maps_to_a_native_function_and_back()
    {
        foreach (var f in StepFunctionRegistry.BuiltIns())
        {
            Assert.True(NativeStepFunctions.TryGet(f.Id, out var fn), f.Id);
            Assert.Equal(f.Id, NativeStepFunctions.Id(fn));
            Assert.True(NativeStepFunctions.TryGet(f.Id + "_fn", out var fn2));
            Assert.Equal(fn, fn2);
            Assert.Equal(f.IsContrastive, NativeStepFunctions.IsContrastive(fn));
            Assert.Equal(f.IsDifferentiable, NativeStepFunctions.IsDifferentiable(fn, contrastSharesLogits: false));
        }
        Assert.Equal(13, Enum.GetValues<NativeStepFunction>().Length);
        Assert.False(NativeStepFunctions.TryGet("mc_dropout_prob_avg", out _));
        Assert.Equal(24, Marshal.SizeOf<NativeStepFnArgs>());
        Assert.Equal(16, (int)Marshal.OffsetOf<NativeStepFnArgs>(nameof(NativeStepFnArgs.TopP)));
    }

    static TransformerModel BigVocabModel() =>
        TransformerModel.CreateRandom(ModelConfig.ForGpt2(layers: 1, heads: 2, hidden: 16, vocab: 50257, positions: 16),
            seed: 3, Device.Cpu, std: 0.3f);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Context_step_scores_equal_the_managed_reference_on_the_forward_logits(bool bigVocab)
    {
        using var model = bigVocab ? BigVocabModel() : ModelInvariantTests.SmallRandom();
        var v = model.Config.VocabSize;
        var a = RandomIds(7, v, 11);
        var b = RandomIds(5, v, 12);
        var batch = TokenBatch.LeftPadded([a, b], 0); // row 1 is left-padded by 2
        using var ctx = model.CreateContext(2, 7);
        var logits = ctx.Forward(batch, LogitsMode.All)!;
        int[] bi = [0, 0, 0, 1, 1, 1];
        int[] pos = [0, 3, 6, 2, 4, 6];
        int[] cbi = [1, 1, 1, 0, 0, 0];
        int[] cpos = [6, 5, 4, 1, 3, 5];
        var y = RandomIds(6, v, 13);
        var c = RandomIds(6, v, 14);
        var hostContrast = new Tensor(RandomRows(6, v, 15, 2f), 6, v);
        // Scores read the final-norm output: a forward without logits is enough.
        ctx.Forward(batch, LogitsMode.None);
        var functions = bigVocab
            ? StepFunctionRegistry.BuiltIns().Where(f => f.Id is "probability" or "entropy" or "contrast_prob_diff" or "kl_divergence" or "top_p_size")
            : StepFunctionRegistry.BuiltIns();
        foreach (var f in functions)
            foreach (var args in bigVocab ? new[] { new StepFunctionArgs { TopK = 5, TopP = 0.9f } } : ArgVariants)
                foreach (var mode in new[] { "self", "rows", "host" })
                {
                    var native = mode switch
                    {
                        "self" => ctx.StepScores(Fn(f.Id), args, bi, pos, y, c),
                        "rows" => ctx.StepScores(Fn(f.Id), args, bi, pos, y, c, cbi, cpos),
                        _ => ctx.StepScores(Fn(f.Id), args, bi, pos, y, c, contrastLogits: hostContrast),
                    };
                    for (var r = 0; r < bi.Length; r++)
                    {
                        var l = logits.Slice(bi[r], pos[r]);
                        ReadOnlySpan<float> q = mode switch
                        {
                            "self" => l,
                            "rows" => logits.Slice(cbi[r], cpos[r]),
                            _ => hostContrast.Slice(r),
                        };
                        var expected = (float)f.Score(new StepRow(l, y[r], c[r], q, mode == "self"), args);
                        AssertClose(expected, native[r], 1, $"{f.Id} {mode} {args} row {r}");
                    }
                }
    }

    [Fact]
    public void Step_scores_are_chunked_beyond_the_row_block()
    {
        using var model = ModelInvariantTests.SmallRandom();
        var v = model.Config.VocabSize;
        var ids = RandomIds(20, v, 21);
        using var ctx = model.CreateContext(1, 20);       // row block: min(20, 64) = 20 rows
        var logits = ctx.Forward(TokenBatch.Single(ids))!;
        const int n = 150;                                 // 8 blocks
        var rng = new Random(5);
        var bi = new int[n];
        var pos = Enumerable.Range(0, n).Select(_ => rng.Next(20)).ToArray();
        var y = RandomIds(n, v, 22);
        var scores = ctx.StepScores(NativeStepFunction.Probability, new StepFunctionArgs { LogProb = true }, bi, pos, y);
        var f = Registry.Get("probability");
        for (var r = 0; r < n; r++)
            AssertClose((float)f.Score(StepRow.Plain(logits.Slice(0, pos[r]), y[r]), new StepFunctionArgs { LogProb = true }),
                scores[r], 1, $"row {r}");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Backward_step_equals_backward_embeddings_fed_with_the_managed_dlogits(bool bigVocab)
    {
        using var model = bigVocab ? BigVocabModel() : ModelInvariantTests.SmallRandom();
        var v = model.Config.VocabSize;
        var batch = TokenBatch.LeftPadded([RandomIds(8, v, 31), RandomIds(6, v, 32)], 0);
        const int k = 3;
        using var ctx = model.CreateContext(2, 8, maxCotangents: 4); // 2 cotangents per row per call: chunked
        var logits = ctx.Forward(batch, LogitsMode.All, keepForBackward: true)!;
        int[] positions = [7, 3, 5, 6, -1, 2];
        var y = RandomIds(2 * k, v, 33);
        var c = RandomIds(2 * k, v, 34);
        var hostContrast = new Tensor(RandomRows(2 * k, v, 35, 2f), 2 * k, v);
        var functions = StepFunctionRegistry.BuiltIns().Where(f => f.IsDifferentiable);
        if (bigVocab) functions = functions.Where(f => f.Id is "probability" or "contrast_prob_diff" or "kl_divergence");
        foreach (var f in functions)
            foreach (var args in bigVocab ? new[] { StepFunctionArgs.Default } : ArgVariants)
                foreach (var shares in new[] { true, false })
                {
                    if (f.Id == "kl_divergence" && shares) continue;
                    var dl = Tensor.Zeros(2, k, v);
                    var expectedScores = new float[2 * k];
                    for (var r = 0; r < 2 * k; r++)
                    {
                        if (positions[r] < 0) { expectedScores[r] = float.NaN; continue; }
                        var l = logits.Slice(r / k, positions[r]);
                        var row = new StepRow(l, y[r], c[r], shares ? l : hostContrast.Slice(r), shares);
                        expectedScores[r] = (float)f.Score(row, args);
                        f.Gradient(row, args, dl.Slice(r / k, r % k));
                    }
                    var expected = ctx.BackwardEmbeddings(positions, dl);
                    var (grad, scores) = ctx.BackwardStep(Fn(f.Id), args, 0, positions, y, c, shares ? null : hostContrast);
                    var what = $"{f.Id} shares {shares} {args}";
                    for (var r = 0; r < 2 * k; r++) AssertClose(expectedScores[r], scores[r], 1, $"{what} score {r}");
                    var max = expected.Data.Max(Math.Abs);
                    for (var i = 0; i < expected.Data.Length; i++)
                        AssertClose(expected.Data[i], grad.Data[i], max, $"{what} gradient {i}");
                }
    }

    [Fact]
    public void Backward_step_rejects_functions_without_a_gradient_and_bad_inputs()
    {
        using var model = ModelInvariantTests.SmallRandom();
        var v = model.Config.VocabSize;
        using var ctx = model.CreateContext(1, 6, maxCotangents: 4);
        var ids = RandomIds(6, v, 41);
        int[] pos = [5, 4];
        int[] y = [1, 2];
        Assert.Throws<InvalidOperationException>(() => ctx.BackwardStep(NativeStepFunction.Probability, StepFunctionArgs.Default, 0, pos, y));
        Assert.Throws<InvalidOperationException>(() => ctx.StepScores(NativeStepFunction.Probability, StepFunctionArgs.Default, [0], [0], [1]));
        ctx.Forward(TokenBatch.Single(ids), LogitsMode.None, keepForBackward: true);
        var e = Assert.Throws<InvalidInputException>(() => ctx.BackwardStep(NativeStepFunction.TopPSize, StepFunctionArgs.Default, 0, pos, y));
        Assert.Contains("top_p_size", e.Message);
        e = Assert.Throws<InvalidInputException>(() => ctx.BackwardStep(NativeStepFunction.KlDivergence, StepFunctionArgs.Default, 0, pos, y));
        Assert.Contains("kl_divergence", e.Message);
        Assert.Throws<InvalidInputException>(() => ctx.BackwardStep(NativeStepFunction.Probability, StepFunctionArgs.Default, 0, pos, [1]));
        Assert.Throws<InvalidInputException>(() => ctx.BackwardStep(NativeStepFunction.Probability, StepFunctionArgs.Default, 0, pos, [1, v]));
        Assert.Throws<InvalidInputException>(() => ctx.BackwardStep(NativeStepFunction.Probability, StepFunctionArgs.Default, 0, [6, 1], y));
        Assert.Throws<InvalidInputException>(() => ctx.BackwardStep(NativeStepFunction.Probability, StepFunctionArgs.Default, 3, pos, y));
        Assert.Throws<InvalidInputException>(() => ctx.BackwardStep(NativeStepFunction.ContrastProb, StepFunctionArgs.Default, 0, pos, y,
            contrastLogits: Tensor.Zeros(2, v - 1)));
        Assert.Throws<InvalidInputException>(() => ctx.BackwardStep(NativeStepFunction.Probability, new StepFunctionArgs { TopP = float.NaN }, 0, pos, y));
        Assert.Throws<InvalidInputException>(() => ctx.StepScores(NativeStepFunction.Probability, StepFunctionArgs.Default, [1], [0], [1]));
        Assert.Throws<InvalidInputException>(() => ctx.StepScores(NativeStepFunction.Probability, StepFunctionArgs.Default, [0], [6], [1]));
        Assert.Throws<InvalidInputException>(() => ctx.StepScores(NativeStepFunction.Probability, StepFunctionArgs.Default, [0], [0], [v]));
        Assert.Throws<InvalidInputException>(() => ctx.StepScores(NativeStepFunction.Probability, StepFunctionArgs.Default, [0], [0], [1],
            contrastBatchIndex: [0]));
        Assert.Throws<InvalidInputException>(() => ctx.StepScores((NativeStepFunction)42, StepFunctionArgs.Default, [0], [0], [1]));
    }

    [Fact]
    public unsafe void Native_step_exports_report_typed_errors()
    {
        using var model = ModelInvariantTests.SmallRandom();
        var v = model.Config.VocabSize;
        using var ctx = model.CreateContext(1, 6, maxCotangents: 2);
        var h = ContextHandleOf(ctx);
        int[] ids = [1, 2, 3];
        ctx.Forward(TokenBatch.Single(ids), LogitsMode.None, keepForBackward: true);
        var args = new NativeStepFnArgs(NativeStepFunction.Probability, false, 0, 1f, 1);
        var bad = args with { StructSize = 20 };
        int b0 = 0, p0 = 2, t0 = 1;
        float score;
        var grad = new float[3 * model.Config.HiddenSize];
        Assert.Equal((int)NativeStatus.InvalidArgument,
            NativeMethods.StepScores(h, &bad, 1, &b0, &p0, &t0, null, null, null, null, &score));
        Assert.Contains("struct_size", NativeMethods.LastErrorMessage());
        Assert.Equal((int)NativeStatus.NullPointer,
            NativeMethods.StepScores(h, &args, 1, &b0, &p0, &t0, null, &b0, null, null, &score));
        NativeCheck.Ok(NativeMethods.StepScores(h, &args, 1, &b0, &p0, &t0, null, null, null, null, &score), "inq_step_scores");
        var topP = new NativeStepFnArgs(NativeStepFunction.TopPSize, false, 0, 0.9f, 1);
        fixed (float* g = grad)
        {
            Assert.Equal((int)NativeStatus.InvalidArgument,
                NativeMethods.BackwardStep(h, &topP, 0, 1, 1, &p0, &t0, null, null, g, null));
            Assert.Equal((int)NativeStatus.InvalidArgument,
                NativeMethods.BackwardStep(h, &args, 3, 1, 1, &p0, &t0, null, null, g, null));
            Assert.Equal((int)NativeStatus.Capacity,
                NativeMethods.BackwardStep(h, &args, 0, 1, 3, &p0, &t0, null, null, g, null));
            NativeCheck.Ok(NativeMethods.BackwardStep(h, &args, 0, 1, 1, &p0, &t0, null, null, g, &score), "inq_backward_step");
        }
        Assert.True(score is > 0 and < 1);
        // A cache step replaces the forward: nothing to score.
        ctx.CachePrefill(TokenBatch.Single(ids));
        NativeCheck.Ok(NativeMethods.StepScores(h, &args, 1, &b0, &p0, &t0, null, null, null, null, &score), "inq_step_scores after prefill");
        ctx.CacheStep([4]);
        Assert.Equal((int)NativeStatus.State,
            NativeMethods.StepScores(h, &args, 1, &b0, &p0, &t0, null, null, null, null, &score));
    }

    internal static ContextHandle ContextHandleOf(InferenceContext ctx) =>
        (ContextHandle)typeof(InferenceContext).GetField("_handle", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .GetValue(ctx)!;
}
