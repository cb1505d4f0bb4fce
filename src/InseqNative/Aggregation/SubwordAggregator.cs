using InseqNative.Outputs;

namespace InseqNative.Aggregation;

/// <summary>
/// Merges subword tokens into words (Inseq's "subwords"), then aggregates like <see cref="SpansAggregator"/>.
/// A token starts a new word when it begins with a word-start marker — SentencePiece's <c>▁</c> and byte-level BPE's
/// <c>Ġ</c> (space) and <c>Ċ</c> (newline) by default — when it follows a newline, or when it or the previous token is
/// a special token (<c>&lt;s&gt;</c>, <c>&lt;/s&gt;</c>, <c>&lt;pad&gt;</c>, <c>&lt;|endoftext|&gt;</c>,
/// <c>__en__</c> ...), which always stays on its own. The last word is merged too.
/// <para>Deliberate differences from Inseq 0.6: Inseq only knows <c>▁</c> unless told otherwise, and drops the last
/// word of a sequence (it only closes a word when the next one starts).</para>
/// </summary>
public sealed class SubwordAggregator(
    IReadOnlyList<string>? wordStartMarkers = null,
    AggregationFunction? function = null,
    bool mergeSource = true,
    bool mergeTarget = true) : IAggregator
{
    public static IReadOnlyList<string> DefaultWordStartMarkers { get; } = ["▁", "Ġ", "Ċ"];

    public IReadOnlyList<string> WordStartMarkers { get; } = wordStartMarkers?.ToArray() ?? DefaultWordStartMarkers;
    public AggregationFunction Function { get; } = function ?? AggregationFunction.AbsMax;
    public bool MergeSource { get; } = mergeSource;
    public bool MergeTarget { get; } = mergeTarget;

    public string Name => "subwords";
    public bool RequiresDefaultAggregation => true;

    public FeatureAttributionSequenceOutput Aggregate(FeatureAttributionSequenceOutput output) =>
        new SpansAggregator(MergeSource ? WordSpans(output.Source) : null, MergeTarget ? WordSpans(output.Target) : null,
            Function).Aggregate(output);

    /// <summary>The multi-token words of a token sequence, as spans.</summary>
    public IReadOnlyList<TokenSpan> WordSpans(IReadOnlyList<TokenWithId> tokens)
    {
        var starts = new bool[tokens.Count];
        for (int i = 0; i < tokens.Count; i++)
        {
            string token = tokens[i].Token;
            starts[i] = i == 0
                || IsSpecial(token) || IsSpecial(tokens[i - 1].Token)
                || WordStartMarkers.Any(m => token.StartsWith(m, StringComparison.Ordinal))
                || tokens[i - 1].Token.EndsWith('Ċ') || tokens[i - 1].Token.EndsWith('\n');
        }
        return SpanMath.FromGroupStarts(starts);
    }

    /// <summary>Special tokens: &lt;...&gt; (but not byte-fallback pieces like &lt;0x0A&gt;, which belong to words) and
    /// fairseq language codes like __en__.</summary>
    public static bool IsSpecial(string token) =>
        token.Length > 2 && token[0] == '<' && token[^1] == '>' && !(token.StartsWith("<0x") && token.Length == 6)
        || token.Length > 4 && token.StartsWith("__") && token.EndsWith("__");

    public override string ToString() => $"subwords({Function})";
}
