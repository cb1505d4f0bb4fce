using InseqNative.Attribution;
using InseqNative.Interop;
using InseqNative.Loading;

namespace InseqNative.Tests.Model;

/// <summary>The GEMM precision option (fp32 reference, TF32/BF16 opt-in on CUDA), the device facts in output metadata
/// and the GEMM benchmark entry point, on whatever the loaded library offers (CPU here; the CUDA cases run in
/// tests/Cuda on a GPU).</summary>
public unsafe class GemmPrecisionAndDeviceInfoTests
{
    static ModelConfig Config() =>
        ModelConfig.ForGpt2(layers: 1, heads: 2, hidden: 16, vocab: 40, positions: 32) with { EosTokenIds = [39] };

    [Theory]
    [InlineData("fp32", GemmPrecision.Fp32)]
    [InlineData(" TF32", GemmPrecision.Tf32)]
    [InlineData("bfloat16", GemmPrecision.Bf16)]
    public void Precision_names_parse(string text, GemmPrecision expected) =>
        Assert.Equal(expected, GemmPrecisionExtensions.Parse(text));

    [Fact]
    public void An_unknown_precision_is_a_typed_error_naming_it()
    {
        var e = Assert.Throws<InvalidInputException>(() => GemmPrecisionExtensions.Parse("fp8"));
        Assert.Contains("fp8", e.Message);
    }

    [Theory]
    [InlineData(GemmPrecision.Tf32)]
    [InlineData(GemmPrecision.Bf16)]
    public void Tensor_core_modes_on_an_explicit_cpu_are_refused(GemmPrecision precision)
    {
        var e = Assert.Throws<InvalidInputException>(() => TransformerModel.CreateRandom(Config(), 1, Device.Cpu, precision: precision));
        Assert.Contains(precision.Id(), e.Message);
        Assert.Contains("CPU", e.Message);
    }

    [Fact]
    public void Auto_reports_the_precision_that_runs()
    {
        using var model = TransformerModel.CreateRandom(Config(), 1, Device.Auto, precision: GemmPrecision.Tf32);
        var expected = model.Device.Kind == DeviceKind.Cuda ? GemmPrecision.Tf32 : GemmPrecision.Fp32;
        Assert.Equal(expected, model.Precision);
    }

    [Fact]
    public void Both_tensor_core_flags_on_one_context_are_refused()
    {
        using var model = TransformerModel.CreateRandom(Config(), 1, Device.Cpu);
        var status = NativeMethods.ContextCreate(model.Handle, 1, 8, 0, NativeMethods.ContextTf32 | NativeMethods.ContextBf16, out _);
        Assert.Equal((int)NativeStatus.InvalidArgument, status);
        Assert.Contains("INQ_CTX_BF16", NativeMethods.LastErrorMessage());
    }

    [Fact]
    public void Output_metadata_names_the_device_and_the_gemm_precision()
    {
        using var model = new AttributionModel(TransformerModel.CreateRandom(Config(), 1, Device.Cpu));
        var output = model.AttributeIds([[1, 2, 3]], [[1, 2, 3, 4, 5]], new AttributeOptions { Method = "saliency" });
        Assert.Equal("fp32", output.Info["gemm_precision"]?.GetValue<string>());
        Assert.Equal("cpu", output.Info["device_name"]?.GetValue<string>());
        Assert.Contains("abi 6", output.Info["native_build"]?.GetValue<string>());
    }

    [Fact]
    public void Device_info_without_that_cuda_device_is_a_typed_error()
    {
        var count = NativeInfo.CudaDeviceCount();
        var e = Assert.Throws<DeviceUnavailableException>(() => CudaDeviceInfo.Query(count));
        Assert.Contains($"{count}", e.Message);
    }

    [Fact]
    public void Device_info_checks_the_struct_size()
    {
        var info = new NativeDeviceInfo { StructSize = sizeof(NativeDeviceInfo) - 8 };
        Assert.Equal((int)NativeStatus.InvalidArgument, NativeMethods.CudaDeviceInfo(0, &info));
        Assert.Contains("struct_size", NativeMethods.LastErrorMessage());
        // The right size passes the check (and then reports the device or why there is none).
        info.StructSize = sizeof(NativeDeviceInfo);
        NativeMethods.CudaDeviceInfo(0, &info);
        Assert.DoesNotContain("struct_size", NativeMethods.LastErrorMessage());
    }

    [Fact]
    public void The_gemm_benchmark_computes_the_product_and_times_it()
    {
        const int m = 33, k = 17, n = 45;
        var a = Enumerable.Range(0, m * k).Select(i => (float)Math.Sin(i + 1)).ToArray();
        var b = Enumerable.Range(0, k * n).Select(i => (float)Math.Cos(i + 2)).ToArray();
        var c = new float[m * n];
        double seconds;
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
            NativeCheck.Ok(NativeMethods.BenchGemm(NativeMethods.DeviceCpu, m, n, k, 0, 2, pa, pb, pc, out seconds), "inq_bench_gemm");
        Assert.True(seconds > 0);
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            {
                double want = 0;
                for (var p = 0; p < k; p++) want += (double)a[i * k + p] * b[p * n + j];
                Assert.True(Math.Abs(c[i * n + j] - want) <= 1e-4 * (1 + Math.Abs(want)), $"C[{i},{j}] = {c[i * n + j]}, want {want}");
            }
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            Assert.Equal((int)NativeStatus.InvalidArgument, NativeMethods.BenchGemm(NativeMethods.DeviceCpu, m, n, k, 1, 2, pa, pb, pc, out _));
            Assert.Equal((int)NativeStatus.InvalidArgument, NativeMethods.BenchGemm(NativeMethods.DeviceCpu, m, n, k, 0, 0, pa, pb, pc, out _));
        }
    }
}
