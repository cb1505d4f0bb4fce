namespace InseqNative.Aggregation;

/// <summary>
/// Column-wise scaling of attribution matrices. Source and target rows are treated as one column (Inseq concatenates
/// them before normalizing); NaN entries are ignored and stay NaN.
/// </summary>
public static class ScoreNormalization
{
    /// <summary>Divides every step column (and every extra-dimension slice) by the sum of its absolute values over all
    /// rows of <paramref name="source"/> and <paramref name="target"/> together (L1 normalization, NaN ignored). Columns
    /// that sum to 0 are left as they are.</summary>
    public static (Tensor? Source, Tensor? Target) Normalize(Tensor? source, Tensor? target) =>
        ScaleColumns(source, target, (acc, v) => acc + Math.Abs(v));

    /// <summary>Divides every column by its largest absolute value (NaN ignored), so scores lie in [−1, 1].</summary>
    public static (Tensor? Source, Tensor? Target) Rescale(Tensor? source, Tensor? target) =>
        ScaleColumns(source, target, (acc, v) => Math.Max(acc, Math.Abs(v)));

    static (Tensor?, Tensor?) ScaleColumns(Tensor? source, Tensor? target, Func<double, float, double> accumulate)
    {
        var any = source ?? target;
        if (any is null) return (null, null);
        long columns = any.Length / any.Shape[0];
        var totals = new double[columns];
        foreach (var t in new[] { source, target })
        {
            if (t is null) continue;
            for (long i = 0; i < t.Length; i++)
            {
                float v = t.Data[i];
                if (!float.IsNaN(v)) totals[i % columns] = accumulate(totals[i % columns], v);
            }
        }
        Tensor? Scale(Tensor? t)
        {
            if (t is null) return null;
            var result = t.Clone();
            for (long i = 0; i < result.Length; i++)
            {
                double total = totals[i % columns];
                if (total != 0) result.Data[i] = (float)(result.Data[i] / total);
            }
            return result;
        }
        return (Scale(source), Scale(target));
    }
}
