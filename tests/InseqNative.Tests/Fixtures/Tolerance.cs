namespace InseqNative.Tests.Fixtures;

/// <summary>The fixtures README's tolerances, with messages that show the first mismatch and the worst error.</summary>
public static class Tolerance
{
    /// <summary>Per row: max|Δ| ≤ rel · max|reference row|.</summary>
    public static void RowsClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, int rowLength, double rel,
        string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var r = 0; r < expected.Length / rowLength; r++)
        {
            var e = expected.Slice(r * rowLength, rowLength);
            var a = actual.Slice(r * rowLength, rowLength);
            double maxRef = 0, maxErr = 0;
            var worst = 0;
            for (var i = 0; i < rowLength; i++)
            {
                maxRef = Math.Max(maxRef, Math.Abs(e[i]));
                var err = Math.Abs((double)e[i] - a[i]);
                if (!(err <= maxErr)) { maxErr = err; worst = i; }
            }
            if (!(maxErr <= rel * maxRef))
                Assert.Fail($"{what}: row {r} max |Δ| {maxErr:E3} > {rel:E0}·{maxRef:E3} at column {worst} " +
                            $"(expected {e[worst]:R}, got {a[worst]:R})");
        }
    }
}
