using System.Text.Json;
using InseqNative.Loading;
using InseqNative.Tests.Fixtures;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Native;

/// <summary>
/// Marian's forward composed op by op through inq_op_run (CPU), against plain transformers' logits in
/// hf/tiny-marian.json: proves the ops table covers MarianMTModel and pins down its semantics before the native
/// seq2seq graph exists. Encoder: x = shared[ids] * sqrt(d_model) + sinusoidal(pos); per layer (post-norm)
/// x = LN(x + SelfAttn(x)); x = LN(x + fc2(silu(fc1(x)))). Decoder: same embedding; per layer
/// x = LN(x + CausalSelfAttn(x)); x = LN(x + CrossAttn(x, enc)); x = LN(x + MLP(x)). No final norms, no
/// layernorm_embedding. logits = x · sharedᵀ + final_logits_bias. LayerNorm eps 1e-5, q scaled by head_dim^-0.5.
/// </summary>
public class MarianOpGraphTests
{
    const int C = 64, H = 4, F = 128;

    sealed class Weights(SafetensorsFile f)
    {
        public float[] this[string name] => f.ReadAsFloat32(name);
    }

    static float[] Linear(float[] x, int n, float[] w, float[] b, int k, int m)
    {
        var y = new float[n * m];
        NativeOps.Run("matmul_forward", [n, k, m, 1], [x, w, b], [y]);
        return y;
    }

    static float[] Add(float[] a, float[] b)
    {
        var y = new float[a.Length];
        NativeOps.Run("residual_forward", [a.Length], [a, b], [y]);
        return y;
    }

    static float[] LayerNorm(float[] x, int n, float[] w, float[] b)
    {
        var y = new float[n * C];
        NativeOps.Run("layernorm_forward", [n, C], [x, w, b], [y, new float[n], new float[n]], [1e-5f]);
        return y;
    }

    static float[] Attention(Weights wt, string p, float[] xq, int tq, float[] xkv, int tk, int[]? mask, int causal)
    {
        var q = Linear(xq, tq, wt[p + "q_proj.weight"], wt[p + "q_proj.bias"], C, C);
        var k = Linear(xkv, tk, wt[p + "k_proj.weight"], wt[p + "k_proj.bias"], C, C);
        var v = Linear(xkv, tk, wt[p + "v_proj.weight"], wt[p + "v_proj.bias"], C, C);
        var kv = new float[tk * 2 * C];
        for (var j = 0; j < tk; j++)
        {
            Array.Copy(k, j * C, kv, j * 2 * C, C);
            Array.Copy(v, j * C, kv, j * 2 * C + C, C);
        }
        var o = new float[tq * C];
        NativeOps.Run("cross_attention_forward", [1, tq, tk, C, H, causal, 1], [q, kv, mask, null],
            [o, new float[H * tq * tk]], [1f]);
        return Linear(o, tq, wt[p + "out_proj.weight"], wt[p + "out_proj.bias"], C, C);
    }

    static float[] Mlp(Weights wt, string p, float[] x, int n)
    {
        var h = Linear(x, n, wt[p + "fc1.weight"], wt[p + "fc1.bias"], C, F);
        var a = new float[h.Length];
        NativeOps.Run("gelu_forward", [h.Length, 4 /* INQ_ACT_SILU */], [h], [a]);
        return Linear(a, n, wt[p + "fc2.weight"], wt[p + "fc2.bias"], F, C);
    }

    static float[] Embed(float[] shared, int[] ids)
    {
        var n = ids.Length;
        var pos = new float[n * C];
        NativeOps.Run("sinusoidal_positions", [n, C, 0], [Enumerable.Range(0, n).ToArray()], [pos]);
        var scale = MathF.Sqrt(C);
        var x = new float[n * C];
        for (var i = 0; i < n; i++)
        for (var c = 0; c < C; c++)
            x[i * C + c] = shared[ids[i] * C + c] * scale + pos[i * C + c];
        return x;
    }

    [Fact]
    public void Op_composed_forward_reproduces_transformers_logits()
    {
        using var f = SafetensorsFile.Open(Path.Combine(FixturePaths.Models("tiny-marian"), "model.safetensors"));
        var wt = new Weights(f);
        var shared = wt["model.shared.weight"];
        var bias = wt["final_logits_bias"];
        var vocab = bias.Length;
        using var doc = JsonDocument.Parse(File.ReadAllBytes(FixturePaths.Hf("tiny-marian")));
        var checkedItems = 0;
        foreach (var it in doc.RootElement.GetProperty("items").EnumerateArray())
        {
            var src = HfReference.Ints(it.GetProperty("input_ids"));
            var mask = HfReference.Ints(it.GetProperty("attention_mask"));
            var tgt = HfReference.Ints(it.GetProperty("decoder_input_ids"));
            var expected = HfReference.DecodeTensor(it.GetProperty("logits"));
            int ts = src.Length, tt = tgt.Length;

            var x = Embed(shared, src);
            for (var l = 0; l < 2; l++)
            {
                var p = $"model.encoder.layers.{l}.";
                x = LayerNorm(Add(x, Attention(wt, p + "self_attn.", x, ts, x, ts, mask, 0)), ts,
                    wt[p + "self_attn_layer_norm.weight"], wt[p + "self_attn_layer_norm.bias"]);
                x = LayerNorm(Add(x, Mlp(wt, p, x, ts)), ts, wt[p + "final_layer_norm.weight"],
                    wt[p + "final_layer_norm.bias"]);
            }
            var enc = x;

            var y = Embed(shared, tgt);
            for (var l = 0; l < 2; l++)
            {
                var p = $"model.decoder.layers.{l}.";
                y = LayerNorm(Add(y, Attention(wt, p + "self_attn.", y, tt, y, tt, null, 1)), tt,
                    wt[p + "self_attn_layer_norm.weight"], wt[p + "self_attn_layer_norm.bias"]);
                y = LayerNorm(Add(y, Attention(wt, p + "encoder_attn.", y, tt, enc, ts, mask, 0)), tt,
                    wt[p + "encoder_attn_layer_norm.weight"], wt[p + "encoder_attn_layer_norm.bias"]);
                y = LayerNorm(Add(y, Mlp(wt, p, y, tt)), tt, wt[p + "final_layer_norm.weight"],
                    wt[p + "final_layer_norm.bias"]);
            }
            var logits = Linear(y, tt, shared, bias, C, vocab);

            Assert.Equal(tt * vocab, expected.Data.Length);
            for (var i = 0; i < tt; i++)
            {
                double maxRef = 0, maxErr = 0;
                for (var v = 0; v < vocab; v++)
                {
                    maxRef = Math.Max(maxRef, Math.Abs(expected.Data[i * vocab + v]));
                    maxErr = Math.Max(maxErr, Math.Abs(expected.Data[i * vocab + v] - logits[i * vocab + v]));
                }
                Assert.True(maxErr <= 1e-4 * maxRef, $"item {checkedItems} row {i}: max |Δ| {maxErr:E3} vs max |ref| {maxRef:E3}");
            }
            checkedItems++;
        }
        Assert.Equal(3, checkedItems);
    }
}
