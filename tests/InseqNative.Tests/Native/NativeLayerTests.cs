using InseqNative.Interop;
using InseqNative.StepFunctions;
using InseqNative.Tests.Model;

namespace InseqNative.Tests.Native;

/// <summary>Points of the residual stream: HiddenState, ForwardFromHidden and Backward to a point.</summary>
public class NativeLayerTests
{
    static int[] RandomIds(int n, int vocab, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(vocab)).ToArray();
    }

    static TokenBatch PaddedBatch(int vocab) =>
        TokenBatch.LeftPadded([RandomIds(8, vocab, 1), RandomIds(5, vocab, 2)], 0);

    [Fact]
    public void Forward_from_the_hidden_state_at_any_point_reproduces_the_logits()
    {
        using var model = ModelInvariantTests.SmallRandom();
        var batch = PaddedBatch(model.Config.VocabSize);
        using var ctx = model.CreateContext(2, 8, maxCotangents: 2);
        var logits = ctx.Forward(batch, LogitsMode.All, keepForBackward: true)!;
        var hidden = Enumerable.Range(0, ctx.PointCount).Select(ctx.HiddenState).ToArray();
        Assert.Equal(model.Config.NumLayers + 1, hidden.Length);
        // Point 0 is the token embeddings, before positions.
        Assert.Equal(ctx.EmbedTokens(batch.Ids).Data, hidden[0].Data);
        for (var p = 0; p < hidden.Length; p++)
        {
            var again = ctx.ForwardFromHidden(p, hidden[p], batch.Mask, LogitsMode.All, keepForBackward: true)!;
            Assert.Equal(logits.Data, again.Data); // bitwise
            // The points at and after p are the same activations again.
            for (var q = p; q < hidden.Length; q++) Assert.Equal(hidden[q].Data, ctx.HiddenState(q).Data);
            if (p > 0) Assert.Throws<InvalidInputException>(() => ctx.HiddenState(p - 1));
        }
    }

    [Fact]
    public void Backward_to_point_zero_equals_backward_embeddings()
    {
        using var model = ModelInvariantTests.SmallRandom();
        var v = model.Config.VocabSize;
        var batch = PaddedBatch(v);
        using var ctx = model.CreateContext(2, 8, maxCotangents: 4);
        ctx.Forward(batch, LogitsMode.None, keepForBackward: true);
        int[] positions = [7, 2, 5, -1, 6, 4];
        var dl = new Tensor(NativeOps.Random(2 * 3 * v, 7), 2, 3, v);
        var a = ctx.BackwardEmbeddings(positions, dl);
        var b = ctx.Backward(0, positions, dl);
        Assert.Equal(a.Data, b.Data);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Gradients_at_a_block_output_match_finite_differences_of_the_forward_from_there(int point)
    {
        using var model = ModelInvariantTests.SmallRandom();
        var v = model.Config.VocabSize;
        var c = model.Config.HiddenSize;
        var batch = PaddedBatch(v);
        using var ctx = model.CreateContext(2, 8, maxCotangents: 2);
        ctx.Forward(batch, LogitsMode.None, keepForBackward: true);
        var h = ctx.HiddenState(point);
        int[] positions = [6, 7];
        int[] targets = [3, 11];
        var args = new StepFunctionArgs { LogProb = true };
        var (grad, scores) = ctx.BackwardStep(NativeStepFunction.Probability, args, point, positions, targets);

        // Score of row b's cotangent from a forward started at the point with h perturbed.
        double Score(int b)
        {
            var logits = ctx.ForwardFromHidden(point, h, batch.Mask, LogitsMode.All)!;
            return StepMathLogProb(logits.Slice(b, positions[b]), targets[b]);
        }
        for (var b = 0; b < 2; b++)
            Assert.Equal(scores[b], (float)Score(b), 5);
        var rng = new Random(3);
        double maxErr = 0, maxRef = 0;
        for (var s = 0; s < 40; s++)
        {
            var b = s % 2;
            var t = batch.PaddingOf(b) + rng.Next(positions[b] + 1 - batch.PaddingOf(b));
            var j = rng.Next(c);
            var idx = ((long)b * 8 + t) * c + j;
            var saved = h.Data[idx];
            const float eps = 1e-2f;
            h.Data[idx] = saved + eps;
            var plus = Score(b);
            h.Data[idx] = saved - eps;
            var minus = Score(b);
            h.Data[idx] = saved;
            var fd = (plus - minus) / (2 * eps);
            var analytic = grad[b, 0, t, j];
            maxRef = Math.Max(maxRef, Math.Abs(fd));
            maxErr = Math.Max(maxErr, Math.Abs(fd - analytic));
        }
        Assert.True(maxErr <= 5e-3 * maxRef + 1e-5, $"point {point}: max |analytic − FD| {maxErr:E3} vs max |FD| {maxRef:E3}");
        // Beyond a cotangent's position the gradient is exactly zero (causality).
        for (var t = positions[0] + 1; t < 8; t++)
            for (var j = 0; j < c; j++) Assert.Equal(0f, grad[0, 0, t, j]);
    }

    static double StepMathLogProb(ReadOnlySpan<float> logits, int id)
    {
        var max = double.NegativeInfinity;
        foreach (var x in logits) max = Math.Max(max, x);
        double s = 0;
        foreach (var x in logits) s += Math.Exp(x - max);
        return logits[id] - (max + Math.Log(s));
    }

    [Fact]
    public void Backward_through_a_forward_from_a_point_equals_the_full_backward_there()
    {
        using var model = ModelInvariantTests.SmallRandom();
        var v = model.Config.VocabSize;
        var batch = PaddedBatch(v);
        using var ctx = model.CreateContext(2, 8, maxCotangents: 2);
        ctx.Forward(batch, LogitsMode.None, keepForBackward: true);
        int[] positions = [7, 5];
        var dl = new Tensor(NativeOps.Random(2 * v, 9), 2, 1, v);
        var full = ctx.Backward(1, positions, dl);
        var h1 = ctx.HiddenState(1);
        ctx.ForwardFromHidden(1, h1, batch.Mask, LogitsMode.None, keepForBackward: true);
        Assert.Equal(full.Data, ctx.Backward(1, positions, dl).Data);
        // Points before the start of the kept forward do not exist.
        var e = Assert.Throws<InvalidInputException>(() => ctx.Backward(0, positions, dl));
        Assert.Contains("precedes", e.Message);
        Assert.Throws<InvalidInputException>(() => ctx.BackwardStep(NativeStepFunction.Logit, StepFunctionArgs.Default, 0, positions, [1, 2]));
    }

    [Fact]
    public void Points_reject_bad_input_with_typed_errors()
    {
        using var model = ModelInvariantTests.SmallRandom();
        var v = model.Config.VocabSize;
        var c = model.Config.HiddenSize;
        using var ctx = model.CreateContext(1, 6, maxCotangents: 2);
        Assert.Throws<InvalidOperationException>(() => ctx.HiddenState(0));
        ctx.Forward(TokenBatch.Single(RandomIds(6, v, 4)), LogitsMode.None);
        Assert.Throws<InvalidOperationException>(() => ctx.HiddenState(0)); // not kept
        ctx.Forward(TokenBatch.Single(RandomIds(6, v, 4)), LogitsMode.None, keepForBackward: true);
        Assert.Throws<InvalidInputException>(() => ctx.HiddenState(-1));
        Assert.Throws<InvalidInputException>(() => ctx.HiddenState(3));
        Assert.Throws<InvalidInputException>(() => ctx.PointOfLayerOutput(2));
        Assert.Equal(2, ctx.PointOfLayerOutput(1));
        Assert.Throws<InvalidInputException>(() => ctx.Backward(3, [5], Tensor.Zeros(1, 1, v)));
        Assert.Throws<InvalidInputException>(() => ctx.Backward(1, [5], Tensor.Zeros(1, 1, v + 1)));
        Assert.Throws<InvalidInputException>(() => ctx.Backward(1, [6], Tensor.Zeros(1, 1, v)));
        Assert.Throws<InvalidInputException>(() => ctx.ForwardFromHidden(1, Tensor.Zeros(1, 6, c + 1)));
        Assert.Throws<InvalidInputException>(() => ctx.ForwardFromHidden(5, Tensor.Zeros(1, 6, c)));
        Assert.Throws<InvalidInputException>(() => ctx.ForwardFromHidden(1, Tensor.Zeros(2, 6, c)));
        Assert.Throws<InvalidInputException>(() => ctx.ForwardFromHidden(1, Tensor.Zeros(1, 6, c), mask: [1, 1]));
        using var forwardOnly = model.CreateContext(1, 6);
        Assert.Throws<InvalidInputException>(() => forwardOnly.ForwardFromHidden(1, Tensor.Zeros(1, 6, c), keepForBackward: true));
        // A forward-only context still runs from a point and scores its rows.
        var h = Tensor.Zeros(1, 6, c);
        for (var i = 0; i < h.Data.Length; i++) h.Data[i] = (float)Math.Sin(i);
        var logits = forwardOnly.ForwardFromHidden(2, h)!;
        var s = forwardOnly.StepScores(NativeStepFunction.Logit, StepFunctionArgs.Default, [0], [4], [7]);
        Assert.Equal(logits[0, 4, 7], s[0]);
    }

    [Fact]
    public unsafe void Native_point_exports_report_typed_errors()
    {
        using var model = ModelInvariantTests.SmallRandom();
        var v = model.Config.VocabSize;
        var c = model.Config.HiddenSize;
        using var ctx = model.CreateContext(1, 4, maxCotangents: 1);
        var h = NativeStepFunctionTests.ContextHandleOf(ctx);
        var buf = new float[4 * c];
        var dl = new float[v];
        var pos = 3;
        fixed (float* p = buf)
        fixed (float* d = dl)
        {
            Assert.Equal((int)NativeStatus.State, NativeMethods.GetHidden(h, 0, p));
            Assert.Equal((int)NativeStatus.InvalidArgument, NativeMethods.ForwardFromHidden(h, 3, 1, 4, p, null, 0, null, 0));
            Assert.Equal((int)NativeStatus.NullPointer, NativeMethods.ForwardFromHidden(h, 1, 1, 4, null, null, 0, null, 0));
            NativeCheck.Ok(NativeMethods.ForwardFromHidden(h, 2, 1, 4, p, null, 0, null, NativeMethods.ForwardKeepForBackward), "inq_forward_from_hidden");
            NativeCheck.Ok(NativeMethods.LastForward(h, out var b, out var t, out var point, out var kept, out var scorable), "inq_last_forward");
            Assert.Equal((1, 4, 2, 1, 1), (b, t, point, kept, scorable));
            Assert.Equal((int)NativeStatus.InvalidArgument, NativeMethods.GetHidden(h, 1, p));
            Assert.Contains("precedes", NativeMethods.LastErrorMessage());
            Assert.Equal((int)NativeStatus.InvalidArgument, NativeMethods.Backward(h, 1, 1, 1, &pos, d, p));
            Assert.Equal((int)NativeStatus.InvalidArgument, NativeMethods.Backward(h, -1, 1, 1, &pos, d, p));
            NativeCheck.Ok(NativeMethods.Backward(h, 2, 1, 1, &pos, d, p), "inq_backward");
        }
    }
}
