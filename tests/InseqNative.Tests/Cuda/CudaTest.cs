using InseqNative.Interop;

namespace InseqNative.Tests.Cuda;

/// <summary>Shared by the CUDA tests: the skip when no device is usable, and the CPU-vs-CUDA comparisons.</summary>
public static class CudaTest
{
    public const int Device0 = 0;

    /// <summary>Skips the calling test (xunit v3 Assert.Skip) when the loaded native library has no usable CUDA
    /// device, saying why: CPU-only library, no GPU, or no driver.</summary>
    public static void RequireDevice()
    {
        var count = NativeInfo.CudaDeviceCount();
        if (count > 0) return;
        var path = NativeLibraryResolver.LoadedPath ?? "(not loaded)";
        var flavour = path.EndsWith("libinseqnative_cuda.so", StringComparison.Ordinal)
            ? "the CUDA flavour is loaded but sees no GPU or driver"
            : "the CPU-only library is loaded (libinseqnative_cuda.so is built when nvcc is found)";
        Assert.Skip($"no CUDA device: {flavour} ({path})");
    }

    /// <summary>Uniform values in ±scale, never exactly zero (a zero hides a missed multiply).</summary>
    public static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (var i = 0; i < n; i++)
        {
            var v = (float)((rng.NextDouble() * 2 - 1) * scale);
            a[i] = v == 0f ? scale * 0.5f : v;
        }
        return a;
    }

    public static int[] RandomInts(int n, int maxExclusive, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(maxExclusive)).ToArray();
    }

    /// <summary>
    /// Every element written (no NaN left from the poison unless the CPU has NaN there too) and
    /// |cuda - cpu| &lt;= rel * (|cpu| + rms(cpu)): relative per element, with the tensor's RMS as the floor so that
    /// elements near zero (where summation order dominates) are judged at the tensor's scale. Reports the first
    /// mismatches and the largest error.
    /// </summary>
    public static void AssertClose(float[] cpu, float[] cuda, double rel, string what)
    {
        Assert.Equal(cpu.Length, cuda.Length);
        double ss = 0;
        var finite = 0;
        foreach (var v in cpu)
            if (float.IsFinite(v)) { ss += (double)v * v; finite++; }
        var rms = finite > 0 ? Math.Sqrt(ss / finite) : 0;
        var bad = new List<string>();
        double worst = 0;
        var worstAt = -1;
        for (var i = 0; i < cpu.Length; i++)
        {
            double a = cpu[i], b = cuda[i];
            if (double.IsNaN(a) || double.IsNaN(b))
            {
                if (double.IsNaN(a) != double.IsNaN(b) && bad.Count < 8) bad.Add($"[{i}] cpu {a:R} cuda {b:R}");
                continue;
            }
            var err = Math.Abs(a - b) / (Math.Abs(a) + rms + 1e-30);
            if (err > worst) { worst = err; worstAt = i; }
            if (err > rel && bad.Count < 8) bad.Add($"[{i}] cpu {a:R} cuda {b:R} (rel {err:E2})");
        }
        Assert.True(bad.Count == 0,
            $"{what}: CUDA differs from CPU beyond {rel:E0} (worst {worst:E2} at [{worstAt}], rms {rms:E2}):\n  " +
            string.Join("\n  ", bad));
    }

    /// <summary>Largest |a - b| over the row, relative to the row's largest |a| (logits, gradients per cotangent).</summary>
    public static void AssertRowsClose(float[] cpu, float[] cuda, int rowLength, double rel, string what)
    {
        Assert.Equal(cpu.Length, cuda.Length);
        double worst = 0;
        var worstRow = -1;
        for (var r = 0; r < cpu.Length / rowLength; r++)
        {
            double max = 0, diff = 0;
            for (var i = r * rowLength; i < (r + 1) * rowLength; i++)
            {
                if (float.IsNaN(cpu[i]) || float.IsNaN(cuda[i]))
                {
                    Assert.True(float.IsNaN(cpu[i]) && float.IsNaN(cuda[i]), $"{what}: NaN layout differs at [{i}]");
                    continue;
                }
                max = Math.Max(max, Math.Abs(cpu[i]));
                diff = Math.Max(diff, Math.Abs(cpu[i] - cuda[i]));
            }
            var err = max > 0 ? diff / max : diff;
            if (err > worst) { worst = err; worstRow = r; }
        }
        Assert.True(worst <= rel, $"{what}: max|diff|/max|row| = {worst:E2} at row {worstRow} (tolerance {rel:E0})");
    }
}
