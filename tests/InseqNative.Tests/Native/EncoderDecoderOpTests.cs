namespace InseqNative.Tests.Native;

/// <summary>
/// The encoder-decoder ops (inq_op_run): Marian's and fairseq's (M2M100) sinusoidal positions against Hugging Face's
/// formulas, and attention over separate query and key/value rows (bidirectional, cross and causal, key padding mask,
/// T5's additive score bias) against a float64 reference and its input backward against central finite differences,
/// with several cotangents per forward row.
/// </summary>
public class EncoderDecoderOpTests
{
    [Theory]
    [InlineData(64)]
    [InlineData(10)]
    [InlineData(7)]
    public void Sinusoidal_positions_match_marians_half_sin_half_cos_table(int c)
    {
        int[] pos = [0, 1, 2, 5, 17, 127];
        var rows = new float[pos.Length * c];
        NativeOps.Run("sinusoidal_positions", [pos.Length, c, 0], [pos], [rows]);
        // Hugging Face MarianSinusoidalPositionalEmbedding: position_enc[p, j] = p / 10000^(2 (j // 2) / dim);
        // sin of the even columns fills the first ceil(dim/2) columns, cos of the odd ones the rest.
        var sentinel = c % 2 == 0 ? c / 2 : c / 2 + 1;
        for (var n = 0; n < pos.Length; n++)
        {
            var evens = Enumerable.Range(0, c).Where(j => j % 2 == 0).ToArray();
            var odds = Enumerable.Range(0, c).Where(j => j % 2 == 1).ToArray();
            for (var k = 0; k < c; k++)
            {
                var j = k < sentinel ? evens[k] : odds[k - sentinel];
                var angle = pos[n] / Math.Pow(10000, 2.0 * (j / 2) / c);
                var expected = (float)(k < sentinel ? Math.Sin(angle) : Math.Cos(angle));
                Assert.True(Math.Abs(expected - rows[n * c + k]) <= 1e-7, $"pos {pos[n]} col {k}: {rows[n * c + k]} vs {expected}");
            }
        }
    }

    [Theory]
    [InlineData(64)]
    [InlineData(10)]
    [InlineData(9)]
    public void Sinusoidal_positions_layout_1_match_fairseqs_float32_table(int c)
    {
        // M2M100 positions start at padding_idx + 1 = 2; long sources reach past 1000.
        int[] pos = [0, 1, 2, 3, 7, 100, 513, 1026];
        var rows = new float[pos.Length * c];
        NativeOps.Run("sinusoidal_positions", [pos.Length, c, 1], [pos], [rows]);
        // Hugging Face M2M100SinusoidalPositionalEmbedding.get_embedding, step by step in torch float32:
        // emb = exp(arange(half).float() * -(log(10000) / (half - 1))); emb = pos.float() * emb; cat(sin, cos); pad.
        var half = c / 2;
        var emb = (float)(Math.Log(10000) / (half - 1));
        for (var n = 0; n < pos.Length; n++)
        {
            for (var i = 0; i < half; i++)
            {
                var arg = (float)pos[n] * MathF.Exp(i * -emb);
                var s = rows[n * c + i];
                var co = rows[n * c + half + i];
                Assert.True(Math.Abs(s - (float)Math.Sin(arg)) <= 1e-6, $"pos {pos[n]} sin col {i}: {s} vs {Math.Sin(arg)}");
                Assert.True(Math.Abs(co - (float)Math.Cos(arg)) <= 1e-6, $"pos {pos[n]} cos col {i}: {co} vs {Math.Cos(arg)}");
            }
            if (c % 2 == 1) Assert.Equal(0f, rows[n * c + c - 1]);
        }
        // Position 0: sin 0 | cos 1.
        for (var i = 0; i < half; i++) Assert.Equal((0f, 1f), (rows[i], rows[half + i]));
    }

    static (float[] Out, float[] Att) Forward(float[] q, float[] kv, int[]? mask, int b, int tq, int tk, int c, int h,
        int causal, float[]? bias = null)
    {
        var o = new float[b * tq * c];
        var att = new float[b * h * tq * tk];
        NativeOps.Run("cross_attention_forward", [b, tq, tk, c, h, causal, 1], [q, kv, mask, bias], [o, att], [1f]);
        return (o, att);
    }

    [Theory]
    [InlineData(0, false)]
    [InlineData(1, false)]
    [InlineData(0, true)]
    [InlineData(1, true)]
    public void Cross_attention_forward_matches_a_float64_reference(int causal, bool withBias)
    {
        const int b = 2, tq = 4, tk = 5, c = 8, h = 2, hd = c / h;
        var tkEff = causal == 1 ? tq : tk; // causal: square
        var q = NativeOps.Random(b * tq * c, 11);
        var kv = NativeOps.Random(b * tkEff * 2 * c, 12);
        int[] mask = causal == 1 ? [1, 1, 1, 1, 0, 1, 1, 0] : [1, 1, 1, 1, 1, 1, 0, 1, 1, 0];
        // A bias large enough to reorder the scores, shared by both batch rows.
        var bias = withBias ? NativeOps.Random(h * tq * tkEff, 13, 4f) : null;
        var (o, att) = Forward(q, kv, mask, b, tq, tkEff, c, h, causal, bias);
        var scale = 1.0 / Math.Sqrt(hd);
        for (var bi = 0; bi < b; bi++)
        for (var hi = 0; hi < h; hi++)
        for (var i = 0; i < tq; i++)
        {
            var s = new double[tkEff];
            var vis = new bool[tkEff];
            double max = double.NegativeInfinity;
            for (var j = 0; j < tkEff; j++)
            {
                vis[j] = mask[bi * tkEff + j] != 0 && (causal == 0 || j <= i);
                if (!vis[j]) continue;
                double d = 0;
                for (var e = 0; e < hd; e++)
                    d += (double)q[(bi * tq + i) * c + hi * hd + e] * kv[(bi * tkEff + j) * 2 * c + hi * hd + e];
                s[j] = d * scale + (bias is null ? 0 : bias[(hi * tq + i) * tkEff + j]);
                max = Math.Max(max, s[j]);
            }
            double sum = 0;
            for (var j = 0; j < tkEff; j++) if (vis[j]) sum += Math.Exp(s[j] - max);
            var outRef = new double[hd];
            for (var j = 0; j < tkEff; j++)
            {
                var p = vis[j] ? Math.Exp(s[j] - max) / sum : 0;
                var got = att[((bi * h + hi) * tq + i) * tkEff + j];
                if (!vis[j]) Assert.Equal(0f, got);
                Assert.True(Math.Abs(got - p) < 1e-6, $"att[{bi},{hi},{i},{j}] {got} vs {p}");
                for (var e = 0; e < hd; e++) outRef[e] += p * kv[(bi * tkEff + j) * 2 * c + c + hi * hd + e];
            }
            for (var e = 0; e < hd; e++)
                Assert.True(Math.Abs(o[(bi * tq + i) * c + hi * hd + e] - outRef[e]) < 1e-5, "out");
        }
    }

    [Fact]
    public void Cross_attention_query_without_visible_key_gets_zeros()
    {
        const int b = 1, tq = 2, tk = 3, c = 4, h = 1;
        var (o, att) = Forward(NativeOps.Random(tq * c, 1), NativeOps.Random(tk * 2 * c, 2), [0, 0, 0], b, tq, tk, c, h,
            0);
        Assert.All(o, v => Assert.Equal(0f, v));
        Assert.All(att, v => Assert.Equal(0f, v));
    }

    [Theory]
    [InlineData(0, 1, false)]
    [InlineData(0, 2, false)]
    [InlineData(1, 2, false)]
    [InlineData(0, 2, true)]
    [InlineData(1, 1, true)]
    public void Cross_attention_backward_matches_finite_differences(int causal, int nCot, bool withBias)
    {
        const int b = 2, tq = 3, c = 8, h = 2;
        var tk = causal == 1 ? tq : 4;
        var q = NativeOps.Random(b * tq * c, 21, 1.5f);
        var kv = NativeOps.Random(b * tk * 2 * c, 22, 1.5f);
        int[] mask = causal == 1 ? [1, 1, 1, 1, 0, 1] : [1, 1, 0, 1, 1, 1, 1, 0];
        // The bias is a constant of the inputs: the backward is the unbiased one, reading the biased probabilities.
        var bias = withBias ? NativeOps.Random(h * tq * tk, 24, 2f) : null;
        var (_, att) = Forward(q, kv, mask, b, tq, tk, c, h, causal, bias);
        var r = b * nCot;
        var dout = NativeOps.Random(r * tq * c, 23);
        var dq = new float[r * tq * c];
        var dkv = new float[r * tk * 2 * c];
        NativeOps.Run("cross_attention_backward", [b, tq, tk, c, h, nCot, 1], [dout, q, kv, att], [dq, dkv], [1f]);
        for (var k = 0; k < nCot; k++)
        {
            // Cotangent k of each forward row: the rows r = bi * nCot + k.
            var cot = new float[b * tq * c];
            var aq = new float[b * tq * c];
            var akv = new float[b * tk * 2 * c];
            for (var bi = 0; bi < b; bi++)
            {
                var rr = bi * nCot + k;
                Array.Copy(dout, rr * tq * c, cot, bi * tq * c, tq * c);
                Array.Copy(dq, rr * tq * c, aq, bi * tq * c, tq * c);
                Array.Copy(dkv, rr * tk * 2 * c, akv, bi * tk * 2 * c, tk * 2 * c);
            }
            FiniteDifferences.Check(x => Forward(x, kv, mask, b, tq, tk, c, h, causal, bias).Out, q, cot, aq,
                $"dq causal={causal} bias={withBias} cot {k}");
            FiniteDifferences.Check(x => Forward(q, x, mask, b, tq, tk, c, h, causal, bias).Out, kv, cot, akv,
                $"dkv causal={causal} bias={withBias} cot {k}");
            // Masked keys get exactly zero gradient.
            for (var bi = 0; bi < b; bi++)
            for (var j = 0; j < tk; j++)
                if (mask[bi * tk + j] == 0)
                    for (var e = 0; e < 2 * c; e++) Assert.Equal(0f, akv[(bi * tk + j) * 2 * c + e]);
        }
    }
}
