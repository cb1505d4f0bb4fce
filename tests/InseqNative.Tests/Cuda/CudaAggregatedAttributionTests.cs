using InseqNative.Attribution;
using InseqNative.Loading;
using InseqNative.Outputs;
using InseqNative.Tests.Native;
using static InseqNative.Tests.Cuda.CudaTest;

namespace InseqNative.Tests.Cuda;

/// <summary>
/// The aggregated output on CUDA device 0 (GranularAttributions = false: the hidden-unit norms computed on the GPU by
/// grad_reduce): the op gives the CPU's bits; each gradient method's aggregated output equals the aggregated granular
/// output of the same CUDA model (the same device gradients reduced on the host) and the CPU's within 1e-4, and a
/// second run is bitwise identical. Skipped without a CUDA device.
/// </summary>
public class CudaAggregatedAttributionTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Op_grad_reduce_gives_the_cpu_bits(bool withMul)
    {
        RequireDevice();
        int t = 9, k = 7, c = 33;
        var acc = NativeOps.Random(t * k * c, 11);
        var mul = withMul ? NativeOps.Random(t * c, 12) : null;
        float[] l2Cpu = new float[t * k], sumCpu = new float[t * k], l2Cuda = new float[t * k], sumCuda = new float[t * k];
        GradAccumulatorTests.RunInPlace("grad_reduce", [t, k, c], [acc, mul], [l2Cpu, sumCpu]);
        GradAccumulatorTests.RunInPlace("grad_reduce", [t, k, c], [acc, mul], [l2Cuda, sumCuda], Device0);
        Assert.Equal(l2Cpu, l2Cuda);
        Assert.Equal(sumCpu, sumCuda);
    }

    [Theory]
    [InlineData("saliency", "{}")]
    [InlineData("input_x_gradient", "{}")]
    [InlineData("integrated_gradients", "{\"n_steps\": 9}")]
    [InlineData("gradient_shap", "{\"n_samples\": 4, \"stdevs\": 0.1}")]
    public void Aggregated_output_on_cuda_matches_the_aggregated_granular_output_and_the_cpu(string method, string args)
    {
        RequireDevice();
        var config = ModelConfig.ForGpt2(layers: 2, heads: 2, hidden: 32, vocab: 53, positions: 32, eosTokenId: 52);
        int[] prompt = [3, 9, 27, 4], target = [3, 9, 27, 4, 18, 40, 7, 22];
        AttributeOptions Options(bool granular) => InseqArguments.ToOptions(new Dictionary<string, object?>
        {
            ["method"] = method,
            ["attribution_args"] = InseqArguments.ParseJsonObject(args, "args"),
        }) with { GranularAttributions = granular };
        float[] Aggregated(Device device, bool granular)
        {
            using var model = new AttributionModel(TransformerModel.CreateRandom(config, 5, device, 0.3f));
            var o = model.AttributeIds([prompt], [target], Options(granular));
            var s = granular ? o.SequenceAttributions[0].Aggregate() : o.SequenceAttributions[0];
            Assert.Equal(SequenceOutputKind.Base, s.Kind);
            return s.TargetAttributions!.Data;
        }
        var cuda = Aggregated(Device.Cuda(0), granular: false);
        Assert.Equal(cuda, Aggregated(Device.Cuda(0), granular: false));  // deterministic
        AssertClose(Aggregated(Device.Cuda(0), granular: true), cuda, 1e-5, $"{method}: GPU norms vs host norms of GPU gradients");
        AssertClose(Aggregated(Device.Cpu, granular: false), cuda, 1e-4, $"{method}: CUDA vs CPU");
    }
}
