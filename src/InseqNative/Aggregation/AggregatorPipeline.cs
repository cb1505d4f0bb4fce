using InseqNative.Outputs;

namespace InseqNative.Aggregation;

/// <summary>Aggregators applied in order (Inseq's <c>AggregatorPipeline</c>). Each stage that needs [tokens, steps]
/// matrices gets the default aggregation first if extra dimensions are still there.</summary>
public sealed class AggregatorPipeline(IEnumerable<IAggregator> stages) : IAggregator
{
    public AggregatorPipeline(params IAggregator[] stages) : this((IEnumerable<IAggregator>)stages) { }

    public IReadOnlyList<IAggregator> Stages { get; } = stages.ToArray();

    public string Name => "pipeline";

    public bool RequiresDefaultAggregation => Stages.Count > 0 && Stages[0].RequiresDefaultAggregation;

    public FeatureAttributionSequenceOutput Aggregate(FeatureAttributionSequenceOutput output)
    {
        foreach (var stage in Stages)
            output = output.Aggregate(stage);
        return output;
    }

    public override string ToString() => $"pipeline[{string.Join(", ", Stages)}]";
}
