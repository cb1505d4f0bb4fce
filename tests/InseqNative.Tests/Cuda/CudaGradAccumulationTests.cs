using InseqNative.Attribution;
using InseqNative.Loading;
using InseqNative.Outputs;
using InseqNative.Tests.Loading;
using InseqNative.Tests.Native;
using static InseqNative.Tests.Cuda.CudaTest;

namespace InseqNative.Tests.Cuda;

/// <summary>
/// Granular gradient accumulation on CUDA device 0: the op grad_accumulate gives the CPU's bits (every product and sum
/// rounded, no FMA), and integrated_gradients / gradient_shap accumulated on the device equal the host loop over the
/// same device gradients bitwise, and the CPU within 1e-4; a second run is bitwise identical. Skipped without a CUDA
/// device.
/// </summary>
public class CudaGradAccumulationTests
{
    const double Rel = 1e-4;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Op_grad_accumulate_gives_the_cpu_bits(bool withMul)
    {
        RequireDevice();
        var op = GradAccumulatorTests.OpCase.Make(withMul, 21);
        var cpu = (float[])op.Acc.Clone();
        var cuda = (float[])op.Acc.Clone();
        GradAccumulatorTests.RunInPlace("grad_accumulate", op.Dims, op.Inputs, [cpu]);
        GradAccumulatorTests.RunInPlace("grad_accumulate", op.Dims, op.Inputs, [cuda], Device0);
        Assert.Equal(cpu, cuda);
    }

    static AttributeOptions Options(string method, string args, bool host, bool attributeTarget = false) =>
        InseqArguments.ToOptions(new Dictionary<string, object?>
        {
            ["method"] = method,
            ["attribution_args"] = InseqArguments.ParseJsonObject(args, "args"),
            ["strategy"] = "Fused",
        }) with { HostGradientAccumulation = host, AttributeTarget = attributeTarget };

    static float[] Granular(FeatureAttributionOutput o)
    {
        var s = o.SequenceAttributions[0];
        return [.. s.SourceAttributions?.Data ?? [], .. s.TargetAttributions?.Data ?? []];
    }

    public static TheoryData<string, string> Methods() => new()
    {
        { "integrated_gradients", "{\"n_steps\": 9}" },
        { "gradient_shap", "{\"n_samples\": 4, \"stdevs\": 0.1}" },
        { "layer_integrated_gradients", "{\"layer\": \"transformer.h.1\", \"n_steps\": 6}" },
    };

    [Theory]
    [MemberData(nameof(Methods))]
    public void Decoder_only_device_accumulation_matches_the_host_loop_and_the_cpu(string method, string args)
    {
        RequireDevice();
        var config = ModelConfig.ForGpt2(layers: 2, heads: 2, hidden: 32, vocab: 53, positions: 32, eosTokenId: 52);
        using var cpu = new AttributionModel(TransformerModel.CreateRandom(config, 8, Device.Cpu, 0.2f));
        using var cuda = new AttributionModel(TransformerModel.CreateRandom(config, 8, Device.Cuda(Device0), 0.2f));
        int[] prompt = [3, 14, 15, 9, 26];
        int[] target = [3, 14, 15, 9, 26, 5, 35, 8, 9, 7, 9, 3];
        var device = Granular(cuda.AttributeIds([prompt], [target], Options(method, args, host: false)));
        var host = Granular(cuda.AttributeIds([prompt], [target], Options(method, args, host: true)));
        var again = Granular(cuda.AttributeIds([prompt], [target], Options(method, args, host: false)));
        var reference = Granular(cpu.AttributeIds([prompt], [target], Options(method, args, host: false)));
        Assert.Equal(host, device);
        Assert.Equal(device, again);
        AssertClose(reference, device, Rel, $"{method} CPU vs CUDA");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Encoder_decoder_device_accumulation_matches_the_host_loop_and_the_cpu(bool attributeTarget)
    {
        RequireDevice();
        using var cpu = new AttributionModel(TransformerModel.Load(FixturePaths.Models("tiny-marian"), Device.Cpu));
        using var cuda = new AttributionModel(TransformerModel.Load(FixturePaths.Models("tiny-marian"), Device.Cuda(Device0)));
        var config = cpu.Model.Config;
        var start = config.DecoderStartTokenId ?? config.PadTokenId ?? 0;
        int[] source = [.. RandomInts(7, config.VocabSize - 3, 31).Select(i => i + 3)];
        int[] target = [start, .. RandomInts(5, config.VocabSize - 3, 32).Select(i => i + 3)];
        foreach (var (method, args) in new[] { ("integrated_gradients", "{\"n_steps\": 6}"), ("gradient_shap", "{\"n_samples\": 3}") })
        {
            var device = Granular(cuda.AttributeIds([source], [target], Options(method, args, false, attributeTarget)));
            var host = Granular(cuda.AttributeIds([source], [target], Options(method, args, true, attributeTarget)));
            var reference = Granular(cpu.AttributeIds([source], [target], Options(method, args, false, attributeTarget)));
            Assert.Equal(host, device);
            AssertClose(reference, device, Rel, $"{method} attribute_target={attributeTarget} CPU vs CUDA");
        }
    }
}
