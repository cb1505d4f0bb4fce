namespace InseqNative.Tests.Native;

/// <summary>Checks an op's input backward against central finite differences of its forward: for a random cotangent
/// r, the analytic gradient must equal ∂⟨r, forward(x)⟩/∂x element by element (within a tolerance of the largest).</summary>
static class FiniteDifferences
{
    public static void Check(Func<float[], float[]> forward, float[] x, float[] cotangent, float[] analytic,
        string what, float eps = 1e-2f, double tolerance = 2e-3)
    {
        double maxRef = 0, maxErr = 0;
        var worst = -1;
        for (var i = 0; i < x.Length; i++)
        {
            var saved = x[i];
            x[i] = saved + eps;
            var plus = Dot(cotangent, forward(x));
            x[i] = saved - eps;
            var minus = Dot(cotangent, forward(x));
            x[i] = saved;
            var fd = (plus - minus) / (2 * eps);
            maxRef = Math.Max(maxRef, Math.Abs(fd));
            var err = Math.Abs(fd - analytic[i]);
            if (err > maxErr) { maxErr = err; worst = i; }
        }
        Assert.True(maxRef > 0, $"{what}: the gradient is identically zero, so the check would prove nothing");
        Assert.True(maxErr <= tolerance * maxRef + 1e-6,
            $"{what}: max |analytic − FD| {maxErr:E3} at {worst} vs max |FD| {maxRef:E3}");
    }

    static double Dot(float[] a, float[] b)
    {
        double s = 0;
        for (var i = 0; i < a.Length; i++) s += (double)a[i] * b[i];
        return s;
    }
}
