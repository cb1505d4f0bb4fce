namespace InseqNative;

/// <summary>
/// The first half of Inseq's default aggregation of granular attributions, computed where the gradients are
/// (DESIGN §5.6): for every (row, step) cell of a [rows, steps, hidden] gradient sum, v = g (⊙ the row's multiplier,
/// e.g. IG's x − baseline or input × gradient's x) rounded to float per element, then the L2 norm over the hidden
/// units and their plain sum (IG's convergence deltas), both accumulated in double in order. The norm is what
/// <see cref="Aggregation.VectorNormFunction"/> gives on the granular tensor, bit for bit on the CPU.
/// </summary>
public sealed class HiddenReduction(int rows, int steps, Tensor? multipliers, bool withSums)
{
    public int Rows { get; } = rows;
    public int Steps { get; } = steps;
    /// <summary>[rows, hidden] or null.</summary>
    public Tensor? Multipliers { get; } = multipliers;
    /// <summary>[rows × steps] out: the cells' L2 norms, row-major (row, then step).</summary>
    public float[] L2 { get; } = new float[rows * steps];
    /// <summary>[rows × steps] out, or null when not asked for: the cells' sums.</summary>
    public float[]? Sums { get; } = withSums ? new float[rows * steps] : null;

    internal void Check(int rows, int steps, int hidden)
    {
        if (rows != Rows || steps != Steps)
            throw new InvalidInputException($"reduction of [{Rows}, {Steps}] cells for an accumulator of [{rows}, {steps}]");
        if (Multipliers is not null && (Multipliers.Length != (long)rows * hidden))
            throw new InvalidInputException($"reduction multipliers must be [{rows}, {hidden}], got [{string.Join(", ", Multipliers.Shape)}]");
    }

    /// <summary>The same reduction of a granular tensor [rows, steps, hidden] on the host (the reference, and the
    /// path of runners that accumulate on the host).</summary>
    public void ApplyOnHost(Tensor granular)
    {
        var c = granular.Dim(2);
        Check(granular.Dim(0), granular.Dim(1), c);
        var a = granular.Data;
        var m = Multipliers?.Data;
        for (var cell = 0; cell < Rows * Steps; cell++)
        {
            var offset = cell * c;
            var mOffset = cell / Steps * c;
            double sq = 0, s = 0;
            for (var h = 0; h < c; h++)
            {
                var v = m is null ? a[offset + h] : a[offset + h] * m[mOffset + h];
                sq += (double)v * v;
                s += v;
            }
            L2[cell] = (float)Math.Sqrt(sq);
            if (Sums is not null) Sums[cell] = (float)s;
        }
    }
}
