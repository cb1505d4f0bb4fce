using InseqNative.Interop;
using InseqNative.Loading;
using static InseqNative.Tests.Cuda.CudaTest;

namespace InseqNative.Tests.Cuda;

/// <summary>
/// INQ_CTX_TF32, the named opt-in fast mode: GEMMs on TF32 tensor cores (10-bit mantissa inputs), tested against the
/// fp32 reference with its own looser tolerance (1e-2 of each row's largest logit). The CPU ignores the flag.
/// </summary>
public unsafe class CudaPrecisionModeTests
{
    static float[] Logits(TransformerModel model, TokenBatch batch, int flags)
    {
        NativeCheck.Ok(NativeMethods.ContextCreate(model.Handle, batch.Batch, batch.Length, 0, flags, out var raw),
            "inq_context_create");
        using var ctx = new ContextHandle();
        ctx.Adopt(raw, model.Handle);
        var logits = new float[batch.Batch * batch.Length * model.Config.VocabSize];
        fixed (int* ids = batch.Ids)
        fixed (int* mask = batch.Mask)
        fixed (float* l = logits)
            NativeCheck.Ok(NativeMethods.Forward(ctx, batch.Batch, batch.Length, ids, null, mask,
                NativeMethods.LogitsAll, l, 0), "inq_forward");
        return logits;
    }

    static TransformerModel Model(Device device) =>
        TransformerModel.CreateRandom(
            ModelConfig.ForGpt2(layers: 2, heads: 4, hidden: 128, vocab: 500, positions: 64, activation: "gelu_new"),
            seed: 21, device, std: 0.1f);

    static TokenBatch Batch() => TokenBatch.LeftPadded([RandomInts(40, 500, 1), RandomInts(31, 500, 2)], 0);

    [Fact]
    public void The_cpu_ignores_the_tf32_flag()
    {
        using var model = Model(Device.Cpu);
        var batch = Batch();
        Assert.Equal(Logits(model, batch, 0), Logits(model, batch, NativeMethods.ContextTf32));
    }

    [Fact]
    public void Tf32_logits_stay_within_1e_2_of_fp32()
    {
        RequireDevice();
        using var model = Model(Device.Cuda(0));
        var batch = Batch();
        var fp32 = Logits(model, batch, 0);
        var tf32 = Logits(model, batch, NativeMethods.ContextTf32);
        AssertRowsClose(fp32, tf32, 500, 1e-2, "TF32 vs fp32 logits");
        Assert.Equal(tf32, Logits(model, batch, NativeMethods.ContextTf32));  // deterministic too
    }
}
