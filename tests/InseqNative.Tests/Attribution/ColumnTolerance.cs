namespace InseqNative.Tests.Attribution;

/// <summary>The fixtures README's attribution tolerance: per step column, max|Δ| ≤ rel · max|reference column|
/// (source and target rows together), NaN positions identical.</summary>
public static class ColumnTolerance
{
    public static void Check(Tensor? expectedSource, Tensor? expectedTarget, Tensor? actualSource, Tensor? actualTarget,
        double rel, string what)
    {
        Assert.Equal(expectedSource is null, actualSource is null);
        Assert.Equal(expectedTarget is null, actualTarget is null);
        var any = expectedTarget ?? expectedSource;
        if (any is null) return;
        if (expectedSource is not null) Assert.Equal(expectedSource.Shape, actualSource!.Shape);
        if (expectedTarget is not null) Assert.Equal(expectedTarget.Shape, actualTarget!.Shape);
        var steps = any.Dim(1);
        var inner = 1;
        for (var d = 2; d < any.Rank; d++) inner *= any.Shape[d];
        for (var k = 0; k < steps; k++)
        {
            double maxRef = 0, maxErr = 0;
            string worst = "";
            foreach (var (e, a, side) in new[] { (expectedSource, actualSource, "source"), (expectedTarget, actualTarget, "target") })
            {
                if (e is null) continue;
                for (var j = 0; j < e.Dim(0); j++)
                    for (var i = 0; i < inner; i++)
                    {
                        var ev = e.Data[(j * steps + k) * inner + i];
                        var av = a!.Data[(j * steps + k) * inner + i];
                        if (float.IsNaN(ev) || float.IsNaN(av))
                        {
                            Assert.True(float.IsNaN(ev) && float.IsNaN(av),
                                $"{what}: {side}[{j}, {k}, {i}] NaN layout differs (expected {ev}, got {av})");
                            continue;
                        }
                        maxRef = Math.Max(maxRef, Math.Abs(ev));
                        var err = Math.Abs((double)ev - av);
                        if (err > maxErr) { maxErr = err; worst = $"{side}[{j}, {k}, {i}] expected {ev:R} got {av:R}"; }
                    }
            }
            Assert.True(maxErr <= rel * maxRef + 1e-12, $"{what}: step {k} max |Δ| {maxErr:E3} > {rel:E0}·{maxRef:E3} ({worst})");
        }
    }
}
