using InseqNative.Interop;
using InseqNative.Loading;

namespace InseqNative.Tests.Native;

/// <summary>The grad_reduce op (the default aggregation's vector norm over the hidden units, where the accumulator is)
/// and inq_grad_accumulator_reduce: bitwise the managed reduction (<see cref="HiddenReduction.ApplyOnHost"/>, which
/// is <see cref="Aggregation.VectorNormFunction"/>'s arithmetic), with and without multipliers, and typed errors.</summary>
public unsafe class GradReduceTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Op_grad_reduce_is_bitwise_the_managed_reduction(bool withMul)
    {
        int t = 7, k = 5, c = 13;
        var acc = NativeOps.Random(t * k * c, 3);
        var mul = withMul ? NativeOps.Random(t * c, 4) : null;
        float[] l2 = new float[t * k], sum = new float[t * k];
        GradAccumulatorTests.RunInPlace("grad_reduce", [t, k, c], [acc, mul], [l2, sum]);

        var expected = new HiddenReduction(t, k, mul is null ? null : new Tensor(mul, t, c), withSums: true);
        expected.ApplyOnHost(new Tensor(acc, t, k, c));
        Assert.Equal(expected.L2, l2);
        Assert.Equal(expected.Sums, sum);
        // And the norm is VectorNormFunction's on the multiplied cell.
        var cell = new float[c];
        for (var h = 0; h < c; h++) cell[h] = mul is null ? acc[(2 * k + 3) * c + h] : acc[(2 * k + 3) * c + h] * mul[2 * c + h];
        Assert.Equal(new InseqNative.Aggregation.VectorNormFunction().Reduce(cell), l2[2 * k + 3]);
    }

    [Fact]
    public void Reduce_before_a_reset_is_a_state_error_and_after_one_matches_the_read_accumulator()
    {
        using var model = TransformerModel.CreateRandom(
            ModelConfig.ForGpt2(layers: 1, heads: 2, hidden: 8, vocab: 20, positions: 16, eosTokenId: 19), 2, Device.Cpu, 0.3f);
        using var ctx = model.CreateContext(2, 6, 4);
        var l2 = new float[6 * 3];
        fixed (float* l = l2)
        {
            Assert.Equal((int)NativeStatus.State, NativeMethods.GradAccumulatorReduce(ctx.Handle, null, l, null));
            Assert.Contains("inq_grad_accumulator_reset", NativeMethods.LastErrorMessage());
            Assert.Equal(0, NativeMethods.GradAccumulatorReset(ctx.Handle, 6, 3, 0, null));
            Assert.Equal((int)NativeStatus.NullPointer, NativeMethods.GradAccumulatorReduce(ctx.Handle, null, null, null));
        }
        var x = new Tensor(NativeOps.Random(2 * 6 * 8, 5, 0.5f), 2, 6, 8);
        ctx.ForwardEmbeddings(x, null, LogitsMode.None, keepForBackward: true);
        ctx.ResetGradientAccumulator(6, 3);
        ctx.BackwardStepAccumulate(NativeStepFunction.Probability, new StepFunctions.StepFunctionArgs(), 0,
            [1, 3, 1, 3], [4, 7, 4, 7], null, null, [0, 2], [0.5f, 2f]);
        var granular = new Tensor(new float[6 * 3 * 8], 6, 3, 8);
        ctx.ReadGradientAccumulator(granular);
        var mul = new Tensor(NativeOps.Random(6 * 8, 6), 6, 8);
        var device = new HiddenReduction(6, 3, mul, withSums: true);
        ctx.ReduceGradientAccumulator(device);
        var host = new HiddenReduction(6, 3, mul, withSums: true);
        host.ApplyOnHost(granular);
        Assert.Equal(host.L2, device.L2);
        Assert.Equal(host.Sums, device.Sums);
        Assert.Contains(device.L2, v => v > 0);
        Assert.Throws<InvalidInputException>(() => ctx.ReduceGradientAccumulator(new HiddenReduction(5, 3, null, false)));
    }
}
