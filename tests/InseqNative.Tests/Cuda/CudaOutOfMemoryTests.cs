using InseqNative.Interop;
using InseqNative.Loading;
using static InseqNative.Tests.Cuda.CudaTest;

namespace InseqNative.Tests.Cuda;

/// <summary>A context larger than the GPU: a typed <see cref="DeviceOutOfMemoryException"/> naming the requested and
/// free bytes, never an abort, and the model and device keep working with a smaller context afterwards.</summary>
public class CudaOutOfMemoryTests
{
    [Fact]
    public void A_context_larger_than_the_gpu_fails_typed_and_a_smaller_one_then_works()
    {
        RequireDevice();
        var config = ModelConfig.ForGpt2(layers: 2, heads: 4, hidden: 256, vocab: 1000, positions: 1024) with { EosTokenIds = [999] };
        using var model = TransformerModel.CreateRandom(config, 5, Device.Cuda(0), 0.05f);
        var ids = RandomInts(24, 1000, 9);
        var before = model.Logits([ids]).Data;

        var batch = BeyondTheGpu(model, 1024);
        var e = Assert.Throws<DeviceOutOfMemoryException>(() => model.CreateContext(batch, 1024, batch));
        Assert.Contains("out of device memory", e.Message);
        Assert.Contains("free of", e.Message);

        Assert.Equal(before, model.Logits([ids]).Data);
    }

    [Fact]
    public void The_engine_attributes_after_a_real_out_of_memory()
    {
        RequireDevice();
        var config = ModelConfig.ForGpt2(layers: 2, heads: 4, hidden: 64, vocab: 500, positions: 128) with { EosTokenIds = [499] };
        using var model = new InseqNative.Attribution.AttributionModel(TransformerModel.CreateRandom(config, 5, Device.Cuda(0), 0.1f));
        int[] prompt = RandomInts(8, 499, 1), target = [.. prompt, .. RandomInts(8, 499, 2)];
        var options = new InseqNative.Attribution.AttributeOptions { Method = "saliency" };
        var reference = model.AttributeIds([prompt], [target], options);
        var batch = BeyondTheGpu(model.Model, 128);
        Assert.Throws<DeviceOutOfMemoryException>(() => model.Model.CreateContext(batch, 128, batch));
        var again = model.AttributeIds([prompt], [target], options);
        Assert.Equal(reference.SequenceAttributions[0].TargetAttributions!.Data, again.SequenceAttributions[0].TargetAttributions!.Data);
    }

    /// <summary>A batch whose context (batch rows of seq tokens, as many cotangent rows) needs twice the GPU's memory.</summary>
    static int BeyondTheGpu(TransformerModel model, int seq)
    {
        var total = CudaDeviceInfo.Query(0).TotalBytes;
        var batch = 1;
        while (model.ContextMemoryBytes(batch, seq, batch) < 2 * total && (long)batch * seq < 1L << 29) batch *= 2;
        Assert.True(model.ContextMemoryBytes(batch, seq, batch) >= 2 * total, "could not size a context beyond the GPU");
        return batch;
    }
}
