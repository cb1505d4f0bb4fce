namespace InseqNative.Aggregation;

/// <summary>Sum ("sum"); accumulates in double.</summary>
public sealed class SumFunction : AggregationFunction
{
    public override string Name => "sum";

    public override float Reduce(ReadOnlySpan<float> values)
    {
        double sum = 0;
        foreach (float v in values) sum += v;
        return (float)sum;
    }
}
