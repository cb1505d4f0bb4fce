using InseqNative.Outputs;

namespace InseqNative.Aggregation;

/// <summary>
/// Reduces the last extra dimension of the attributions with an aggregation function (Inseq's "scores" aggregator),
/// then optionally L1-normalizes (default) or rescales each step column over source + target rows together.
/// <para><see cref="SelectIndex"/> keeps one slice of the last dimension instead of aggregating it (e.g. one attention
/// head); <see cref="SelectIndices"/> keeps several before aggregating. Sequence scores with extra dimensions
/// (attention's encoder/decoder self-attentions) get the same selection and function, without normalization.</para>
/// Applying it to [tokens, steps] attributions is an error: there is no dimension left to aggregate.
/// </summary>
public sealed class ScoresAggregator : IAggregator
{
    public ScoresAggregator(AggregationFunction function, bool normalize = true, bool rescale = false,
        int? selectIndex = null, IReadOnlyList<int>? selectIndices = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        if (normalize && rescale)
            throw new InvalidInputException("scores aggregation: choose normalize or rescale, not both");
        if (selectIndex is not null && selectIndices is not null)
            throw new InvalidInputException("scores aggregation: give selectIndex or selectIndices, not both");
        if (selectIndices is { Count: 0 })
            throw new InvalidInputException("scores aggregation: selectIndices is empty");
        Function = function;
        Normalize = normalize;
        Rescale = rescale;
        SelectIndex = selectIndex;
        SelectIndices = selectIndices?.ToArray();
    }

    public AggregationFunction Function { get; }
    public bool Normalize { get; }
    public bool Rescale { get; }
    public int? SelectIndex { get; }
    public IReadOnlyList<int>? SelectIndices { get; }

    public string Name => "scores";
    public bool RequiresDefaultAggregation => false;

    public FeatureAttributionSequenceOutput Aggregate(FeatureAttributionSequenceOutput output)
    {
        if (output.AttributionRank <= 2)
            throw new InvalidInputException(
                $"cannot aggregate scores of a {output.InseqClassName} whose attributions are already [tokens, steps]: " +
                "it has been aggregated (or never had extra dimensions)");
        var source = Reduce(output.SourceAttributions);
        var target = Reduce(output.TargetAttributions);
        if (Normalize) (source, target) = ScoreNormalization.Normalize(source, target);
        else if (Rescale) (source, target) = ScoreNormalization.Rescale(source, target);
        var sequenceScores = output.SequenceScores
            .Select(p => KeyValuePair.Create(p.Key, p.Value.Rank > 2 ? Reduce(p.Value)! : p.Value))
            .ToArray();
        int rank = (source ?? target)?.Rank ?? 2;
        return output.ToParts() with
        {
            SourceAttributions = source,
            TargetAttributions = target,
            SequenceScores = sequenceScores,
            Kind = rank == 2 ? SequenceOutputKind.Base : output.Kind,
        };
    }

    Tensor? Reduce(Tensor? t)
    {
        if (t is null) return null;
        if (SelectIndex is int index)
        {
            int size = t.Shape[^1];
            if (index < -size || index >= size)
                throw new InvalidInputException($"selectIndex {index} is out of range for a last dimension of size {size}");
            return t.Pick(-1, index < 0 ? index + size : index);
        }
        if (SelectIndices is not null) t = t.Select(-1, SelectIndices);
        return Function.Apply(t, -1);
    }

    public override string ToString() => $"scores({Function}{(Normalize ? ", normalize" : Rescale ? ", rescale" : "")})";
}
