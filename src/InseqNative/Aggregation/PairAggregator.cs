using InseqNative.Outputs;

namespace InseqNative.Aggregation;

/// <summary>
/// Difference of two outputs over the same token positions (Inseq's "pair"): applied to <c>a</c> with
/// <see cref="Paired"/> = <c>b</c> it gives <c>a − b</c> for attributions, step scores present in both, and sequence
/// scores of equal shape. Tokens that differ read "a → b" with id −1. Both outputs get their default aggregation first.
/// <para>Deliberate difference: Inseq 0.6/0.7's PairAggregator computes <c>paired − self</c>, so its
/// <c>a - b</c> (<c>a.aggregate("pair", paired_attr=b)</c>) is really b − a; here <c>a.Minus(b)</c>, <c>a - b</c> and
/// <c>a.Aggregate(new PairAggregator(b))</c> are all a − b.</para>
/// </summary>
public sealed class PairAggregator(FeatureAttributionSequenceOutput paired) : IAggregator
{
    public FeatureAttributionSequenceOutput Paired { get; } = paired ?? throw new ArgumentNullException(nameof(paired));

    public string Name => "pair";
    public bool RequiresDefaultAggregation => true;

    public FeatureAttributionSequenceOutput Aggregate(FeatureAttributionSequenceOutput output)
    {
        var other = Paired.AttributionRank > 2 ? Paired.Aggregate() : Paired;
        if (other.Source.Count != output.Source.Count || other.Target.Count != output.Target.Count)
            throw new InvalidInputException(
                $"pair aggregation needs outputs of equal length: {output.Source.Count}+{output.Target.Count} vs " +
                $"{other.Source.Count}+{other.Target.Count} source+target tokens");
        if (other.AttrPosStart != output.AttrPosStart || other.AttrPosEnd != output.AttrPosEnd)
            throw new InvalidInputException(
                $"pair aggregation needs the same attributed steps: [{output.AttrPosStart}, {output.AttrPosEnd}) vs " +
                $"[{other.AttrPosStart}, {other.AttrPosEnd})");
        if ((output.SourceAttributions is null) != (other.SourceAttributions is null) ||
            (output.TargetAttributions is null) != (other.TargetAttributions is null))
            throw new InvalidInputException("pair aggregation needs both outputs to have the same attribution sides");

        static float Minus(float a, float b) => a - b;
        Tensor? Diff(Tensor? a, Tensor? b, string what) => a is null ? null
            : a.Shape.SequenceEqual(b!.Shape) ? a.Zip(b, Minus)
            : throw new InvalidInputException(
                $"pair aggregation: {what} shapes {TensorOps.ShapeText(a.Shape)} and {TensorOps.ShapeText(b.Shape)} differ");

        return output.ToParts() with
        {
            Source = PairTokens(output.Source, other.Source),
            Target = PairTokens(output.Target, other.Target),
            SourceAttributions = Diff(output.SourceAttributions, other.SourceAttributions, "source_attributions"),
            TargetAttributions = Diff(output.TargetAttributions, other.TargetAttributions, "target_attributions"),
            StepScores = output.StepScores.Where(p => other.StepScores.ContainsKey(p.Key))
                .Select(p => KeyValuePair.Create(p.Key, p.Value.Zip(other.StepScores[p.Key], Minus))).ToArray(),
            SequenceScores = output.SequenceScores
                .Select(p => other.SequenceScores.TryGetValue(p.Key, out var o) && o.Shape.SequenceEqual(p.Value.Shape)
                    ? KeyValuePair.Create(p.Key, p.Value.Zip(o, Minus)) : p).ToArray(),
        };
    }

    static IReadOnlyList<TokenWithId> PairTokens(IReadOnlyList<TokenWithId> a, IReadOnlyList<TokenWithId> b) =>
        a.Zip(b, (x, y) => x.Token == y.Token ? x : new TokenWithId($"{x.Token} → {y.Token}", -1)).ToArray();

    public override string ToString() => "pair";
}
