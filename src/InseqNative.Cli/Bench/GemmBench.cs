using System.Diagnostics;
using InseqNative.Interop;

namespace InseqNative.Bench;

/// <summary>GFLOP/s of the backend's GEMM on an n×n×n product (2n³ flops).</summary>
public static unsafe class GemmBench
{
    public static string Run(int n, Device device, int repeats)
    {
        var rng = new Random(3);
        var a = new float[n * n];
        var b = new float[n * n];
        var c = new float[n * n];
        for (var i = 0; i < a.Length; i++) { a[i] = (float)rng.NextDouble() - 0.5f; b[i] = (float)rng.NextDouble() - 0.5f; }
        var dev = device.Resolve();
        var best = double.MaxValue;
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            NativeCheck.Ok(NativeMethods.BenchGemm(dev, n, n, n, pa, pb, pc), "inq_bench_gemm");
            for (var r = 0; r < Math.Max(repeats, 3); r++)
            {
                var sw = Stopwatch.StartNew();
                NativeCheck.Ok(NativeMethods.BenchGemm(dev, n, n, n, pa, pb, pc), "inq_bench_gemm");
                best = Math.Min(best, sw.Elapsed.TotalSeconds);
            }
        }
        return $"GEMM {n}×{n}×{n} fp32: {2.0 * n * n * n / best / 1e9:0.0} GFLOP/s (best of {Math.Max(repeats, 3)}, {best * 1e3:0.0} ms)";
    }
}
