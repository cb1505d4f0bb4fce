namespace InseqNative.Aggregation;

/// <summary>Minimum ("min"); NaN if any value is NaN, as torch.min.</summary>
public sealed class MinFunction : AggregationFunction
{
    public override string Name => "min";

    public override float Reduce(ReadOnlySpan<float> values)
    {
        float best = float.PositiveInfinity;
        foreach (float v in values)
        {
            if (float.IsNaN(v)) return float.NaN;
            if (v < best) best = v;
        }
        return best;
    }
}
