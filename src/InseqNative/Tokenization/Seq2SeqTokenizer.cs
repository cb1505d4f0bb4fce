using System.Text;

namespace InseqNative.Tokenization;

/// <summary>
/// The tokenizer of an encoder-decoder model, both sides: <see cref="EncodeSource"/> gives
/// <c>tokenizer(text)["input_ids"]</c>, <see cref="EncodeTarget"/> gives <c>tokenizer(text_target=text)["input_ids"]</c>
/// (without the decoder start token, which the model prepends; <see cref="EncodeDecoderInput"/> adds it as Inseq
/// does), <see cref="DecodeTarget"/> is <c>tokenizer.decode</c> of generated ids. <see cref="TextTokenizer.Encode"/>
/// is the source side and <see cref="TextTokenizer.Decode"/> the target side, as in transformers.
/// Implementations reproduce transformers 4.38's slow tokenizers (T5Tokenizer, MarianTokenizer, M2M100Tokenizer).
/// </summary>
public abstract class Seq2SeqTokenizer : TextTokenizer
{
    private const char Underline = '\u2581'; // ▁

    private readonly IReadOnlyList<AddedToken> _added;
    private readonly Dictionary<int, string> _addedById = [];
    private readonly Dictionary<string, int> _addedByContent = new(StringComparer.Ordinal);
    private readonly AddedTokenSplitter _splitter;

    /// <summary>tokenizer_config.json's clean_up_tokenization_spaces (decode's default).</summary>
    private protected bool CleanUpDefault { get; }

    /// <summary>Contents of every named and additional special token (transformers' <c>all_special_tokens</c>).</summary>
    private protected HashSet<string> SpecialContents { get; }

    private protected Seq2SeqTokenizer(SpecialTokens special, IReadOnlyList<AddedToken> added, bool cleanUpDefault,
        int decoderStartTokenId)
        : base(special, [])
    {
        _added = added;
        foreach (AddedToken token in added)
        {
            _addedById.TryAdd(token.Id, token.Content);
            _addedByContent.TryAdd(token.Content, token.Id);
        }
        _splitter = new AddedTokenSplitter(added);
        CleanUpDefault = cleanUpDefault;
        SpecialContents = [.. special.All.Select(t => t.Content)];
        DecoderStartTokenId = decoderStartTokenId;
    }

    /// <summary>The id the decoder input starts with (config.json's decoder_start_token_id, else the family's
    /// default: pad for T5 and Marian, eos for M2M100).</summary>
    public int DecoderStartTokenId { get; }

    /// <summary>A token generation must emit first (M2M100: the target language token), or null.</summary>
    public virtual int? ForcedBosTokenId => null;

    public override IReadOnlyList<AddedToken> AddedTokens => _added;

    /// <summary>Source ids with the special tokens the tokenizer adds (e.g. a trailing &lt;/s&gt;).</summary>
    public abstract int[] EncodeSource(string text);

    /// <summary>Target ids as <c>tokenizer(text_target=text)</c> gives them, without the decoder start token.</summary>
    public abstract int[] EncodeTarget(string text);

    /// <summary>The decoder input Inseq builds for a target: the decoder start token, then <see cref="EncodeTarget"/>.</summary>
    public int[] EncodeDecoderInput(string text) => [DecoderStartTokenId, .. EncodeTarget(text)];

    /// <summary>Text of target-side ids, as <c>tokenizer.decode</c>.</summary>
    public abstract string DecodeTarget(ReadOnlySpan<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null);

    /// <summary>Text of source-side ids (differs from <see cref="DecodeTarget"/> only for Marian, whose sides have
    /// their own SentencePiece models).</summary>
    public virtual string DecodeSource(ReadOnlySpan<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null) =>
        DecodeTarget(ids, skipSpecialTokens, cleanUpTokenizationSpaces);

    public sealed override int[] Encode(string text) => EncodeSource(text);

    public sealed override string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null) =>
        DecodeTarget(ids, skipSpecialTokens, cleanUpTokenizationSpaces);

    /// <summary>"▁quick" → " quick"; special tokens stay as they are.</summary>
    public override string ToDisplayToken(string token) =>
        SpecialContents.Contains(token) ? token : token.Replace(Underline, ' ');

    private protected bool TryAddedContent(int id, out string content) => _addedById.TryGetValue(id, out content!);

    private protected int? AddedId(string content) => _addedByContent.TryGetValue(content, out int id) ? id : null;

    /// <summary>transformers' slow <c>tokenize</c> + <c>convert_tokens_to_ids</c>: the text is cut at added tokens,
    /// every other segment is tokenized on its own (each gets SentencePiece's dummy prefix: legacy behaviour) and
    /// its pieces mapped to ids.</summary>
    private protected List<int> EncodeSegments(string text, Func<string, List<string>> tokenize, Func<string, int> pieceToId)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 2 + 3);
        foreach (AddedTokenSplitter.Segment segment in _splitter.Split(text))
        {
            if (segment.Token is { } token)
            {
                ids.Add(token.Id);
                continue;
            }
            foreach (string piece in tokenize(segment.Text))
                ids.Add(AddedId(piece) ?? pieceToId(piece));
        }
        return ids;
    }

    /// <summary>
    /// transformers 4.38's slow <c>_decode</c>: ids to tokens (special ids dropped when asked), "legacy added"
    /// tokens written on their own, runs of other tokens through <paramref name="convertTokensToString"/>, the
    /// parts joined with spaces (spaces_between_special_tokens), then clean_up_tokenization when enabled.
    /// </summary>
    private protected string DecodeSlow(ReadOnlySpan<int> ids, bool skipSpecialTokens, bool? cleanUpTokenizationSpaces,
        IReadOnlySet<string> legacyAddedTokens, Func<List<string>, string> convertTokensToString)
    {
        var parts = new List<string>();
        var current = new List<string>();
        foreach (int id in ids)
        {
            string token = IdToToken(id);
            if (skipSpecialTokens && IsSpecial(id))
                continue;
            if (legacyAddedTokens.Contains(token))
            {
                if (current.Count > 0)
                {
                    string part = convertTokensToString(current);
                    if (part.Length > 0)
                        parts.Add(part);
                    current = [];
                }
                parts.Add(token);
            }
            else
            {
                current.Add(token);
            }
        }
        if (current.Count > 0)
            parts.Add(convertTokensToString(current));
        string text = string.Join(' ', parts);
        return cleanUpTokenizationSpaces ?? CleanUpDefault ? CleanUpTokenization(text) : text;
    }

    /// <summary>transformers' <c>added_tokens_encoder</c> minus <c>all_special_tokens</c>, plus the additional special
    /// tokens whose id is at least <paramref name="baseVocabSize"/>: what the slow decoder writes on its own.</summary>
    private protected HashSet<string> LegacyAddedTokens(int baseVocabSize)
    {
        var set = new HashSet<string>(_added.Select(t => t.Content).Where(c => !SpecialContents.Contains(c)), StringComparer.Ordinal);
        foreach (SpecialToken token in SpecialTokens.Additional)
            if (token.Id >= baseVocabSize)
                set.Add(token.Content);
        return set;
    }

    /// <summary>A named special token (bos_token, eos_token, ...) from the folder's settings or the class default;
    /// null when neither names one. A name the vocabulary lacks is an error.</summary>
    private protected static SpecialToken? ResolveSpecial(TokenizerFolderSettings settings, string role, string? classDefault,
        Func<string, int?> lookup, string filePath)
    {
        string? content = settings.Named.GetValueOrDefault(role)?.Content ?? classDefault;
        if (content is null)
            return null;
        int id = lookup(content)
            ?? throw new ModelLoadException(filePath, $"{role} '{content}' is not in the tokenizer's vocabulary");
        return new SpecialToken(content, id);
    }

    /// <summary>SentencePiece text of pieces with special tokens written verbatim, as the slow tokenizers'
    /// convert_tokens_to_string do it: runs of plain pieces go through <paramref name="decodePieces"/>; before
    /// each special token <paramref name="beforeSpecial"/> (given whether the previous token was special too) and
    /// after it <paramref name="afterSpecial"/>.</summary>
    private protected string JoinWithSpecials(List<string> tokens, Func<List<string>, string> decodePieces,
        Func<bool, string> beforeSpecial, string afterSpecial)
    {
        var text = new StringBuilder();
        var pieces = new List<string>();
        bool previousSpecial = false;
        foreach (string token in tokens)
        {
            if (SpecialContents.Contains(token))
            {
                text.Append(beforeSpecial(previousSpecial)).Append(decodePieces(pieces)).Append(token).Append(afterSpecial);
                pieces.Clear();
                previousSpecial = true;
            }
            else
            {
                pieces.Add(token);
                previousSpecial = false;
            }
        }
        text.Append(decodePieces(pieces));
        return text.ToString().Trim();
    }
}
