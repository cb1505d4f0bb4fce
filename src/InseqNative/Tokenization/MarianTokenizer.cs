using System.Text.RegularExpressions;
using InseqNative.Loading;

namespace InseqNative.Tokenization;

/// <summary>
/// transformers' slow MarianTokenizer: the source text is split into pieces by <c>source.spm</c>, the target text
/// (<c>text_target=</c>) by <c>target.spm</c>, and pieces become ids through the shared <c>vocab.json</c> (a piece it
/// lacks becomes &lt;unk&gt;); &lt;/s&gt; is appended to both. A leading language code such as <c>&gt;&gt;fr&lt;&lt;</c> is
/// one token. Decoding maps ids back through vocab.json and joins the pieces with the target model. No Moses
/// punctuation normalization (transformers skips it when sacremoses is missing, as for the fixtures).
/// </summary>
public sealed partial class MarianTokenizer : Seq2SeqTokenizer
{
    public const string VocabFile = "vocab.json";
    public const string SourceSpmFile = "source.spm";
    public const string TargetSpmFile = "target.spm";

    private readonly SentencePieceModel _source, _target;
    private readonly Dictionary<string, int> _encoder;
    private readonly string[] _decoder;
    private readonly IReadOnlySet<string> _legacyAdded;

    private MarianTokenizer(SentencePieceModel source, SentencePieceModel target, Dictionary<string, int> encoder,
        string[] decoder, SpecialTokens special, IReadOnlyList<AddedToken> added, bool cleanUp, int decoderStart)
        : base(special, added, cleanUp, decoderStart)
    {
        _source = source;
        _target = target;
        _encoder = encoder;
        _decoder = decoder;
        _legacyAdded = LegacyAddedTokens(decoder.Length);
    }

    /// <summary>len(vocab.json), as <c>len(tokenizer)</c>.</summary>
    public override int VocabSize => _decoder.Length;

    [GeneratedRegex(">>.+<<")]
    private static partial Regex LanguageCode();

    internal static MarianTokenizer Create(string folder, TokenizerFolderSettings settings, ModelConfig? config)
    {
        string configPath = settings.Config?.FilePath ?? Path.Combine(folder, TokenizerFolderSettings.TokenizerConfigFile);
        if (settings.Config?.GetBool("separate_vocabs") == true)
            throw new UnsupportedModelException(configPath,
                "MarianTokenizer with separate_vocabs=true (a target_vocab.json of its own) is not supported yet");
        TokenizerLoader.RequireFiles(folder, "MarianTokenizer", VocabFile, SourceSpmFile, TargetSpmFile);

        string vocabPath = Path.Combine(folder, VocabFile);
        Dictionary<string, int> encoder = TokenizerLoader.ReadVocab(vocabPath);
        string[] decoder = Inverse(encoder, vocabPath);
        SentencePieceModel source = SentencePieceModel.Load(Path.Combine(folder, SourceSpmFile));
        SentencePieceModel target = SentencePieceModel.Load(Path.Combine(folder, TargetSpmFile));

        var added = new List<AddedToken>();
        foreach (AddedToken token in settings.AddedWithIds)
        {
            if (added.Any(t => t.Content == token.Content))
                continue;
            if (token.Id >= decoder.Length || (decoder[token.Id] is { } existing && existing != token.Content))
                throw new ModelLoadException(configPath,
                    $"added token '{token.Content}' has id {token.Id}, which vocab.json gives to '{(token.Id < decoder.Length ? decoder[token.Id] : "nothing")}'");
            added.Add(token);
        }

        int? Lookup(string content) => encoder.TryGetValue(content, out int id) ? id : null;
        var special = new SpecialTokens
        {
            Eos = ResolveSpecial(settings, "eos_token", "</s>", Lookup, vocabPath),
            Unk = ResolveSpecial(settings, "unk_token", "<unk>", Lookup, vocabPath),
            Pad = ResolveSpecial(settings, "pad_token", "<pad>", Lookup, vocabPath),
            Additional = settings.AdditionalSpecial.Select(t => ResolveSpecial(settings, "additional_special_tokens", t.Content, Lookup, vocabPath))
                .OfType<SpecialToken>().ToArray(),
        };
        foreach (SpecialToken token in special.All)
            if (!added.Any(t => t.Content == token.Content))
                added.Add(new AddedToken(token.Content, token.Id, Special: true));

        int decoderStart = config?.DecoderStartTokenId ?? special.Pad!.Id;
        return new MarianTokenizer(source, target, encoder, decoder, special, added.AsReadOnly(),
            settings.CleanUpTokenizationSpaces, decoderStart);
    }

    private static string[] Inverse(Dictionary<string, int> encoder, string path)
    {
        var decoder = new string[encoder.Values.Max() + 1];
        foreach (KeyValuePair<string, int> pair in encoder)
        {
            if (decoder[pair.Value] is { } other)
                throw new ModelLoadException(path, $"tokens '{other}' and '{pair.Key}' share id {pair.Value}");
            decoder[pair.Value] = pair.Key;
        }
        return decoder;
    }

    public override int[] EncodeSource(string text) => Encode(text, _source);

    public override int[] EncodeTarget(string text) => Encode(text, _target);

    private int[] Encode(string text, SentencePieceModel sp)
    {
        List<int> ids = EncodeSegments(text, segment => Tokenize(segment, sp), PieceToId);
        ids.Add(EosTokenId!.Value); // build_inputs_with_special_tokens: ids + [eos]
        return [.. ids];
    }

    /// <summary>MarianTokenizer._tokenize: a language code at the start (">>fr<<") is a token of its own and every
    /// code is removed from the text; the rest is SentencePiece pieces.</summary>
    private static List<string> Tokenize(string text, SentencePieceModel sp)
    {
        Match match = LanguageCode().Match(text);
        string? code = match.Success && match.Index == 0 ? match.Value : null;
        if (code is not null)
            text = LanguageCode().Replace(text, "");
        List<string> pieces = sp.EncodeToPieces(text);
        if (code is not null)
            pieces.Insert(0, code);
        return pieces;
    }

    private int PieceToId(string piece) => _encoder.TryGetValue(piece, out int id) ? id : UnkTokenId!.Value;

    public override string DecodeTarget(ReadOnlySpan<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null) =>
        DecodeSlow(ids, skipSpecialTokens, cleanUpTokenizationSpaces, _legacyAdded, tokens => ConvertTokensToString(tokens, _target));

    public override string DecodeSource(ReadOnlySpan<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null) =>
        DecodeSlow(ids, skipSpecialTokens, cleanUpTokenizationSpaces, _legacyAdded, tokens => ConvertTokensToString(tokens, _source));

    /// <summary>MarianTokenizer.convert_tokens_to_string: special tokens written as they are, each followed by a
    /// space; pieces joined by the side's SentencePiece model; any "▁" left becomes a space.</summary>
    private string ConvertTokensToString(List<string> tokens, SentencePieceModel sp) =>
        JoinWithSpecials(tokens, sp.DecodePieces, _ => "", " ").Replace('\u2581', ' ').Trim();

    public override string IdToToken(int id)
    {
        if (TryAddedContent(id, out string content))
            return content;
        if ((uint)id < (uint)_decoder.Length)
            return _decoder[id] ?? UnkTokenContent;
        throw UnknownId(id);
    }

    private string UnkTokenContent => SpecialTokens.Unk!.Content;

    public override int? TokenToId(string token) => AddedId(token) ?? (_encoder.TryGetValue(token, out int id) ? id : null);
}
