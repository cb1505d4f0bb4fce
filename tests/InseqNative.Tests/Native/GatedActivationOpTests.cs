namespace InseqNative.Tests.Native;

/// <summary>
/// The gated MLP op (inq_op_run "gated_act_forward"/"gated_act_backward", every inq_activation): forward = the plain
/// activation op of the gate times the up half, against a float64 formula where .NET has one; input backward against
/// central finite differences (ReLU with every gate away from its kink).
/// </summary>
public class GatedActivationOpTests
{
    const int N = 3, Inner = 7;

    static float[] Forward(float[] gu, int kind)
    {
        var y = new float[N * Inner];
        NativeOps.Run("gated_act_forward", [N, Inner, kind], [gu], [y]);
        return y;
    }

    static float[] Input(int seed)
    {
        var gu = NativeOps.Random(N * 2 * Inner, seed, 3f);
        // Keep every gate at least 0.1 from 0: ReLU's kink would break finite differences there.
        for (var i = 0; i < gu.Length; i++)
            if (Math.Abs(gu[i]) < 0.1f) gu[i] = gu[i] < 0 ? -0.1f - gu[i] : 0.1f + gu[i];
        return gu;
    }

    static double? Reference(double x, int kind) => kind switch
    {
        1 => 0.5 * x * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x))),
        3 => Math.Max(x, 0),
        4 => x / (1 + Math.Exp(-x)),
        _ => null, // GELU_ERF: no erf in .NET; covered by the activation op comparison below
    };

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Forward_is_the_activation_of_the_gate_times_up(int kind)
    {
        var gu = Input(30 + kind);
        var y = Forward(gu, kind);
        var gate = new float[N * Inner];
        for (var r = 0; r < N; r++) Array.Copy(gu, r * 2 * Inner, gate, r * Inner, Inner);
        var act = new float[N * Inner];
        NativeOps.Run("gelu_forward", [N * Inner, kind], [gate], [act]);
        for (var r = 0; r < N; r++)
        for (var i = 0; i < Inner; i++)
        {
            var up = gu[r * 2 * Inner + Inner + i];
            var got = y[r * Inner + i];
            Assert.Equal(act[r * Inner + i] * up, got, 1e-6);
            if (Reference(gate[r * Inner + i], kind) is { } expected)
                Assert.True(Math.Abs(expected * up - got) <= 1e-5 * (1 + Math.Abs(got)), $"kind {kind} [{r},{i}]: {got} vs {expected * up}");
        }
    }

    [Theory]
    [InlineData(1)] // GELU tanh (T5's gated-gelu)
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)] // SiLU (SwiGLU)
    public void Backward_matches_finite_differences(int kind)
    {
        var gu = Input(40 + kind);
        var dy = NativeOps.Random(N * Inner, 50 + kind);
        var dgu = new float[N * 2 * Inner];
        NativeOps.Run("gated_act_backward", [N, Inner, kind], [dy, gu], [dgu]);
        FiniteDifferences.Check(x => Forward(x, kind), gu, dy, dgu, $"gated_act kind {kind}", eps: 1e-3f);
    }

    [Fact]
    public void Relu_gate_below_zero_passes_no_gradient()
    {
        var gu = Input(60);
        var dy = NativeOps.Random(N * Inner, 61);
        var dgu = new float[N * 2 * Inner];
        NativeOps.Run("gated_act_backward", [N, Inner, 3], [dy, gu], [dgu]);
        for (var r = 0; r < N; r++)
        for (var i = 0; i < Inner; i++)
            if (gu[r * 2 * Inner + i] < 0)
                Assert.Equal((0f, 0f), (dgu[r * 2 * Inner + i], dgu[r * 2 * Inner + Inner + i]));
    }
}
