using InseqNative.Interop;
using InseqNative.Tests.Native;
using static InseqNative.Tests.Cuda.CudaTest;

namespace InseqNative.Tests.Cuda;

/// <summary>
/// Every op of the CUDA ops table against its CPU twin through inq_op_run (device 0 vs INQ_DEVICE_CPU) on random
/// inputs (never zeros), outputs poisoned with NaN first, fp32 within 1e-5 relative (see CudaTest.AssertClose); and
/// each CUDA op bitwise equal to itself on a second run. Skipped without a CUDA device.
/// </summary>
public class CudaOpParityTests
{
    const double Rel = 1e-5;

    /// <summary>Runs the op on both backends (and CUDA twice) and compares every output.</summary>
    static void Parity(string op, long[] dims, object?[] inputs, int[] outputSizes, float[]? scalars = null,
        double rel = Rel, string? what = null)
    {
        RequireDevice();
        float[][] Run(int device)
        {
            var outs = outputSizes.Select(n => new float[n]).ToArray();
            NativeOps.Run(op, dims, inputs, outs, scalars, device);
            return outs;
        }
        var cpu = Run(NativeMethods.DeviceCpu);
        var cuda = Run(Device0);
        var again = Run(Device0);
        var name = what ?? $"{op}({string.Join(",", dims)})";
        for (var o = 0; o < cpu.Length; o++)
        {
            AssertClose(cpu[o], cuda[o], rel, $"{name} output {o}");
            Assert.True(cuda[o].AsSpan().SequenceEqual(again[o]), $"{name} output {o}: a second CUDA run differs");
        }
    }

    [Theory]
    [InlineData(13, 24)]
    [InlineData(64, 768)]
    public void Embedding_forward(int n, int c)
    {
        const int v = 50, p = 70;
        Parity("embedding_forward", [n, c, v, p],
            [RandomInts(n, v, 1), RandomInts(n, p, 2), Random(v * c, 3), Random(p * c, 4)], [n * c]);
    }

    [Theory]
    [InlineData(17, 96)]
    [InlineData(5, 1000)]
    [InlineData(3, 4096)]
    public void Layernorm_forward_and_backward(int n, int c)
    {
        var x = Random(n * c, 5, 3f);
        var w = Random(c, 6);
        var b = Random(c, 7);
        Parity("layernorm_forward", [n, c], [x, w, b], [n * c, n, n], [1e-5f]);
        var y = new float[n * c];
        var mean = new float[n];
        var rstd = new float[n];
        NativeOps.Run("layernorm_forward", [n, c], [x, w, b], [y, mean, rstd], [1e-5f]);
        Parity("layernorm_backward", [n, c], [Random(n * c, 8), x, w, mean, rstd], [n * c]);
    }

    [Theory]
    [InlineData(17, 96)]
    [InlineData(4, 2048)]
    public void Rmsnorm_forward_and_backward(int n, int c)
    {
        var x = Random(n * c, 9, 2f);
        var w = Random(c, 10);
        Parity("rmsnorm_forward", [n, c], [x, w], [n * c, n], [1e-6f]);
        var y = new float[n * c];
        var rstd = new float[n];
        NativeOps.Run("rmsnorm_forward", [n, c], [x, w], [y, rstd], [1e-6f]);
        Parity("rmsnorm_backward", [n, c], [Random(n * c, 11), x, w, rstd], [n * c]);
    }

    [Theory]
    [InlineData(33, 70, 45, 0, true)]
    [InlineData(33, 70, 45, 1, true)]
    [InlineData(1, 64, 300, 1, false)]
    [InlineData(128, 768, 2304, 0, true)]
    public void Matmul_forward_and_backward_input(int n, int k, int m, int transB, bool bias)
    {
        var w = Random(k * m, 12);
        Parity("matmul_forward", [n, k, m, transB], [Random(n * k, 13), w, bias ? Random(m, 14) : null], [n * m]);
        Parity("matmul_backward_input", [n, k, m, transB], [Random(n * m, 15), w], [n * k]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Activations_forward_and_backward(int kind)
    {
        const int n = 4099;
        var x = Random(n, 16 + kind, 4f);
        Parity("gelu_forward", [n, kind], [x], [n]);
        Parity("gelu_backward", [n, kind], [Random(n, 20 + kind), x], [n]);
    }

    [Fact]
    public void Residual_forward() => Parity("residual_forward", [10007], [Random(10007, 25), Random(10007, 26)], [10007]);

    [Theory]
    [InlineData(3, 64, 4)]
    [InlineData(2, 1000, 4)]
    [InlineData(3, 64, 1)]
    [InlineData(2, 1000, 1)]
    [InlineData(3, 64, 2)]
    [InlineData(3, 64, 3)]
    public void Gated_activation_forward_and_backward(int n, int inner, int kind)
    {
        var gu = Random(n * 2 * inner, 27, 3f);
        Parity("gated_act_forward", [n, inner, kind], [gu], [n * inner]);
        Parity("gated_act_backward", [n, inner, kind], [Random(n * inner, 28), gu], [n * 2 * inner]);
    }

    [Theory]
    [InlineData(16, 4, 2, 10000f)]
    [InlineData(64, 8, 6, 500000f)]
    public void Rope_forward_and_backward(int hd, int heads, int rotated, float theta)
    {
        const int n = 11;
        var w = heads * hd + 7;  // unrotated tail columns are copied
        var x = Random(n * w, 29);
        var pos = RandomInts(n, 4000, 30);
        Parity("rope_forward", [n, w, rotated, hd], [x, pos, null], [n * w], [theta]);
        Parity("rope_backward", [n, w, rotated, hd], [Random(n * w, 31), pos, null], [n * w], [theta]);
    }

    [Theory]
    [InlineData(16, 4, 2, 10000f)]
    [InlineData(64, 8, 6, 500000f)]
    public void Rope_forward_and_backward_with_a_llama3_table(int hd, int heads, int rotated, float theta)
    {
        const int n = 11;
        var w = heads * hd + 7;
        var table = new InseqNative.Loading.RopeScaling
        {
            Type = "llama3", Factor = 32, LowFreqFactor = 1, HighFreqFactor = 4, OriginalMaxPositionEmbeddings = 8192,
        }.InverseFrequencies(theta, hd);
        var x = Random(n * w, 32);
        var pos = RandomInts(n, 100000, 33);
        Parity("rope_forward", [n, w, rotated, hd], [x, pos, table], [n * w], [theta], what: "rope_forward table");
        Parity("rope_backward", [n, w, rotated, hd], [Random(n * w, 34), pos, table], [n * w], [theta],
            what: "rope_backward table");
    }

    static int[] LeftPaddedMask(int b, int t, int seed)
    {
        var mask = new int[b * t];
        var rng = new Random(seed);
        for (var r = 0; r < b; r++)
        {
            var pad = r == 0 ? 0 : rng.Next(t / 2 + 1);
            for (var i = 0; i < t; i++) mask[r * t + i] = i >= pad ? 1 : 0;
        }
        return mask;
    }

    [Theory]
    [InlineData(2, 9, 32, 4, true)]
    [InlineData(3, 40, 64, 2, true)]
    [InlineData(1, 130, 96, 3, false)]
    public void Attention_forward_and_backward(int b, int t, int c, int h, bool padded)
    {
        var qkv = Random(b * t * 3 * c, 32, 2f);
        var mask = padded ? LeftPaddedMask(b, t, 33) : null;
        int[] sizes = [b * t * c, b * h * t * t];
        Parity("attention_forward", [b, t, c, h, 1], [qkv, mask], sizes, [1f]);
        Parity("attention_forward", [b, t, c, h, 0], [qkv, mask], sizes, [0.5f], what: "attention_forward unscaled, extra 0.5");
        var att = new float[b * h * t * t];
        NativeOps.Run("attention_forward", [b, t, c, h, 1], [qkv, mask], [new float[b * t * c], att], [1f]);
        Parity("attention_backward", [b, t, c, h, 1], [Random(b * t * c, 34), qkv, att], [b * t * 3 * c], [1f]);
    }

    [Theory]
    [InlineData(2, 12, 64, 8, 2)]
    [InlineData(1, 33, 48, 6, 1)]
    public void Grouped_query_attention_forward_and_backward(int b, int t, int c, int h, int kvh)
    {
        var width = c + 2 * kvh * (c / h);
        var qkv = Random(b * t * width, 35, 2f);
        var mask = LeftPaddedMask(b, t, 36);
        Parity("gqa_attention_forward", [b, t, c, h, kvh, 1], [qkv, mask], [b * t * c, b * h * t * t], [1f]);
        var att = new float[b * h * t * t];
        NativeOps.Run("gqa_attention_forward", [b, t, c, h, kvh, 1], [qkv, mask], [new float[b * t * c], att], [1f]);
        Parity("gqa_attention_backward", [b, t, c, h, kvh, 1], [Random(b * t * c, 37), qkv, att], [b * t * width], [1f]);
    }

    [Theory]
    [InlineData(2, 12, 64, 8, 2, 4)]
    [InlineData(1, 140, 48, 6, 3, 130)] // more keys than the block's threads, window wider than one pass
    [InlineData(2, 9, 32, 4, 4, 1)]
    public void Sliding_window_attention_forward_backward_and_decode(int b, int t, int c, int h, int kvh, int window)
    {
        var hd = c / h;
        var width = c + 2 * kvh * hd;
        var qkv = Random(b * t * width, 38, 2f);
        var mask = LeftPaddedMask(b, t, 39);
        Parity("window_attention_forward", [b, t, c, h, kvh, window, 1], [qkv, mask], [b * t * c, b * h * t * t], [1f]);
        var att = new float[b * h * t * t];
        NativeOps.Run("window_attention_forward", [b, t, c, h, kvh, window, 1], [qkv, mask],
            [new float[b * t * c], att], [1f]);
        Parity("gqa_attention_backward", [b, t, c, h, kvh, 1], [Random(b * t * c, 40), qkv, att], [b * t * width], [1f],
            what: $"gqa_attention_backward over window {window}");
        // Decode: the new query against t cached keys in a cache of t + 2 positions.
        var s = t + 2;
        var kc = Random(b * s * kvh * hd, 41);
        var vc = Random(b * s * kvh * hd, 42);
        var cacheMask = new int[b * s];
        for (var r = 0; r < b; r++)
            for (var j = 0; j < s; j++) cacheMask[r * s + j] = j < s - t + r % 2 ? 0 : 1; // left padding
        Parity("attention_decode", [b, t, s, c, h, kvh, window, 1], [Random(b * width, 43, 2f), kc, vc, cacheMask],
            [b * c, b * h * t], [1f]);
    }

    // (fn, logprob, top_k, top_p, min_keep) variants; KL and top_p_size with and without filtering.
    public static TheoryData<int, int, int, float, int> StepVariants()
    {
        var d = new TheoryData<int, int, int, float, int>();
        for (var fn = 0; fn <= 12; fn++)
        {
            d.Add(fn, 0, 0, 1f, 1);
            if (fn is 1 or 6 or 8) d.Add(fn, 1, 0, 1f, 1);
        }
        d.Add(10, 0, 5, 1f, 1);
        d.Add(10, 0, 0, 0.9f, 1);
        d.Add(10, 0, 20, 0.5f, 3);
        d.Add(12, 0, 0, 0.9f, 1);
        d.Add(12, 0, 0, 0.3f, 10);
        return d;
    }

    [Theory]
    [MemberData(nameof(StepVariants))]
    public void Step_functions_scores_and_dlogits(int fn, int logprob, int topK, float topP, int minKeep)
    {
        foreach (var vocab in new[] { 1000, 50257 })
        {
            const int rows = 3;
            var logits = Random(rows * vocab, 40 + vocab, 4f);
            var contrast = Random(rows * vocab, 41 + vocab, 4f);
            var y = RandomInts(rows, vocab, 42);
            var c = RandomInts(rows, vocab, 43);
            long[] dims = [rows, vocab, fn, logprob, topK, minKeep];
            foreach (var shares in new[] { true, false })
            {
                object?[] inputs = [logits, shares ? null : contrast, y, c];
                var what = $"step fn {fn} (logprob {logprob}, top_k {topK}, top_p {topP}, min_keep {minKeep}) vocab {vocab} shares {shares}";
                Parity("step_fn_scores", dims, inputs, [rows], [topP], what: what + " scores");
                var differentiable = fn != 12 && !(fn == 10 && shares);
                if (differentiable)
                    Parity("step_fn_dlogits", dims, inputs, [rows * vocab, rows], [topP], what: what + " dlogits");
            }
        }
    }

    [Theory]
    [InlineData(2, 5, 7, 32, 4, 0, false)]
    [InlineData(2, 5, 7, 32, 4, 0, true)]
    [InlineData(3, 9, 9, 64, 8, 1, true)]
    [InlineData(1, 40, 70, 96, 3, 0, true)]
    public void Cross_attention_forward_and_backward(int b, int tq, int tk, int c, int h, int causal, bool bias)
    {
        var q = Random(b * tq * c, 50, 2f);
        var kv = Random(b * tk * 2 * c, 51, 2f);
        var mask = LeftPaddedMask(b, tk, 52);
        var bi = bias ? Random(h * tq * tk, 53, 3f) : null;
        int[] sizes = [b * tq * c, b * h * tq * tk];
        Parity("cross_attention_forward", [b, tq, tk, c, h, causal, 1], [q, kv, mask, bi], sizes, [1f],
            what: $"cross_attention_forward causal {causal} bias {bias}");
        var att = new float[b * h * tq * tk];
        NativeOps.Run("cross_attention_forward", [b, tq, tk, c, h, causal, 1], [q, kv, mask, bi],
            [new float[b * tq * c], att], [1f]);
        const int nCot = 2;
        Parity("cross_attention_backward", [b, tq, tk, c, h, nCot, 1], [Random(b * nCot * tq * c, 54), q, kv, att],
            [b * nCot * tq * c, b * nCot * tk * 2 * c], [1f], what: $"cross_attention_backward causal {causal} bias {bias}");
    }

    [Theory]
    [InlineData(0, 512)]
    [InlineData(0, 7)]
    [InlineData(1, 1024)]
    [InlineData(1, 9)]
    public void Sinusoidal_positions(int layout, int c)
    {
        var pos = RandomInts(37, 1030, 55);
        Parity("sinusoidal_positions", [pos.Length, c, layout], [pos], [pos.Length * c]);
    }

    [Theory]
    [InlineData(1, 32, 128, 0)]
    [InlineData(0, 32, 128, 5)]
    [InlineData(1, 8, 20, 3)]
    public void Relative_position_bias(int bidirectional, int buckets, int maxDistance, int qOffset)
    {
        const int h = 6, tq = 37, tk = 300;
        Parity("relative_position_bias", [h, tq, tk, qOffset, bidirectional, buckets, maxDistance],
            [Random(buckets * h, 56)], [h * tq * tk]);
    }
}
