using System.Runtime.InteropServices;
using InseqNative.Interop;
using InseqNative.StepFunctions;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Native;

/// <summary>
/// ABI 6's granular gradient accumulation: the op grad_accumulate against a host loop, the accumulating backwards
/// against the sum of inq_backward_step / inq_seq2seq_backward_step gradients added in the same order (bitwise on the
/// CPU), and the argument and state errors of the exports.
/// </summary>
public unsafe class GradAccumulatorTests
{
    /// <summary>inq_op_run without poisoning the outputs: grad_accumulate reads its output.</summary>
    internal static void RunInPlace(string op, long[] dims, object?[] inputs, float[][] outputs, int device = NativeMethods.DeviceCpu)
    {
        var handles = new List<GCHandle>();
        try
        {
            var inPtrs = new void*[inputs.Length];
            for (var i = 0; i < inputs.Length; i++)
            {
                if (inputs[i] is null) continue;
                var h = GCHandle.Alloc(inputs[i], GCHandleType.Pinned);
                handles.Add(h);
                inPtrs[i] = (void*)h.AddrOfPinnedObject();
            }
            var outPtrs = new float*[outputs.Length];
            for (var i = 0; i < outputs.Length; i++)
            {
                var h = GCHandle.Alloc(outputs[i], GCHandleType.Pinned);
                handles.Add(h);
                outPtrs[i] = (float*)h.AddrOfPinnedObject();
            }
            fixed (long* d = dims)
            fixed (void** ip = inPtrs)
            fixed (float** op2 = outPtrs)
                NativeCheck.Ok(NativeMethods.OpRun(device, op, d, dims.Length, ip, inputs.Length, op2, outputs.Length,
                    null, 0), $"inq_op_run({op})");
        }
        finally
        {
            foreach (var h in handles) h.Free();
        }
    }

    /// <summary>A grad_accumulate case: packed gradient rows of B × n_cot cotangents with uneven lengths, permuted
    /// steps, an accumulator with prior contents.</summary>
    internal sealed record OpCase(int B, int NCot, int TAcc, int K, int C, int RowOff, float[] Grads, int[] Lens,
        float[] Weights, int[] Steps, float[]? Mul, float[] Acc)
    {
        public static OpCase Make(bool withMul, int seed)
        {
            int b = 3, nCot = 4, tAcc = 9, k = 6, c = 5, rowOff = 2;
            var rng = new Random(seed);
            var lens = Enumerable.Range(0, b * nCot).Select(_ => rng.Next(0, tAcc - rowOff + 1)).ToArray();
            var steps = new[] { 4, 0, 5, 2 };
            var rows = lens.Sum();
            return new OpCase(b, nCot, tAcc, k, c, rowOff, NativeOps.Random(rows * c, seed + 1),
                lens, NativeOps.Random(b, seed + 2), steps, withMul ? NativeOps.Random(b * tAcc * c, seed + 3) : null,
                NativeOps.Random(tAcc * k * c, seed + 4));
        }

        public long[] Dims => [B, NCot, TAcc, K, C, RowOff];
        public object?[] Inputs => [Grads, Lens, Weights, Steps, Mul];

        /// <summary>The managed sink's loop: acc += w · g (· m), forward rows in ascending order.</summary>
        public float[] Expected()
        {
            var acc = (float[])Acc.Clone();
            var start = 0;
            var starts = new int[B * NCot];
            for (var r = 0; r < B * NCot; r++) { starts[r] = start; start += Lens[r]; }
            for (var b = 0; b < B; b++)
                for (var i = 0; i < NCot; i++)
                {
                    var r = b * NCot + i;
                    for (var t = 0; t < Lens[r]; t++)
                        for (var h = 0; h < C; h++)
                        {
                            var dst = ((RowOff + t) * K + Steps[i]) * C + h;
                            var g = Grads[(starts[r] + t) * C + h];
                            if (Mul is null) acc[dst] += Weights[b] * g;
                            else acc[dst] += Weights[b] * g * Mul[(b * TAcc + RowOff + t) * C + h];
                        }
                }
            return acc;
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Op_grad_accumulate_is_bitwise_the_host_loop(bool withMul)
    {
        var op = OpCase.Make(withMul, 11);
        var acc = (float[])op.Acc.Clone();
        RunInPlace("grad_accumulate", op.Dims, op.Inputs, [acc]);
        Assert.Equal(op.Expected(), acc);
    }

    [Fact]
    public void Op_grad_accumulate_rejects_repeated_steps_and_rows_past_the_accumulator()
    {
        var op = OpCase.Make(false, 12);
        var e = Assert.Throws<NativeArgumentException>(() =>
            RunInPlace("grad_accumulate", op.Dims, [op.Grads, op.Lens, op.Weights, new[] { 1, 1, 2, 3 }, null], [(float[])op.Acc.Clone()]));
        Assert.Contains("repeats", e.Message);
        var lens = (int[])op.Lens.Clone();
        lens[0] = op.TAcc;  // row_off 2 + 9 > 9
        Assert.Throws<NativeArgumentException>(() =>
            RunInPlace("grad_accumulate", op.Dims, [op.Grads, lens, op.Weights, op.Steps, null], [(float[])op.Acc.Clone()]));
    }

    static Tensor RandomRows(int b, int t, int c, int seed) => new(NativeOps.Random(b * t * c, seed, 0.5f), b, t, c);

    /// <summary>Σ of BackwardStep gradients in the host loop's order vs the accumulator, for two forward chunks of
    /// two rows and two step chunks, with and without multipliers, at the embeddings and at a block output.</summary>
    [Theory]
    [InlineData(0, false)]
    [InlineData(0, true)]
    [InlineData(1, true)]
    public void Accumulating_backward_is_bitwise_the_sum_of_backward_step_gradients(int point, bool withMul)
    {
        using var model = Model.ModelInvariantTests.SmallRandom();
        int t = 7, c = model.Config.HiddenSize, k = 4, rows = 4;
        int[] positions = [2, 3, 5, 6];  // step s reads position positions[s]
        int[] targets = [4, 9, 1, 30];
        var inputs = RandomRows(rows, t, c, 3);
        float[] weights = [0.25f, -1.5f, 0.75f, 2f];
        var mul = withMul ? RandomRows(rows, t, c, 4) : null;
        using var ctx = model.CreateContext(2, t, 4);
        var expected = new float[t * k * c];
        ctx.ResetGradientAccumulator(t, k, mul);
        for (var r0 = 0; r0 < rows; r0 += 2)
        {
            var chunk = new Tensor(inputs.Data.AsSpan(r0 * t * c, 2 * t * c).ToArray(), 2, t, c);
            ctx.ForwardEmbeddings(chunk, null, LogitsMode.None, keepForBackward: true);  // differentiable to any point
            for (var k0 = 0; k0 < k; k0 += 2)
            {
                int[] steps = [k0, k0 + 1];
                int[] pos = [positions[k0], positions[k0 + 1], positions[k0], positions[k0 + 1]];
                int[] tg = [targets[k0], targets[k0 + 1], targets[k0], targets[k0 + 1]];
                var (g, scores) = ctx.BackwardStep(NativeStepFunction.Probability, StepFunctionArgs.Default, point, pos, tg);
                for (var b = 0; b < 2; b++)
                    for (var j = 0; j < 2; j++)
                    {
                        var grad = g.Slice(b, j);
                        for (var row = 0; row <= pos[b * 2 + j]; row++)
                            for (var h = 0; h < c; h++)
                            {
                                var dst = (row * k + steps[j]) * c + h;
                                if (mul is null) expected[dst] += weights[r0 + b] * grad[row * c + h];
                                else expected[dst] += weights[r0 + b] * grad[row * c + h] * mul.Data[((r0 + b) * t + row) * c + h];
                            }
                    }
                var accScores = ctx.BackwardStepAccumulate(NativeStepFunction.Probability, StepFunctionArgs.Default, point,
                    pos, tg, null, null, steps, weights[r0..(r0 + 2)], r0);
                Assert.Equal(scores, accScores);
            }
        }
        var actual = Tensor.Zeros(t, k, c);
        ctx.ReadGradientAccumulator(actual);
        Assert.Equal(expected, actual.Data);
        Assert.Contains(actual.Data, v => v != 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Seq2seq_accumulating_backward_is_bitwise_the_sum_of_source_then_target_gradients(bool withMul)
    {
        using var model = TransformerModel.Load(FixturePaths.Models("tiny-marian"), Device.Cpu);
        int s = 5, t = 4, c = model.Config.HiddenSize, k = 3, rows = 2;
        int[] positions = [1, 2, 3];
        int[] targets = [7, 12, 5];
        var src = RandomRows(rows, s, c, 5);
        var tgt = RandomRows(rows, t, c, 6);
        float[] weights = [0.5f, -2f];
        var mul = withMul ? RandomRows(rows, s + t, c, 7) : null;
        using var ctx = model.CreateContext(rows, Math.Max(s, t), rows * k);
        ctx.Seq2SeqForwardEmbeddings(src, null, tgt, null, LogitsMode.None, keepForBackward: true);
        int[] pos = [.. positions, .. positions];
        int[] tg = [.. targets, .. targets];
        int[] steps = [0, 1, 2];
        var (gs, gt, scores) = ctx.Seq2SeqBackwardStep(NativeStepFunction.Probability, StepFunctionArgs.Default, pos, tg);
        var expected = new float[(s + t) * k * c];
        for (var b = 0; b < rows; b++)
            for (var j = 0; j < k; j++)
            {
                var source = gs.Slice(b, j);
                var target = gt.Slice(b, j);
                for (var row = 0; row < s + positions[j] + 1; row++)
                    for (var h = 0; h < c; h++)
                    {
                        var g = row < s ? source[row * c + h] : target[(row - s) * c + h];
                        var dst = (row * k + steps[j]) * c + h;
                        if (mul is null) expected[dst] += weights[b] * g;
                        else expected[dst] += weights[b] * g * mul.Data[(b * (s + t) + row) * c + h];
                    }
            }
        ctx.ResetGradientAccumulator(s + t, k, mul);
        var accScores = ctx.Seq2SeqBackwardStepAccumulate(NativeStepFunction.Probability, StepFunctionArgs.Default, pos, tg,
            null, null, steps, weights);
        Assert.Equal(scores, accScores);
        var actual = Tensor.Zeros(s + t, k, c);
        ctx.ReadGradientAccumulator(actual);
        Assert.Equal(expected, actual.Data);
    }

    static ContextHandle GetHandle(InferenceContext ctx) =>
        (ContextHandle)typeof(InferenceContext).GetField("_handle", System.Reflection.BindingFlags.NonPublic |
                                                                     System.Reflection.BindingFlags.Instance)!.GetValue(ctx)!;

    static int Accumulate(ContextHandle h, int point, int batch, int[] positions, int[] targets, int[]? steps,
        float[]? weights, int multRow0)
    {
        var args = new NativeStepFnArgs(NativeStepFunction.Probability, false, 0, 1f, 1);
        fixed (int* p = positions)
        fixed (int* tg = targets)
        fixed (int* s = steps)
        fixed (float* w = weights)
            return NativeMethods.BackwardStepAccumulate(h, &args, point, batch, positions.Length / batch, p, tg, null, null,
                s, w, multRow0, null);
    }

    [Fact]
    public void The_accumulator_exports_refuse_bad_calls_with_typed_statuses()
    {
        using var model = Model.ModelInvariantTests.SmallRandom();
        int t = 5, c = model.Config.HiddenSize;
        using var ctx = model.CreateContext(2, t, 4);
        var h = GetHandle(ctx);
        var buffer = new float[t * 2 * c];
        fixed (float* o = buffer)
        {
            // Out of order: no accumulator yet.
            Assert.Equal((int)NativeStatus.State, NativeMethods.GradAccumulatorRead(h, o));
            Assert.Contains("inq_grad_accumulator_reset", NativeMethods.LastErrorMessage());
            ctx.ForwardEmbeddings(RandomRows(2, t, c, 1), null, LogitsMode.None, keepForBackward: true);
            Assert.Equal((int)NativeStatus.State, Accumulate(h, 0, 2, [1, 2, 1, 2], [3, 4, 3, 4], [0, 1], [1f, 1f], 0));

            // Reset arguments.
            Assert.Equal((int)NativeStatus.InvalidArgument, NativeMethods.GradAccumulatorReset(h, 0, 2, 0, null));
            Assert.Contains("rows", NativeMethods.LastErrorMessage());
            Assert.Equal((int)NativeStatus.InvalidArgument, NativeMethods.GradAccumulatorReset(h, t, 2, 2, null));
            Assert.Contains("multipliers", NativeMethods.LastErrorMessage());
            Assert.Equal((int)NativeStatus.State, NativeMethods.GradAccumulatorRead(h, o));  // failed resets leave none

            // A reset for another length: the kept forward's gradient has t rows.
            Assert.Equal(0, NativeMethods.GradAccumulatorReset(h, t + 1, 2, 0, null));
            Assert.Equal((int)NativeStatus.Shape, Accumulate(h, 0, 2, [1, 2, 1, 2], [3, 4, 3, 4], [0, 1], [1f, 1f], 0));
            Assert.Contains("rows", NativeMethods.LastErrorMessage());

            var mul = NativeOps.Random(3 * t * c, 9);
            fixed (float* m = mul) Assert.Equal(0, NativeMethods.GradAccumulatorReset(h, t, 2, 3, m));
            Assert.Equal((int)NativeStatus.InvalidArgument, Accumulate(h, 0, 2, [1, 2, 1, 2], [3, 4, 3, 4], [1, 1], [1f, 1f], 0));
            Assert.Contains("repeats", NativeMethods.LastErrorMessage());
            Assert.Equal((int)NativeStatus.InvalidArgument, Accumulate(h, 0, 2, [1, 2, 1, 2], [3, 4, 3, 4], [0, 2], [1f, 1f], 0));
            Assert.Contains("steps[1]", NativeMethods.LastErrorMessage());
            Assert.Equal((int)NativeStatus.InvalidArgument, Accumulate(h, 0, 2, [1, 2, 1, 2], [3, 4, 3, 4], [0, 1], [1f, 1f], 2));
            Assert.Contains("mult_row0", NativeMethods.LastErrorMessage());
            Assert.Equal((int)NativeStatus.InvalidArgument, Accumulate(h, 0, 2, [1, -1, 1, 2], [3, 4, 3, 4], [0, 1], [1f, 1f], 0));
            Assert.Contains("position", NativeMethods.LastErrorMessage());
            Assert.Equal((int)NativeStatus.InvalidArgument, Accumulate(h, 0, 2, [1, 2, 1, 2], [3, 4, 3, 4], [0, 1], [1f, float.NaN], 0));
            Assert.Contains("row_weights[1]", NativeMethods.LastErrorMessage());
            Assert.Equal((int)NativeStatus.NullPointer, Accumulate(h, 0, 2, [1, 2, 1, 2], [3, 4, 3, 4], null, [1f, 1f], 0));
            Assert.Equal((int)NativeStatus.NullPointer, Accumulate(h, 0, 2, [1, 2, 1, 2], [3, 4, 3, 4], [0, 1], null, 0));
            Assert.Equal((int)NativeStatus.Capacity, Accumulate(h, 0, 2, [1, 2, 3, 1, 2, 3], [3, 4, 5, 3, 4, 5], [0, 1, 2], [1f, 1f], 0));

            // An encoder-decoder export on a decoder-only model.
            var args = new NativeStepFnArgs(NativeStepFunction.Probability, false, 0, 1f, 1);
            int[] pos = [1, 2], tg = [3, 4], st = [0];
            float[] w = [1f, 1f];
            fixed (int* pp = pos)
            fixed (int* tp = tg)
            fixed (int* sp = st)
            fixed (float* wp = w)
                Assert.Equal((int)NativeStatus.InvalidArgument,
                    NativeMethods.Seq2SeqBackwardStepAccumulate(h, &args, 2, 1, pp, tp, null, null, sp, wp, 0, null));

            // The context still works: a valid call after the errors, then one download.
            Assert.Equal(0, Accumulate(h, 0, 2, [1, 2, 1, 2], [3, 4, 3, 4], [0, 1], [1f, 1f], 1));
            Assert.Equal(0, NativeMethods.GradAccumulatorRead(h, o));
            Assert.Contains(buffer, v => v != 0);
        }
    }

    [Fact]
    public void A_decoder_only_accumulating_backward_refuses_an_encoder_decoder_model()
    {
        using var model = TransformerModel.Load(FixturePaths.Models("tiny-marian"), Device.Cpu);
        using var ctx = model.CreateContext(1, 4, 2);
        var h = GetHandle(ctx);
        Assert.Equal(0, NativeMethods.GradAccumulatorReset(h, 8, 1, 0, null));
        Assert.Equal((int)NativeStatus.InvalidArgument, Accumulate(h, 0, 1, [1], [3], [0], [1f], 0));
        Assert.Contains("inq_seq2seq_backward_step_accumulate", NativeMethods.LastErrorMessage());
    }
}
