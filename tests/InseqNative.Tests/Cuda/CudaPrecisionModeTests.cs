using InseqNative.Interop;
using InseqNative.Loading;
using static InseqNative.Tests.Cuda.CudaTest;

namespace InseqNative.Tests.Cuda;

/// <summary>
/// INQ_CTX_TF32 and INQ_CTX_BF16, the named opt-in fast modes: GEMMs on TF32 (10-bit mantissa operands) or BF16
/// (7-bit) tensor cores, tested against the fp32 reference with their own looser tolerances (1e-2 and 5e-2 of each
/// row's largest logit). The CPU ignores the flags.
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
        Assert.Equal(Logits(model, batch, 0), Logits(model, batch, NativeMethods.ContextBf16));
    }

    [Fact]
    public void Bf16_logits_stay_within_5e_2_of_fp32_and_differ_from_tf32()
    {
        RequireDevice();
        using var model = Model(Device.Cuda(0));
        var batch = Batch();
        var fp32 = Logits(model, batch, 0);
        var bf16 = Logits(model, batch, NativeMethods.ContextBf16);
        AssertRowsClose(fp32, bf16, 500, 5e-2, "BF16 vs fp32 logits");
        Assert.Equal(bf16, Logits(model, batch, NativeMethods.ContextBf16));  // deterministic
        Assert.NotEqual(bf16, Logits(model, batch, NativeMethods.ContextTf32));  // the mode really changed the GEMMs
    }

    [Fact]
    public void A_tf32_model_attributes_close_to_the_fp32_model()
    {
        RequireDevice();
        var config = ModelConfig.ForGpt2(layers: 2, heads: 4, hidden: 128, vocab: 500, positions: 64, activation: "gelu_new")
            with { EosTokenIds = [499] };
        using var fp32 = new InseqNative.Attribution.AttributionModel(TransformerModel.CreateRandom(config, 21, Device.Cuda(0), 0.1f));
        using var tf32 = new InseqNative.Attribution.AttributionModel(
            TransformerModel.CreateRandom(config, 21, Device.Cuda(0), 0.1f, GemmPrecision.Tf32));
        Assert.Equal(GemmPrecision.Tf32, tf32.Model.Precision);
        int[] prompt = RandomInts(12, 499, 5), target = [.. prompt, .. RandomInts(6, 499, 6)];
        var options = new InseqNative.Attribution.AttributeOptions { Method = "input_x_gradient" };
        var a = fp32.AttributeIds([prompt], [target], options);
        var b = tf32.AttributeIds([prompt], [target], options);
        Assert.Equal("tf32", b.Info["gemm_precision"]?.GetValue<string>());
        var x = a.SequenceAttributions[0].TargetAttributions!.Data;
        var y = b.SequenceAttributions[0].TargetAttributions!.Data;
        var scale = x.Max(Math.Abs);
        for (var i = 0; i < x.Length; i++) Assert.True(Math.Abs(x[i] - y[i]) <= 2e-2 * scale, $"element {i}: {x[i]} vs {y[i]}");
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
