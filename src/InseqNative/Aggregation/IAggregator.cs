using InseqNative.Outputs;

namespace InseqNative.Aggregation;

/// <summary>Turns one sequence output into another (Inseq's <c>Aggregator</c>). Implementations are immutable and
/// configured through their constructors.</summary>
public interface IAggregator
{
    /// <summary>The Inseq identifier ("scores", "spans", "subwords", "split", "pair", "slices", "pipeline").</summary>
    string Name { get; }

    /// <summary>True when the aggregator works on [tokens, steps] matrices: outputs with extra dimensions get their
    /// default aggregation first (<see cref="FeatureAttributionSequenceOutput.Aggregate(IAggregator)"/>).</summary>
    bool RequiresDefaultAggregation { get; }

    FeatureAttributionSequenceOutput Aggregate(FeatureAttributionSequenceOutput output);
}
