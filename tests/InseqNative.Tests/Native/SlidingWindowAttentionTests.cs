namespace InseqNative.Tests.Native;

/// <summary>
/// Mistral's sliding-window attention ops: window_attention_forward against a float64 reference of transformers
/// 4.38's mask (query i sees key j iff j &lt;= i, i - j &lt; window and j is not padding), its backward (the plain
/// grouped-query backward over the windowed probabilities) against finite differences, and the KV-cached
/// attention_decode step against the last row of the windowed forward.
/// </summary>
public class SlidingWindowAttentionTests
{
    const int B = 2, T = 7, C = 8, H = 4, Kvh = 2, Hd = C / H, W = C + 2 * Kvh * Hd;
    static readonly int[] LeftPadded = [1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1];

    static (float[] Out, float[] Att) Forward(float[] qkv, int[]? mask, int window)
    {
        var o = new float[B * T * C];
        var att = new float[B * H * T * T];
        NativeOps.Run("window_attention_forward", [B, T, C, H, Kvh, window, 1], [qkv, mask], [o, att], [1f]);
        return (o, att);
    }

    /// <summary>Straightforward float64 attention with the window rule written out.</summary>
    static (double[] Out, double[] Att) Reference(float[] qkv, int[]? mask, int window)
    {
        var o = new double[B * T * C];
        var att = new double[B * H * T * T];
        var scale = 1 / Math.Sqrt(Hd);
        for (var b = 0; b < B; b++)
            for (var h = 0; h < H; h++)
            {
                var g = h / (H / Kvh);
                for (var i = 0; i < T; i++)
                {
                    bool Visible(int j) => j <= i && (window == 0 || i - j < window) && (mask is null || mask[b * T + j] == 1);
                    var s = new double[T];
                    var max = double.NegativeInfinity;
                    for (var j = 0; j < T; j++)
                    {
                        if (!Visible(j)) continue;
                        double dot = 0;
                        for (var d = 0; d < Hd; d++)
                            dot += (double)qkv[(b * T + i) * W + h * Hd + d] * qkv[(b * T + j) * W + C + g * Hd + d];
                        s[j] = dot * scale;
                        max = Math.Max(max, s[j]);
                    }
                    if (double.IsNegativeInfinity(max)) continue; // no visible key: zeros
                    double sum = 0;
                    for (var j = 0; j < T; j++)
                        if (Visible(j)) sum += Math.Exp(s[j] - max);
                    for (var j = 0; j < T; j++)
                    {
                        if (!Visible(j)) continue;
                        var p = Math.Exp(s[j] - max) / sum;
                        att[((b * H + h) * T + i) * T + j] = p;
                        for (var d = 0; d < Hd; d++)
                            o[(b * T + i) * C + h * Hd + d] += p * qkv[(b * T + j) * W + C + Kvh * Hd + g * Hd + d];
                    }
                }
            }
        return (o, att);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(3, false)]
    [InlineData(3, true)]
    [InlineData(5, true)]
    [InlineData(0, true)]
    public void Forward_matches_a_float64_reference_of_the_window_rule(int window, bool padded)
    {
        var qkv = NativeOps.Random(B * T * W, 41, 2f);
        var mask = padded ? LeftPadded : null;
        var (o, att) = Forward(qkv, mask, window);
        var (ro, ratt) = Reference(qkv, mask, window);
        for (var n = 0; n < o.Length; n++) Assert.Equal(ro[n], o[n], 1e-5);
        for (var n = 0; n < att.Length; n++)
        {
            Assert.Equal(ratt[n], att[n], 1e-5);
            if (ratt[n] == 0) Assert.Equal(0f, att[n]); // masked: exactly 0, which the backward relies on
        }
        if (window == 1) // only the query's own key: the output is its value
            for (var n = 0; n < B * T; n++)
                if (mask is null || mask[n] == 1)
                    for (var h = 0; h < H; h++)
                        for (var d = 0; d < Hd; d++)
                            Assert.Equal(qkv[n * W + C + Kvh * Hd + h / (H / Kvh) * Hd + d], o[n * C + h * Hd + d], 6);
    }

    [Theory]
    [InlineData(T)]
    [InlineData(T + 5)]
    public void A_window_covering_the_sequence_is_plain_causal_attention(int window)
    {
        var qkv = NativeOps.Random(B * T * W, 42, 2f);
        var (o, att) = Forward(qkv, LeftPadded, window);
        var plain = new float[B * T * C];
        var plainAtt = new float[B * H * T * T];
        NativeOps.Run("gqa_attention_forward", [B, T, C, H, Kvh, 1], [qkv, LeftPadded], [plain, plainAtt], [1f]);
        Assert.Equal(plain, o);
        Assert.Equal(plainAtt, att);
        var (narrow, _) = Forward(qkv, LeftPadded, 2);
        Assert.NotEqual(plain, narrow);
    }

    [Theory]
    [InlineData(2, false)]
    [InlineData(3, true)]
    public void Backward_over_windowed_probabilities_matches_finite_differences(int window, bool padded)
    {
        var qkv = NativeOps.Random(B * T * W, 43);
        var mask = padded ? LeftPadded : null;
        var (_, att) = Forward(qkv, mask, window);
        var dout = NativeOps.Random(B * T * C, 44);
        if (padded)
            for (var i = 0; i < 2 * C; i++) dout[T * C + i] = 0; // padded query rows of row 1 carry no cotangent
        var dqkv = new float[B * T * W];
        NativeOps.Run("gqa_attention_backward", [B, T, C, H, Kvh, 1], [dout, qkv, att], [dqkv], [1f]);
        FiniteDifferences.Check(input => Forward(input, mask, window).Out, qkv, dout, dqkv,
            $"window {window} attention padded={padded}");
    }

    [Theory]
    [InlineData(3, false)]
    [InlineData(3, true)]
    [InlineData(1, true)]
    [InlineData(0, true)]
    public void Cached_decode_step_equals_the_last_row_of_the_windowed_forward(int window, bool padded)
    {
        const int s = T + 3; // cache capacity beyond the keys in use
        var qkv = NativeOps.Random(B * T * W, 45, 2f);
        var mask = padded ? LeftPadded : Enumerable.Repeat(1, B * T).ToArray();
        var (o, att) = Forward(qkv, mask, window);
        var kc = new float[B * s * Kvh * Hd];
        var vc = new float[B * s * Kvh * Hd];
        var cacheMask = new int[B * s];
        var last = new float[B * W];
        for (var b = 0; b < B; b++)
        {
            for (var t = 0; t < T; t++)
            {
                Array.Copy(qkv, (b * T + t) * W + C, kc, (b * s + t) * Kvh * Hd, Kvh * Hd);
                Array.Copy(qkv, (b * T + t) * W + C + Kvh * Hd, vc, (b * s + t) * Kvh * Hd, Kvh * Hd);
                cacheMask[b * s + t] = mask[b * T + t];
            }
            Array.Copy(qkv, (b * T + T - 1) * W, last, b * W, W);
        }
        var step = new float[B * C];
        var stepAtt = new float[B * H * T];
        NativeOps.Run("attention_decode", [B, T, s, C, H, Kvh, window, 1], [last, kc, vc, cacheMask], [step, stepAtt],
            [1f]);
        for (var b = 0; b < B; b++)
        {
            // The same attend_row on the same keys in the same order: bit for bit.
            Assert.Equal(o.AsSpan((b * T + T - 1) * C, C).ToArray(), step.AsSpan(b * C, C).ToArray());
            for (var h = 0; h < H; h++)
                Assert.Equal(att.AsSpan(((b * H + h) * T + T - 1) * T, T).ToArray(),
                    stepAtt.AsSpan((b * H + h) * T, T).ToArray());
        }
    }
}
