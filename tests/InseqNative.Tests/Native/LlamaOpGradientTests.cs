namespace InseqNative.Tests.Native;

/// <summary>
/// The Llama ops (RMSNorm, rotary positions, SwiGLU, grouped-query attention): forwards against float64 references
/// written from Hugging Face's definitions, input backwards against central finite differences of the forwards.
/// </summary>
public class LlamaOpGradientTests
{
    [Fact]
    public void Rmsnorm_forward_matches_the_definition_and_its_backward_finite_differences()
    {
        const int n = 3, c = 16;
        const float eps = 1e-6f;
        var x = NativeOps.Random(n * c, 21, 2f);
        var w = NativeOps.Random(c, 22);
        float[] Fwd(float[] input)
        {
            var y = new float[n * c];
            NativeOps.Run("rmsnorm_forward", [n, c], [input, w], [y, new float[n]], [eps]);
            return y;
        }
        var rstd = new float[n];
        var y0 = new float[n * c];
        NativeOps.Run("rmsnorm_forward", [n, c], [x, w], [y0, rstd], [eps]);
        for (var r = 0; r < n; r++)
        {
            double ms = 0;
            for (var j = 0; j < c; j++) ms += (double)x[r * c + j] * x[r * c + j];
            var rs = 1 / Math.Sqrt(ms / c + eps);
            Assert.Equal(rs, rstd[r], 1e-5 * rs);
            for (var j = 0; j < c; j++)
                Assert.Equal(w[j] * x[r * c + j] * rs, y0[r * c + j], 1e-5);
        }
        var dy = NativeOps.Random(n * c, 23);
        var dx = new float[n * c];
        NativeOps.Run("rmsnorm_backward", [n, c], [dy, x, w, rstd], [dx]);
        FiniteDifferences.Check(Fwd, x, dy, dx, "rmsnorm");
    }

    [Fact]
    public void Rope_forward_rotates_halves_as_transformers_and_leaves_the_rest()
    {
        const int n = 4, heads = 3, hd = 8, w = heads * hd + 5; // 5 unrotated trailing columns (the v part)
        const float theta = 10000f;
        var x = NativeOps.Random(n * w, 24);
        int[] pos = [0, 1, 7, 100];
        var y = new float[n * w];
        NativeOps.Run("rope_forward", [n, w, heads, hd], [x, pos, null], [y], [theta]);
        for (var r = 0; r < n; r++)
        {
            for (var h = 0; h < heads; h++)
                for (var i = 0; i < hd; i++)
                {
                    // q * cos + rotate_half(q) * sin, cos/sin of cat(freqs, freqs), rotate_half(q) = cat(-q2, q1).
                    var f = pos[r] / Math.Pow(theta, 2.0 * (i % (hd / 2)) / hd);
                    var xi = x[r * w + h * hd + i];
                    var rot = i < hd / 2 ? -x[r * w + h * hd + i + hd / 2] : x[r * w + h * hd + i - hd / 2];
                    var expected = xi * Math.Cos(f) + rot * Math.Sin(f);
                    Assert.Equal(expected, y[r * w + h * hd + i], 2e-5);
                }
            for (var j = heads * hd; j < w; j++) Assert.Equal(x[r * w + j], y[r * w + j]);
        }
    }

    [Fact]
    public void Rope_backward_matches_finite_differences_and_undoes_the_rotation()
    {
        const int n = 3, heads = 2, hd = 6, w = heads * hd + 4;
        const float theta = 500f;
        var x = NativeOps.Random(n * w, 25);
        int[] pos = [0, 3, 11];
        float[] Fwd(float[] input)
        {
            var y = new float[n * w];
            NativeOps.Run("rope_forward", [n, w, heads, hd], [input, pos, null], [y], [theta]);
            return y;
        }
        var dy = NativeOps.Random(n * w, 26);
        var dx = new float[n * w];
        NativeOps.Run("rope_backward", [n, w, heads, hd], [dy, pos, null], [dx], [theta]);
        FiniteDifferences.Check(Fwd, x, dy, dx, "rope");
        // A rotation's transpose is its inverse.
        var back = new float[n * w];
        NativeOps.Run("rope_backward", [n, w, heads, hd], [Fwd(x), pos, null], [back], [theta]);
        for (var i = 0; i < x.Length; i++) Assert.Equal(x[i], back[i], 1e-5);
    }

    [Theory]
    [InlineData(8, 10000f)]
    [InlineData(64, 500000f)]
    [InlineData(128, 1000000f)]
    public void Rope_with_a_table_of_the_theta_frequencies_equals_the_table_less_op_bit_for_bit(int hd, float theta)
    {
        const int n = 5, heads = 3;
        var w = heads * hd + 3;
        var x = NativeOps.Random(n * w, 40);
        int[] pos = [0, 1, 17, 4095, 131071];
        var table = InseqNative.Loading.RopeScaling.DefaultInverseFrequencies(theta, hd);
        foreach (var op in new[] { "rope_forward", "rope_backward" })
        {
            var plain = new float[n * w];
            var tabled = new float[n * w];
            NativeOps.Run(op, [n, w, heads, hd], [x, pos, null], [plain], [theta]);
            NativeOps.Run(op, [n, w, heads, hd], [x, pos, table], [tabled], [theta]);
            Assert.Equal(plain, tabled);
        }
    }

    [Fact]
    public void Rope_with_a_table_rotates_by_position_times_table_and_its_backward_matches_finite_differences()
    {
        const int n = 3, heads = 2, hd = 8, w = heads * hd + 4;
        const float theta = 10000f; // ignored when a table is given
        float[] table = [1f, 0.25f, 0.0625f, 0.001f];
        var x = NativeOps.Random(n * w, 41);
        int[] pos = [0, 5, 300];
        float[] Fwd(float[] input)
        {
            var y = new float[n * w];
            NativeOps.Run("rope_forward", [n, w, heads, hd], [input, pos, table], [y], [theta]);
            return y;
        }
        var y0 = Fwd(x);
        for (var r = 0; r < n; r++)
            for (var h = 0; h < heads; h++)
                for (var i = 0; i < hd; i++)
                {
                    var f = (double)(float)(pos[r] * table[i % (hd / 2)]); // transformers: the angle in fp32
                    var xi = x[r * w + h * hd + i];
                    var rot = i < hd / 2 ? -x[r * w + h * hd + i + hd / 2] : x[r * w + h * hd + i - hd / 2];
                    Assert.Equal(xi * Math.Cos(f) + rot * Math.Sin(f), y0[r * w + h * hd + i], 2e-6);
                }
        var dy = NativeOps.Random(n * w, 42);
        var dx = new float[n * w];
        NativeOps.Run("rope_backward", [n, w, heads, hd], [dy, pos, table], [dx], [theta]);
        FiniteDifferences.Check(Fwd, x, dy, dx, "rope with table");
        var back = new float[n * w];
        NativeOps.Run("rope_backward", [n, w, heads, hd], [y0, pos, table], [back], [theta]);
        for (var i = 0; i < x.Length; i++) Assert.Equal(x[i], back[i], 1e-5);
    }

    [Fact]
    public void Gated_silu_forward_is_silu_gate_times_up_and_its_backward_matches_finite_differences()
    {
        const int n = 3, inner = 7;
        var gu = NativeOps.Random(n * 2 * inner, 27, 3f);
        float[] Fwd(float[] input)
        {
            var y = new float[n * inner];
            NativeOps.Run("gated_act_forward", [n, inner, 4 /* INQ_ACT_SILU */], [input], [y]);
            return y;
        }
        var y0 = Fwd(gu);
        for (var r = 0; r < n; r++)
            for (var i = 0; i < inner; i++)
            {
                double g = gu[r * 2 * inner + i], u = gu[r * 2 * inner + inner + i];
                Assert.Equal(g / (1 + Math.Exp(-g)) * u, y0[r * inner + i], 1e-5);
            }
        var dy = NativeOps.Random(n * inner, 28);
        var dgu = new float[n * 2 * inner];
        NativeOps.Run("gated_act_backward", [n, inner, 4], [dy, gu], [dgu]);
        FiniteDifferences.Check(Fwd, gu, dy, dgu, "swiglu", eps: 1e-3f);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Grouped_query_attention_backward_matches_finite_differences(bool padded)
    {
        const int b = 2, t = 5, c = 8, h = 4, kvh = 2, hd = c / h, w = c + 2 * kvh * hd;
        var qkv = NativeOps.Random(b * t * w, 29);
        int[]? mask = padded ? [1, 1, 1, 1, 1, 0, 0, 1, 1, 1] : null;
        float[] Fwd(float[] input)
        {
            var o = new float[b * t * c];
            NativeOps.Run("gqa_attention_forward", [b, t, c, h, kvh, 1], [input, mask], [o, new float[b * h * t * t]], [1f]);
            return o;
        }
        var att = new float[b * h * t * t];
        NativeOps.Run("gqa_attention_forward", [b, t, c, h, kvh, 1], [qkv, mask], [new float[b * t * c], att], [1f]);
        var dout = NativeOps.Random(b * t * c, 30);
        if (padded)
            for (var i = 0; i < 2 * c; i++) dout[t * c + i] = 0; // padded query rows of row 1 carry no cotangent
        var dqkv = new float[b * t * w];
        NativeOps.Run("gqa_attention_backward", [b, t, c, h, kvh, 1], [dout, qkv, att], [dqkv], [1f]);
        FiniteDifferences.Check(Fwd, qkv, dout, dqkv, $"gqa attention padded={padded}");
    }

    [Fact]
    public void Grouped_query_attention_equals_multi_head_attention_with_repeated_key_value_heads()
    {
        const int b = 2, t = 6, c = 12, h = 6, kvh = 2, hd = c / h, group = h / kvh, w = c + 2 * kvh * hd;
        var qkv = NativeOps.Random(b * t * w, 31);
        // transformers' repeat_kv: query head j reads key/value head j / group.
        var expanded = new float[b * t * 3 * c];
        for (var row = 0; row < b * t; row++)
        {
            Array.Copy(qkv, row * w, expanded, row * 3 * c, c);
            for (var j = 0; j < h; j++)
            {
                Array.Copy(qkv, row * w + c + j / group * hd, expanded, row * 3 * c + c + j * hd, hd);
                Array.Copy(qkv, row * w + c + kvh * hd + j / group * hd, expanded, row * 3 * c + 2 * c + j * hd, hd);
            }
        }
        var gqa = new float[b * t * c];
        var gqaAtt = new float[b * h * t * t];
        NativeOps.Run("gqa_attention_forward", [b, t, c, h, kvh, 1], [qkv, null], [gqa, gqaAtt], [1f]);
        var mha = new float[b * t * c];
        var mhaAtt = new float[b * h * t * t];
        NativeOps.Run("attention_forward", [b, t, c, h, 1], [expanded, null], [mha, mhaAtt], [1f]);
        Assert.Equal(mha, gqa);
        Assert.Equal(mhaAtt, gqaAtt);
    }
}
