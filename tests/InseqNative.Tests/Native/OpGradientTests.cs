namespace InseqNative.Tests.Native;

/// <summary>
/// Every CPU op's input backward against central finite differences of its forward: for a random cotangent r,
/// backward(r) must equal ∂⟨r, forward(x)⟩/∂x. Sizes are small so every input element is checked.
/// </summary>
public class OpGradientTests
{
    [Fact]
    public void Layernorm_backward_matches_finite_differences()
    {
        const int n = 3, c = 16;
        var x = NativeOps.Random(n * c, 1, 2f);
        var w = NativeOps.Random(c, 2);
        var b = NativeOps.Random(c, 3);
        float[] Fwd(float[] input)
        {
            var y = new float[n * c];
            NativeOps.Run("layernorm_forward", [n, c], [input, w, b], [y, new float[n], new float[n]], [1e-5f]);
            return y;
        }
        var mean = new float[n];
        var rstd = new float[n];
        NativeOps.Run("layernorm_forward", [n, c], [x, w, b], [new float[n * c], mean, rstd], [1e-5f]);
        var dy = NativeOps.Random(n * c, 4);
        var dx = new float[n * c];
        NativeOps.Run("layernorm_backward", [n, c], [dy, x, w, mean, rstd], [dx]);
        FiniteDifferences.Check(Fwd, x, dy, dx, "layernorm");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Matmul_backward_input_matches_finite_differences(int transB)
    {
        const int n = 4, k = 6, m = 5;
        var x = NativeOps.Random(n * k, 5);
        var w = NativeOps.Random(k * m, 6);
        var bias = NativeOps.Random(m, 7);
        float[] Fwd(float[] input)
        {
            var y = new float[n * m];
            NativeOps.Run("matmul_forward", [n, k, m, transB], [input, w, bias], [y]);
            return y;
        }
        var dy = NativeOps.Random(n * m, 8);
        var dx = new float[n * k];
        NativeOps.Run("matmul_backward_input", [n, k, m, transB], [dy, w], [dx]);
        FiniteDifferences.Check(Fwd, x, dy, dx, $"matmul transB={transB}", eps: 1e-2f, tolerance: 1e-3);
    }

    [Fact]
    public void Matmul_forward_matches_a_double_precision_reference_on_odd_sizes()
    {
        const int n = 37, k = 70, m = 53;   // not multiples of any block size
        var x = NativeOps.Random(n * k, 9);
        var w = NativeOps.Random(k * m, 10);
        var bias = NativeOps.Random(m, 11);
        var y = new float[n * m];
        NativeOps.Run("matmul_forward", [n, k, m, 0], [x, w, bias], [y]);
        for (var i = 0; i < n; i++)
            for (var j = 0; j < m; j++)
            {
                double s = bias[j];
                for (var p = 0; p < k; p++) s += (double)x[i * k + p] * w[p * m + j];
                Assert.True(Math.Abs(s - y[i * m + j]) <= 1e-5 * (1 + Math.Abs(s)), $"y[{i},{j}] {y[i * m + j]} vs {s}");
            }
    }

    [Theory]
    [InlineData(1)] // gelu tanh
    [InlineData(2)] // gelu erf
    public void Gelu_backward_matches_finite_differences(int kind)
    {
        const int n = 40;
        var x = NativeOps.Random(n, 12, 3f);
        float[] Fwd(float[] input)
        {
            var y = new float[n];
            NativeOps.Run("gelu_forward", [n, kind], [input], [y]);
            return y;
        }
        var dy = NativeOps.Random(n, 13);
        var dx = new float[n];
        NativeOps.Run("gelu_backward", [n, kind], [dy, x], [dx]);
        FiniteDifferences.Check(Fwd, x, dy, dx, $"gelu kind {kind}", eps: 1e-3f);
    }

    [Fact]
    public void Gelu_forward_matches_the_formulas()
    {
        float[] x = [-3f, -1f, -0.1f, 0f, 0.5f, 2f];
        var tanh = new float[x.Length];
        var erf = new float[x.Length];
        NativeOps.Run("gelu_forward", [x.Length, 1], [x], [tanh]);
        NativeOps.Run("gelu_forward", [x.Length, 2], [x], [erf]);
        for (var i = 0; i < x.Length; i++)
        {
            double v = x[i];
            var expectedTanh = 0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
            Assert.Equal(expectedTanh, tanh[i], 6);
            var expectedErf = 0.5 * v * (1 + Erf(v / Math.Sqrt(2)));
            Assert.Equal(expectedErf, erf[i], 5);
        }
    }

    static double Erf(double x)
    {
        // Abramowitz–Stegun 7.1.26 is too coarse for 1e-6; integrate the series instead.
        double sum = x, term = x;
        for (var n = 1; n < 60; n++)
        {
            term *= -x * x / n;
            sum += term / (2 * n + 1);
        }
        return 2 / Math.Sqrt(Math.PI) * sum;
    }

    [Fact]
    public void Residual_forward_adds()
    {
        var a = NativeOps.Random(10, 14);
        var b = NativeOps.Random(10, 15);
        var y = new float[10];
        NativeOps.Run("residual_forward", [10], [a, b], [y]);
        for (var i = 0; i < 10; i++) Assert.Equal(a[i] + b[i], y[i]);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Attention_backward_matches_finite_differences(bool padded)
    {
        const int b = 2, t = 5, c = 8, h = 2;
        var qkv = NativeOps.Random(b * t * 3 * c, 16);
        int[]? mask = padded ? [1, 1, 1, 1, 1, 0, 0, 1, 1, 1] : null;
        float[] Fwd(float[] input)
        {
            var o = new float[b * t * c];
            NativeOps.Run("attention_forward", [b, t, c, h, 1], [input, mask], [o, new float[b * h * t * t]], [1f]);
            return o;
        }
        var att = new float[b * h * t * t];
        var outp = new float[b * t * c];
        NativeOps.Run("attention_forward", [b, t, c, h, 1], [qkv, mask], [outp, att], [1f]);
        var dout = NativeOps.Random(b * t * c, 17);
        if (padded)
            for (var i = 0; i < 2 * c; i++) dout[t * c + i] = 0; // padded query rows of row 1 carry no cotangent
        var dqkv = new float[b * t * 3 * c];
        NativeOps.Run("attention_backward", [b, t, c, h, 1], [dout, qkv, att], [dqkv], [1f]);
        FiniteDifferences.Check(Fwd, qkv, dout, dqkv, $"attention padded={padded}", eps: 1e-2f);
        // Causality and masking in the kept probabilities.
        for (var bi = 0; bi < b; bi++)
            for (var hi = 0; hi < h; hi++)
                for (var q = 0; q < t; q++)
                    for (var k = q + 1; k < t; k++)
                        Assert.Equal(0f, att[((bi * h + hi) * t + q) * t + k]);
        if (padded)
            for (var hi = 0; hi < h; hi++)
                for (var q = 2; q < t; q++)
                    for (var k = 0; k < 2; k++)
                        Assert.Equal(0f, att[((1 * h + hi) * t + q) * t + k]);
    }

    [Fact]
    public void Embedding_forward_adds_token_and_position_rows()
    {
        const int n = 3, c = 4, v = 5, p = 6;
        var wte = NativeOps.Random(v * c, 18);
        var wpe = NativeOps.Random(p * c, 19);
        int[] ids = [4, 0, 2];
        int[] pos = [0, 1, 5];
        var y = new float[n * c];
        NativeOps.Run("embedding_forward", [n, c, v, p], [ids, pos, wte, wpe], [y]);
        for (var i = 0; i < n; i++)
            for (var j = 0; j < c; j++)
                Assert.Equal(wte[ids[i] * c + j] + wpe[pos[i] * c + j], y[i * c + j]);
    }
}
