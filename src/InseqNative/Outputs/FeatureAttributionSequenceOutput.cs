using InseqNative.Aggregation;

namespace InseqNative.Outputs;

/// <summary>
/// Attributions of one generated sequence, as Inseq's <c>FeatureAttributionSequenceOutput</c> family. Attribution
/// tensors are [attributed tokens, generated steps, ...extra dims]: step k explains target position
/// <see cref="AttrPosStart"/> + k; target rows at or after that position are NaN. <see cref="Kind"/> tells which Inseq
/// class this is, and so which default aggregation applies (per output, never global state). Instances are immutable:
/// aggregation and weighting return new outputs.
/// </summary>
public sealed class FeatureAttributionSequenceOutput
{
    private readonly OrderedDictionary<string, Tensor> _stepScores;
    private readonly OrderedDictionary<string, Tensor> _sequenceScores;

    /// <param name="source">Source tokens (encoder input; for decoder-only models the prompt).</param>
    /// <param name="target">Target tokens (decoder-only: prompt + continuation; encoder-decoder: decoder start token + output).</param>
    /// <param name="sourceAttributions">[source tokens, steps, ...extra] or null (decoder-only).</param>
    /// <param name="targetAttributions">[target tokens, steps, ...extra] or null.</param>
    /// <param name="attrPosStart">First attributed target position.</param>
    /// <param name="attrPosEnd">One past the last attributed target position; null or too large = target length.</param>
    /// <param name="kind">Inseq class; must agree with the tensors' rank (Granular 3, MultiDimensional ≥ 3, others 2).</param>
    /// <param name="stepScores">Per-step scores, each [steps], in order.</param>
    /// <param name="sequenceScores">Extra per-sequence tensors (e.g. attention's encoder_self_attentions), in order.</param>
    public FeatureAttributionSequenceOutput(
        IReadOnlyList<TokenWithId> source,
        IReadOnlyList<TokenWithId> target,
        Tensor? sourceAttributions,
        Tensor? targetAttributions,
        int attrPosStart,
        int? attrPosEnd = null,
        SequenceOutputKind kind = SequenceOutputKind.Base,
        IEnumerable<KeyValuePair<string, Tensor>>? stepScores = null,
        IEnumerable<KeyValuePair<string, Tensor>>? sequenceScores = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        Source = source.ToArray();
        Target = target.ToArray();
        SourceAttributions = sourceAttributions;
        TargetAttributions = targetAttributions;
        AttrPosStart = attrPosStart;
        AttrPosEnd = attrPosEnd is null || attrPosEnd > Target.Count ? Target.Count : attrPosEnd.Value;
        Kind = kind;
        _stepScores = new OrderedDictionary<string, Tensor>();
        foreach (var (name, t) in stepScores ?? []) _stepScores.Add(name, t);
        _sequenceScores = new OrderedDictionary<string, Tensor>();
        foreach (var (name, t) in sequenceScores ?? []) _sequenceScores.Add(name, t);
        Validate();
    }

    public IReadOnlyList<TokenWithId> Source { get; }
    public IReadOnlyList<TokenWithId> Target { get; }
    public Tensor? SourceAttributions { get; }
    public Tensor? TargetAttributions { get; }

    /// <summary>Per-step scores (name → [steps]) in insertion order.</summary>
    public IReadOnlyDictionary<string, Tensor> StepScores => _stepScores;

    /// <summary>Per-sequence scores (name → tensor) in insertion order.</summary>
    public IReadOnlyDictionary<string, Tensor> SequenceScores => _sequenceScores;

    public int AttrPosStart { get; }
    public int AttrPosEnd { get; }
    public SequenceOutputKind Kind { get; }

    /// <summary>Number of attributed (generated) steps, <c>AttrPosEnd − AttrPosStart</c>.</summary>
    public int StepCount => AttrPosEnd - AttrPosStart;

    /// <summary>The target tokens the steps explain, one per step.</summary>
    public IReadOnlyList<TokenWithId> GeneratedTokens => Target.Skip(AttrPosStart).Take(StepCount).ToArray();

    /// <summary>Rank of the attribution tensors (2 once aggregated).</summary>
    public int AttributionRank => (SourceAttributions ?? TargetAttributions)?.Rank ?? 2;

    /// <summary>Inseq's class name for this output (<c>__instance_type__</c> in JSON).</summary>
    public string InseqClassName => InseqClassNames.Of(Kind);

    /// <summary>The aggregation <see cref="Aggregate()"/> applies: vnorm + normalize for Granular, mean + normalize over
    /// each extra dimension for MultiDimensional, nothing for Coarse and Base.</summary>
    public IAggregator DefaultAggregator => DefaultAggregation.For(this);

    /// <summary>Aggregates with this output's default aggregator (Inseq's <c>aggregate()</c> without arguments).</summary>
    public FeatureAttributionSequenceOutput Aggregate() => DefaultAggregator.Aggregate(this);

    /// <summary>Aggregates with the given aggregator. Aggregators that work on [tokens, steps] matrices (spans, subwords,
    /// split, pair, slices) first apply the default aggregation when extra dimensions are left, as Inseq does.</summary>
    public FeatureAttributionSequenceOutput Aggregate(IAggregator aggregator)
    {
        ArgumentNullException.ThrowIfNull(aggregator);
        var input = aggregator.RequiresDefaultAggregation && AttributionRank > 2 ? Aggregate() : this;
        return aggregator.Aggregate(input);
    }

    /// <summary>Aggregates with an aggregator or aggregation function named as in Inseq ("vnorm", "mean", "subwords", ...).
    /// Aggregators that need arguments (spans, split, pair, slices) must be constructed instead.</summary>
    public FeatureAttributionSequenceOutput Aggregate(string name) => Aggregate(Aggregators.FromName(name));

    /// <summary>Difference of two outputs over the same tokens: this − <paramref name="other"/> (see <see cref="PairAggregator"/>).</summary>
    public FeatureAttributionSequenceOutput Minus(FeatureAttributionSequenceOutput other) =>
        Aggregate(new PairAggregator(other));

    public static FeatureAttributionSequenceOutput operator -(FeatureAttributionSequenceOutput a,
        FeatureAttributionSequenceOutput b) => a.Minus(b);

    /// <summary>Multiplies each step column of the aggregated attributions by a step score (Inseq's
    /// <c>weight_attributions</c>). Returns a new, already aggregated output.</summary>
    public FeatureAttributionSequenceOutput WeightAttributions(string stepScoreName)
    {
        if (!StepScores.TryGetValue(stepScoreName, out var weights))
            throw new InvalidInputException(
                $"no step score '{stepScoreName}' to weight attributions with; this output has [{string.Join(", ", StepScores.Keys)}]");
        var aggregated = Aggregate();
        Tensor? Weight(Tensor? t) => t is null ? null : ScaleColumns(t, weights.Data);
        return aggregated.ToParts() with
        {
            SourceAttributions = Weight(aggregated.SourceAttributions),
            TargetAttributions = Weight(aggregated.TargetAttributions),
            Kind = SequenceOutputKind.Base,
        };
    }

    static Tensor ScaleColumns(Tensor t, float[] weights)
    {
        var result = t.Clone();
        int steps = t.Shape[1], inner = (int)(t.Length / t.Shape[0] / steps);
        for (int r = 0; r < t.Shape[0]; r++)
            for (int k = 0; k < steps; k++)
                for (int n = 0; n < inner; n++)
                    result.Data[((long)r * steps + k) * inner + n] *= weights[k];
        return result;
    }

    /// <summary>Scores of each generated token keyed by tokens (Inseq's <c>get_scores_dicts</c>), after the default
    /// aggregation unless <paramref name="aggregate"/> is false (then the output must already be [tokens, steps]).</summary>
    public SequenceScoresDict GetScoresDict(bool aggregate = true) => SequenceScoresDict.From(aggregate ? Aggregate() : this);

    /// <summary>Smallest attribution value (NaN ignored, at most 0), as Inseq's <c>minimum</c>.</summary>
    public float Minimum => Math.Min(0, Math.Min(SourceAttributions?.NanRange().Min ?? 0, TargetAttributions?.NanRange().Min ?? 0));

    /// <summary>Largest attribution value (NaN ignored, at least 0), as Inseq's <c>maximum</c>.</summary>
    public float Maximum => Math.Max(0, Math.Max(SourceAttributions?.NanRange().Max ?? 0, TargetAttributions?.NanRange().Max ?? 0));

    /// <summary>The mutable-by-copy parts of this output, for building a modified one with a <c>with</c> expression.</summary>
    public SequenceOutputParts ToParts() => new(Source, Target, SourceAttributions, TargetAttributions, AttrPosStart,
        AttrPosEnd, Kind, _stepScores.ToArray(), _sequenceScores.ToArray());

    public static implicit operator FeatureAttributionSequenceOutput(SequenceOutputParts parts) => parts.Build();

    void Validate()
    {
        if (AttrPosStart < 0 || AttrPosStart > AttrPosEnd)
            throw new InvalidInputException(
                $"attr_pos_start {AttrPosStart} must lie in [0, attr_pos_end {AttrPosEnd}] (target has {Target.Count} tokens)");
        CheckAttributions(SourceAttributions, "source_attributions", Source.Count, exactRows: true);
        CheckAttributions(TargetAttributions, "target_attributions", Target.Count, exactRows: false);
        if (SourceAttributions is not null && TargetAttributions is not null &&
            !SourceAttributions.Shape.Skip(1).SequenceEqual(TargetAttributions.Shape.Skip(1)))
            throw new InvalidInputException(
                $"source_attributions {TensorOps.ShapeText(SourceAttributions.Shape)} and target_attributions " +
                $"{TensorOps.ShapeText(TargetAttributions.Shape)} disagree beyond the first dimension");
        int rank = AttributionRank;
        bool rankOk = Kind switch
        {
            SequenceOutputKind.Granular => rank == 3,
            SequenceOutputKind.MultiDimensional => rank >= 3,
            _ => rank == 2,
        };
        if (!rankOk)
            throw new InvalidInputException(
                $"{InseqClassName} needs attributions of rank {(Kind == SequenceOutputKind.Granular ? "3" : Kind == SequenceOutputKind.MultiDimensional ? "≥ 3" : "2")}, got rank {rank}");
        foreach (var (name, t) in _stepScores)
            if (t.Rank < 1 || t.Shape[0] != StepCount)
                throw new InvalidInputException(
                    $"step score '{name}' has shape {TensorOps.ShapeText(t.Shape)}; expected [{StepCount}] (one value per attributed step)");
    }

    void CheckAttributions(Tensor? t, string name, int tokens, bool exactRows)
    {
        if (t is null) return;
        if (t.Rank < 2)
            throw new InvalidInputException($"{name} must have rank ≥ 2 [tokens, steps, ...], got {TensorOps.ShapeText(t.Shape)}");
        if (exactRows ? t.Shape[0] != tokens : t.Shape[0] > tokens)
            throw new InvalidInputException(
                $"{name} has {t.Shape[0]} rows but there are {tokens} {(exactRows ? "source" : "target")} tokens");
        if (t.Shape[1] != StepCount)
            throw new InvalidInputException(
                $"{name} has {t.Shape[1]} step columns but attr_pos [{AttrPosStart}, {AttrPosEnd}) spans {StepCount} steps");
    }

    public override string ToString() => Rendering.AttributionTextRenderer.Render(this);
}

/// <summary>The parts of a <see cref="FeatureAttributionSequenceOutput"/>; <see cref="Build"/> validates them.</summary>
public sealed record SequenceOutputParts(
    IReadOnlyList<TokenWithId> Source,
    IReadOnlyList<TokenWithId> Target,
    Tensor? SourceAttributions,
    Tensor? TargetAttributions,
    int AttrPosStart,
    int AttrPosEnd,
    SequenceOutputKind Kind,
    IReadOnlyList<KeyValuePair<string, Tensor>> StepScores,
    IReadOnlyList<KeyValuePair<string, Tensor>> SequenceScores)
{
    public FeatureAttributionSequenceOutput Build() => new(Source, Target, SourceAttributions, TargetAttributions,
        AttrPosStart, AttrPosEnd, Kind, StepScores, SequenceScores);
}
