namespace InseqNative.Aggregation;

/// <summary>Arithmetic mean ("mean"); accumulates in double.</summary>
public sealed class MeanFunction : AggregationFunction
{
    public override string Name => "mean";

    public override float Reduce(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values) sum += v;
        return (float)(sum / values.Length);
    }
}
