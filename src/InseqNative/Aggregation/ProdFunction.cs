namespace InseqNative.Aggregation;

/// <summary>Product ("prod"), e.g. the probability of a merged span of tokens.</summary>
public sealed class ProdFunction : AggregationFunction
{
    public override string Name => "prod";

    public override float Reduce(ReadOnlySpan<float> values)
    {
        double product = 1;
        foreach (float v in values) product *= v;
        return (float)product;
    }
}
