using InseqNative.Outputs;

namespace InseqNative.Aggregation;

/// <summary>
/// Merges contiguous token spans (Inseq's "spans" / <c>ContiguousSpanAggregator</c>): each span of source or target
/// tokens becomes one token (concatenated text, id −1) and its rows — and, on the target side, its step columns — are
/// combined with <see cref="Function"/> (default absmax). Step scores of merged steps are combined per score name
/// (probability: product, entropy: sum, ...; see <see cref="StepScoreSpanFunctions"/>). Target spans that cross
/// attr_pos_start or attr_pos_end are cut there, so the attributed steps stay separate from the prompt. Never
/// normalizes. Sequence scores are carried over unchanged.
/// </summary>
public sealed class SpansAggregator(
    IReadOnlyList<TokenSpan>? sourceSpans = null,
    IReadOnlyList<TokenSpan>? targetSpans = null,
    AggregationFunction? function = null,
    IReadOnlyDictionary<string, AggregationFunction>? stepScoreFunctions = null) : IAggregator
{
    public IReadOnlyList<TokenSpan> SourceSpans { get; } = sourceSpans?.ToArray() ?? [];
    public IReadOnlyList<TokenSpan> TargetSpans { get; } = targetSpans?.ToArray() ?? [];
    public AggregationFunction Function { get; } = function ?? AggregationFunction.AbsMax;
    public IReadOnlyDictionary<string, AggregationFunction> StepScoreFunctions { get; } =
        stepScoreFunctions ?? new Dictionary<string, AggregationFunction>();

    public string Name => "spans";
    public bool RequiresDefaultAggregation => true;

    public FeatureAttributionSequenceOutput Aggregate(FeatureAttributionSequenceOutput output)
    {
        // Decoder-only outputs: the source is the prompt, i.e. the target before attr_pos_start; it follows the target
        // spans (source spans, when they are the only ones given, are spans of that prompt).
        bool promptIsSource = output.SourceAttributions is null && output.Source.Count == output.AttrPosStart &&
                              output.Source.SequenceEqual(output.Target.Take(output.AttrPosStart));
        var targetSpans = promptIsSource && TargetSpans.Count == 0 ? SourceSpans : TargetSpans;
        var target = SpanMath.CutAt(SpanMath.Validate(targetSpans, output.Target.Count, "target"),
            output.AttrPosStart, output.AttrPosEnd);
        var source = promptIsSource
            ? SpanMath.Relative(target, 0, output.AttrPosStart)
            : SpanMath.Validate(SourceSpans, output.Source.Count, "source");
        var columns = SpanMath.Relative(target, output.AttrPosStart, output.AttrPosEnd);

        Tensor? Merge(Tensor? t, IReadOnlyList<TokenSpan> rows)
        {
            if (t is null) return null;
            var byColumn = SpanMath.Collapse(t, 1, columns, Function);
            return SpanMath.Collapse(byColumn, 0, SpanMath.Clip(rows, t.Shape[0]), Function);
        }

        var stepScores = output.StepScores
            .Select(p => KeyValuePair.Create(p.Key, SpanMath.Collapse(p.Value, 0, columns, StepFunction(p.Key))))
            .ToArray();
        return output.ToParts() with
        {
            Source = SpanMath.MergeTokens(output.Source, source),
            Target = SpanMath.MergeTokens(output.Target, target),
            SourceAttributions = Merge(output.SourceAttributions, source),
            TargetAttributions = Merge(output.TargetAttributions, target),
            AttrPosStart = SpanMath.MergedPosition(target, output.AttrPosStart),
            AttrPosEnd = SpanMath.MergedPosition(target, output.AttrPosEnd),
            StepScores = stepScores,
        };
    }

    AggregationFunction StepFunction(string name) =>
        StepScoreFunctions.TryGetValue(name, out var f) ? f
        : StepScoreSpanFunctions.Defaults.TryGetValue(name, out f) ? f
        : Function;

    public override string ToString() => $"spans({Function})";
}
