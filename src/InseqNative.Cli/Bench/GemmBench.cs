using InseqNative.Interop;

namespace InseqNative.Bench;

/// <summary>FLOP/s of the backend's GEMM on an n×n×n product (2n³ flops) in the model's GEMM mode, timed inside the
/// library (operands already on the device, device work finished, copies excluded), against the nominal peak on CUDA.</summary>
public static unsafe class GemmBench
{
    public static string Run(int n, Device device, GemmPrecision precision, int repeats)
    {
        var rng = new Random(3);
        var a = new float[n * n];
        var b = new float[n * n];
        var c = new float[n * n];
        for (var i = 0; i < a.Length; i++) { a[i] = (float)rng.NextDouble() - 0.5f; b[i] = (float)rng.NextDouble() - 0.5f; }
        var dev = device.Resolve();
        var count = Math.Max(repeats, 3);
        double seconds;
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
            NativeCheck.Ok(NativeMethods.BenchGemm(dev, n, n, n, precision.ContextFlagValue(), count, pa, pb, pc, out seconds),
                "inq_bench_gemm");
        var tflops = 2.0 * n * n * n / seconds / 1e12;
        var peak = dev >= 0 ? CudaDeviceInfo.Query(dev).PeakTflops(precision) : null;
        return $"GEMM {n}×{n}×{n} {precision.Id()}: {tflops * 1e3:0.0} GFLOP/s (mean of {count} after a warm-up, {seconds * 1e3:0.00} ms each)" +
               (peak is { } p ? $", {100 * tflops / p:0.0}% of the nominal {p:0.0} TFLOP/s" : "");
    }
}
