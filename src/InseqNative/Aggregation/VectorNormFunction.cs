namespace InseqNative.Aggregation;

/// <summary>Vector p-norm ("vnorm", torch.linalg.vector_norm; L2 by default). NaN propagates; ord = ∞ is the largest
/// magnitude, ord = 0 counts non-zero values.</summary>
public sealed class VectorNormFunction(double ord = 2) : AggregationFunction
{
    public double Ord { get; } = ord;

    public override string Name => "vnorm";

    public override float Reduce(ReadOnlySpan<float> values)
    {
        if (double.IsPositiveInfinity(Ord) || Ord == 0)
        {
            double acc = 0;
            foreach (float v in values)
            {
                if (float.IsNaN(v)) return float.NaN;
                acc = Ord == 0 ? acc + (v != 0 ? 1 : 0) : Math.Max(acc, Math.Abs(v));
            }
            return (float)acc;
        }
        if (Ord == 2)
        {
            double sq = 0;
            foreach (float v in values) sq += (double)v * v;
            return (float)Math.Sqrt(sq);
        }
        double sum = 0;
        foreach (float v in values) sum += Math.Pow(Math.Abs(v), Ord);
        return (float)Math.Pow(sum, 1 / Ord);
    }
}
