using System.Text.Json;
using InseqNative.Interop;
using InseqNative.Loading;
using InseqNative.Tests.Fixtures;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Native;

/// <summary>
/// The native encoder-decoder graph (INQ_ARCH_MARIAN, inq_seq2seq_forward) on tiny-marian through the interop layer
/// directly (TransformerModel does not map MarianConfig yet): logits of every hf/tiny-marian.json item within 1e-4 per
/// row, the embeddings entry point equal to the ids one, batching with right padding, and argument errors.
/// </summary>
public unsafe class MarianNativeForwardTests
{
    const int C = 64, V = 210;

    static (ModelHandle Model, ContextHandle Ctx) Load(int maxBatch = 2, int maxSeq = 32)
    {
        var cfg = new NativeModelConfig
        {
            StructSize = sizeof(NativeModelConfig), Arch = (int)NativeArch.Marian, NLayer = 2, NEncoderLayer = 2,
            NHead = 4, NEmbd = C, NInner = 128, NPositions = 128, VocabSize = V,
            Activation = (int)NativeActivation.Silu, NormEps = 1e-5f, TieWordEmbeddings = 1, ScaleAttnWeights = 1,
            EmbedScale = MathF.Sqrt(C),
        };
        NativeCheck.Ok(NativeMethods.ModelCreate(in cfg, NativeMethods.DeviceCpu, out var raw), "inq_model_create");
        var model = new ModelHandle();
        model.Adopt(raw);
        NativeCheck.Ok(NativeMethods.ModelTensorCount(model, out var count), "count");
        using var f = SafetensorsFile.Open(Path.Combine(FixturePaths.Models("tiny-marian"), "model.safetensors"));
        var name = new byte[512];
        var shape = new long[4];
        for (var i = 0; i < count; i++)
        {
            int ndim;
            fixed (byte* nb = name)
            fixed (long* sp = shape)
                NativeCheck.Ok(NativeMethods.ModelTensorInfo(model, i, nb, name.Length, sp, out ndim), "info");
            var s = System.Text.Encoding.UTF8.GetString(name, 0, Array.IndexOf(name, (byte)0));
            var data = f.ReadAsFloat32(s);
            fixed (float* d = data)
            fixed (long* sp = shape)
                NativeCheck.Ok(NativeMethods.ModelSetTensor(model, s, d, sp, ndim), $"set {s}");
        }
        NativeCheck.Ok(NativeMethods.ModelFinalize(model), "finalize");
        NativeCheck.Ok(NativeMethods.ContextCreate(model, maxBatch, maxSeq, 0, 0, out var craw), "ctx");
        var ctx = new ContextHandle();
        ctx.Adopt(craw, model);
        return (model, ctx);
    }

    static float[] Forward(ContextHandle ctx, int batch, int ts, int tt, int[]? src, float[]? srcEmb, int[]? srcMask,
        int[]? tgt, float[]? tgtEmb, int[]? tgtMask)
    {
        var logits = new float[batch * tt * V];
        fixed (int* s = src)
        fixed (float* se = srcEmb)
        fixed (int* sm = srcMask)
        fixed (int* t = tgt)
        fixed (float* te = tgtEmb)
        fixed (int* tm = tgtMask)
        fixed (float* l = logits)
            NativeCheck.Ok(NativeMethods.Seq2SeqForward(ctx, batch, ts, tt, s, se, sm, t, te, tm, 1, l, 0),
                "inq_seq2seq_forward");
        return logits;
    }

    static void AssertRowsClose(float[] expected, float[] actual, int eOff, int aOff, int rows, string what)
    {
        for (var i = 0; i < rows; i++)
        {
            double maxRef = 0, maxErr = 0;
            for (var v = 0; v < V; v++)
            {
                var e = expected[eOff + i * V + v];
                maxRef = Math.Max(maxRef, Math.Abs(e));
                maxErr = Math.Max(maxErr, Math.Abs(e - actual[aOff + i * V + v]));
            }
            Assert.True(maxErr <= 1e-4 * maxRef, $"{what} row {i}: max |Δ| {maxErr:E3} vs max |ref| {maxRef:E3}");
        }
    }

    static List<(int[] Src, int[] Mask, int[] Tgt, float[] Logits)> Items()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(FixturePaths.Hf("tiny-marian")));
        return doc.RootElement.GetProperty("items").EnumerateArray().Select(it => (
            HfReference.Ints(it.GetProperty("input_ids")), HfReference.Ints(it.GetProperty("attention_mask")),
            HfReference.Ints(it.GetProperty("decoder_input_ids")),
            HfReference.DecodeTensor(it.GetProperty("logits")).Data)).ToList();
    }

    [Fact]
    public void Logits_match_transformers_for_every_item()
    {
        var (model, ctx) = Load();
        using (model)
        using (ctx)
        {
            var n = 0;
            foreach (var (src, mask, tgt, expected) in Items())
            {
                var logits = Forward(ctx, 1, src.Length, tgt.Length, src, null, mask, tgt, null, null);
                AssertRowsClose(expected, logits, 0, 0, tgt.Length, $"item {n++}");
            }
            Assert.Equal(3, n);
        }
    }

    [Fact]
    public void Scaled_embeddings_give_the_ids_logits()
    {
        var (model, ctx) = Load();
        using (model)
        using (ctx)
        {
            var (src, mask, tgt, _) = Items()[0];
            var byIds = Forward(ctx, 1, src.Length, tgt.Length, src, null, mask, tgt, null, null);
            float[] Embed(int[] ids)
            {
                var e = new float[ids.Length * C];
                fixed (int* p = ids)
                fixed (float* o = e)
                    NativeCheck.Ok(NativeMethods.EmbedTokens(ctx, p, ids.Length, o), "embed");
                for (var i = 0; i < e.Length; i++) e[i] *= MathF.Sqrt(C);
                return e;
            }
            var byEmb = Forward(ctx, 1, src.Length, tgt.Length, null, Embed(src), mask, null, Embed(tgt), null);
            Assert.Equal(byIds, byEmb);
        }
    }

    [Fact]
    public void Right_padded_batch_matches_single_rows()
    {
        var (model, ctx) = Load();
        using (model)
        using (ctx)
        {
            var items = Items();
            var (s0, _, t0, e0) = items[0];
            var (s1, _, t1, e1) = items[1];
            int ts = Math.Max(s0.Length, s1.Length), tt = Math.Max(t0.Length, t1.Length);
            var src = new int[2 * ts];
            var smask = new int[2 * ts];
            var tgt = new int[2 * tt];
            var tmask = new int[2 * tt];
            Array.Fill(src, 209);
            Array.Fill(tgt, 209);
            for (var i = 0; i < s0.Length; i++) { src[i] = s0[i]; smask[i] = 1; }
            for (var i = 0; i < s1.Length; i++) { src[ts + i] = s1[i]; smask[ts + i] = 1; }
            for (var i = 0; i < t0.Length; i++) { tgt[i] = t0[i]; tmask[i] = 1; }
            for (var i = 0; i < t1.Length; i++) { tgt[tt + i] = t1[i]; tmask[tt + i] = 1; }
            var logits = Forward(ctx, 2, ts, tt, src, null, smask, tgt, null, tmask);
            AssertRowsClose(e0, logits, 0, 0, t0.Length, "row 0");
            AssertRowsClose(e1, logits, 0, tt * V, t1.Length, "row 1");
        }
    }

    [Fact]
    public void Bad_arguments_are_refused_with_messages()
    {
        var (model, ctx) = Load(maxBatch: 1, maxSeq: 8);
        using (model)
        using (ctx)
        {
            int[] ids = [5, 6, 0];
            var logits = new float[3 * V];
            fixed (int* p = ids)
            fixed (float* l = logits)
            {
                Assert.Equal(4, NativeMethods.Seq2SeqForward(ctx, 1, 9, 3, p, null, null, p, null, null, 1, l, 0));
                Assert.Equal(4, NativeMethods.Seq2SeqForward(ctx, 2, 3, 3, p, null, null, p, null, null, 1, l, 0));
                Assert.Equal(2, NativeMethods.Seq2SeqForward(ctx, 1, 3, 3, null, null, null, p, null, null, 1, l, 0));
                Assert.Equal(1, NativeMethods.Seq2SeqForward(ctx, 1, 3, 3, p, null, null, p, null, null, 2, l, 0));
                Assert.Equal(1, NativeMethods.Seq2SeqForward(ctx, 1, 3, 3, p, null, null, p, null, null, 1, l, 8));
                // Keeping for backward needs a context with cotangent rows; a backward needs a kept forward.
                Assert.Equal(4, NativeMethods.Seq2SeqForward(ctx, 1, 3, 3, p, null, null, p, null, null, 1, l, 1));
                int pos = 0;
                Assert.Equal(8, NativeMethods.Seq2SeqBackward(ctx, 1, 1, &pos, l, null, null));
                Assert.Equal(8, NativeMethods.Seq2SeqCacheStep(ctx, 1, p, l));
                Assert.Equal(1, NativeMethods.Seq2SeqGetAttention(ctx, 5, 0, l));
                Assert.Equal(1, NativeMethods.Forward(ctx, 1, 3, p, null, null, 1, l, 0)); // decoder-only entry
            }
        }
    }
}
