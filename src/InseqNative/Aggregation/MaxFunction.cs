namespace InseqNative.Aggregation;

/// <summary>Maximum ("max"); NaN if any value is NaN, as torch.max.</summary>
public sealed class MaxFunction : AggregationFunction
{
    public override string Name => "max";

    public override float Reduce(ReadOnlySpan<float> values)
    {
        float best = float.NegativeInfinity;
        foreach (float v in values)
        {
            if (float.IsNaN(v)) return float.NaN;
            if (v > best) best = v;
        }
        return best;
    }
}
