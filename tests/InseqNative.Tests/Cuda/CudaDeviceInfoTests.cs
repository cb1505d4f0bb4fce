using static InseqNative.Tests.Cuda.CudaTest;

namespace InseqNative.Tests.Cuda;

/// <summary>inq_cuda_device_info on a real GPU: the facts output metadata and the benchmark's peak lines rely on.</summary>
public class CudaDeviceInfoTests
{
    [Fact]
    public void Device_zero_reports_its_name_architecture_memory_and_versions()
    {
        RequireDevice();
        var info = CudaDeviceInfo.Query(0);
        Assert.False(string.IsNullOrWhiteSpace(info.Name));
        Assert.True(info.ComputeMajor >= 7, info.ToString());
        Assert.True(info.Multiprocessors > 0 && info.ClockMHz > 100, info.ToString());
        Assert.True(info.TotalBytes > 1L << 30 && info.FreeBytes > 0 && info.FreeBytes <= info.TotalBytes, info.ToString());
        Assert.NotEqual("none", info.DriverVersion);
        Assert.NotEqual("none", info.RuntimeVersion);
        Assert.True(info.PeakTflops(GemmPrecision.Fp32) is null or > 1, info.ToString());
    }

    [Fact]
    public void Cuda_output_metadata_names_the_gpu_and_its_driver()
    {
        RequireDevice();
        var config = InseqNative.Loading.ModelConfig.ForGpt2(layers: 1, heads: 2, hidden: 16, vocab: 40, positions: 32) with { EosTokenIds = [39] };
        using var model = new InseqNative.Attribution.AttributionModel(TransformerModel.CreateRandom(config, 1, Device.Cuda(0)));
        var output = model.AttributeIds([[1, 2, 3]], [[1, 2, 3, 4, 5]], new InseqNative.Attribution.AttributeOptions { Method = "saliency" });
        var name = output.Info["device_name"]?.GetValue<string>() ?? "";
        Assert.Contains(CudaDeviceInfo.Query(0).Name, name);
        Assert.Contains("driver CUDA", name);
        Assert.Equal("fp32", output.Info["gemm_precision"]?.GetValue<string>());
    }
}
