namespace InseqNative.Aggregation;

/// <summary>The value of largest magnitude with its sign kept ("absmax": [0.3, −0.7, 0.1] → −0.7); the first one on
/// ties, NaN if any value is NaN (torch's argmax picks NaN).</summary>
public sealed class AbsMaxFunction : AggregationFunction
{
    public override string Name => "absmax";

    public override float Reduce(ReadOnlySpan<float> values)
    {
        float best = values[0];
        foreach (float v in values)
        {
            if (float.IsNaN(v)) return float.NaN;
            if (Math.Abs(v) > Math.Abs(best)) best = v;
        }
        return best;
    }
}
