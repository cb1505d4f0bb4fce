using System.Text.RegularExpressions;
using InseqNative.Outputs;
using InseqNative.Outputs.Rendering;

namespace InseqNative.Aggregation;

/// <summary>
/// Cuts source and/or target tokens into spans at separator tokens and merges each span (Inseq's "split"), then
/// aggregates like <see cref="SpansAggregator"/>. A token is a separator when <see cref="Separator"/> matches its
/// decoded text (byte-level <c>Ċ</c> is matched as "\n", <c>Ġ.</c> as " .") — use <see cref="OnToken"/> for a literal
/// token such as "." or "\n". Never normalizes.
/// </summary>
public sealed class SplitAggregator(
    Regex separator,
    SplitMode mode = SplitMode.Single,
    bool splitSource = true,
    bool splitTarget = true,
    AggregationFunction? function = null) : IAggregator
{
    public Regex Separator { get; } = separator ?? throw new ArgumentNullException(nameof(separator));
    public SplitMode Mode { get; } = mode;
    public bool SplitSource { get; } = splitSource;
    public bool SplitTarget { get; } = splitTarget;
    public AggregationFunction Function { get; } = function ?? AggregationFunction.AbsMax;

    /// <summary>Splits at tokens whose decoded text, without surrounding white space, equals <paramref name="literal"/>
    /// (the literal itself may be white space such as "\n").</summary>
    public static SplitAggregator OnToken(string literal, SplitMode mode = SplitMode.Single, bool splitSource = true,
        bool splitTarget = true, AggregationFunction? function = null)
    {
        if (string.IsNullOrEmpty(literal)) throw new InvalidInputException("split separator is empty");
        string pattern = string.IsNullOrWhiteSpace(literal)
            ? $"^[ \\t]*{Regex.Escape(literal)}[ \\t]*$"
            : $"^\\s*{Regex.Escape(literal)}\\s*$";
        return new SplitAggregator(new Regex(pattern, RegexOptions.CultureInvariant), mode, splitSource, splitTarget,
            function);
    }

    public string Name => "split";
    public bool RequiresDefaultAggregation => true;

    public FeatureAttributionSequenceOutput Aggregate(FeatureAttributionSequenceOutput output) =>
        new SpansAggregator(SplitSource ? Spans(output.Source) : null, SplitTarget ? Spans(output.Target) : null,
            Function).Aggregate(output);

    /// <summary>The spans a token sequence is cut into.</summary>
    public IReadOnlyList<TokenSpan> Spans(IReadOnlyList<TokenWithId> tokens)
    {
        var display = TokenDisplay.For(tokens);
        var isSeparator = tokens.Select(t => Separator.IsMatch(display.Text(t.Token))).ToArray();
        var starts = new bool[tokens.Count];
        for (int i = 0; i < tokens.Count; i++)
            starts[i] = i == 0 || Mode switch
            {
                SplitMode.Single => isSeparator[i] || isSeparator[i - 1],
                SplitMode.Start => isSeparator[i],
                _ => isSeparator[i - 1],
            };
        return SpanMath.FromGroupStarts(starts);
    }

    public override string ToString() => $"split({Separator}, {Mode})";
}
