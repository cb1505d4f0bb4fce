using InseqNative.Outputs;

namespace InseqNative.Aggregation;

/// <summary>
/// Inseq's default aggregation per output class, computed from the output itself (never global state):
/// Granular → L2 norm over the hidden dimension, then L1-normalize each step column over source + target rows;
/// MultiDimensional → mean over the last dimension and normalize, once per extra dimension (heads, then layers);
/// Coarse and Base → nothing.
/// </summary>
public static class DefaultAggregation
{
    public static IAggregator For(FeatureAttributionSequenceOutput output)
    {
        int extra = output.AttributionRank - 2;
        return output.Kind switch
        {
            SequenceOutputKind.Granular when extra > 0 =>
                new AggregatorPipeline(Enumerable.Repeat<IAggregator>(new ScoresAggregator(AggregationFunction.VectorNorm), extra)),
            SequenceOutputKind.MultiDimensional when extra > 0 =>
                new AggregatorPipeline(Enumerable.Repeat<IAggregator>(new ScoresAggregator(AggregationFunction.Mean), extra)),
            _ => new AggregatorPipeline(),
        };
    }
}
