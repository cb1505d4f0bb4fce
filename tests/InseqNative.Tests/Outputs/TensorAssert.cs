namespace InseqNative.Tests.Outputs;

/// <summary>Comparisons with the fixtures README's tolerances: per step column (dimension 1, every row and extra index,
/// source and target rows together) max|Δ| ≤ rel · max|reference column|, NaN masks identical.</summary>
public static class TensorAssert
{
    public static void ColumnsClose(Tensor? expectedSource, Tensor? expectedTarget, Tensor? actualSource,
        Tensor? actualTarget, double rel, string what)
    {
        Assert.True((expectedSource is null) == (actualSource is null), $"{what}: source attributions presence differs");
        Assert.True((expectedTarget is null) == (actualTarget is null), $"{what}: target attributions presence differs");
        var pairs = new[] { (expectedSource, actualSource, "source"), (expectedTarget, actualTarget, "target") }
            .Where(p => p.Item1 is not null).ToArray();
        foreach (var (e, a, side) in pairs)
            Assert.True(e!.Shape.SequenceEqual(a!.Shape),
                $"{what}: {side} shape [{string.Join(", ", a.Shape)}], expected [{string.Join(", ", e.Shape)}]");
        if (pairs.Length == 0) return;
        int steps = pairs[0].Item1!.Shape[1];
        for (int k = 0; k < steps; k++)
        {
            double maxRef = 0, maxErr = 0;
            string worst = "";
            foreach (var (e, a, side) in pairs)
            {
                int inner = (int)(e!.Length / e.Shape[0] / steps);
                for (int r = 0; r < e.Shape[0]; r++)
                    for (int n = 0; n < inner; n++)
                    {
                        long i = ((long)r * steps + k) * inner + n;
                        float x = e.Data[i], y = a!.Data[i];
                        if (float.IsNaN(x) != float.IsNaN(y))
                            Assert.Fail($"{what}: {side}[{r}, {k}, {n}] NaN mask differs (expected {x}, got {y})");
                        if (float.IsNaN(x)) continue;
                        maxRef = Math.Max(maxRef, Math.Abs(x));
                        double err = Math.Abs((double)x - y);
                        if (err > maxErr) { maxErr = err; worst = $"{side}[{r}, {k}, {n}] expected {x:R} got {y:R}"; }
                    }
            }
            if (!(maxErr <= rel * maxRef))
                Assert.Fail($"{what}: column {k} max |Δ| {maxErr:E3} > {rel:E0}·{maxRef:E3} at {worst}");
        }
    }

    /// <summary>Whole tensor: max|Δ| ≤ rel · max|reference|, NaN mask identical.</summary>
    public static void Close(Tensor expected, Tensor actual, double rel, string what)
    {
        Assert.True(expected.Shape.SequenceEqual(actual.Shape),
            $"{what}: shape [{string.Join(", ", actual.Shape)}], expected [{string.Join(", ", expected.Shape)}]");
        double maxRef = 0, maxErr = 0;
        for (long i = 0; i < expected.Length; i++)
        {
            float x = expected.Data[i], y = actual.Data[i];
            Assert.True(float.IsNaN(x) == float.IsNaN(y), $"{what}: NaN mask differs at flat index {i} ({x} vs {y})");
            if (float.IsNaN(x)) continue;
            maxRef = Math.Max(maxRef, Math.Abs(x));
            maxErr = Math.Max(maxErr, Math.Abs((double)x - y));
        }
        Assert.True(maxErr <= rel * maxRef, $"{what}: max |Δ| {maxErr:E3} > {rel:E0}·{maxRef:E3}");
    }

    /// <summary>Element-wise relative: |Δ| ≤ rel · |reference| (step scores).</summary>
    public static void Relative(Tensor expected, Tensor actual, double rel, string what)
    {
        Assert.True(expected.Shape.SequenceEqual(actual.Shape), $"{what}: shapes differ");
        for (long i = 0; i < expected.Length; i++)
        {
            float x = expected.Data[i], y = actual.Data[i];
            Assert.True(float.IsNaN(x) == float.IsNaN(y), $"{what}[{i}]: NaN mask differs");
            if (!float.IsNaN(x))
                Assert.True(Math.Abs((double)x - y) <= rel * Math.Abs(x), $"{what}[{i}]: expected {x:R}, got {y:R}");
        }
    }
}
