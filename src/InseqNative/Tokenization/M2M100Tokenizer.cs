using InseqNative.Loading;

namespace InseqNative.Tokenization;

/// <summary>
/// transformers' slow M2M100Tokenizer: <c>sentencepiece.bpe.model</c> pieces mapped to ids through <c>vocab.json</c>
/// (a piece it lacks becomes &lt;unk&gt;); the language tokens <c>__xx__</c> follow the vocabulary, in the order of
/// fairseq's language list (id = len(vocab.json) + index), then <c>num_madeup_words</c> unused ids. Source =
/// [__src_lang__] pieces [&lt;/s&gt;], target = [__tgt_lang__] pieces [&lt;/s&gt;]; src_lang and tgt_lang come from
/// tokenizer_config.json or <see cref="WithLanguages"/>. Generation forces the target language token first
/// (<see cref="ForcedBosTokenId"/>).
/// </summary>
public sealed class M2M100Tokenizer : Seq2SeqTokenizer
{
    public const string VocabFile = "vocab.json";
    public const string SentencePieceFile = "sentencepiece.bpe.model";

    /// <summary>fairseq's language lists, by tokenizer_config.json's <c>language_codes</c> (transformers'
    /// FAIRSEQ_LANGUAGE_CODES).</summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> LanguageCodeLists { get; } =
        new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
        {
            ["m2m100"] =
            [
                "af", "am", "ar", "ast", "az", "ba", "be", "bg", "bn", "br", "bs", "ca", "ceb", "cs", "cy", "da", "de", "el",
                "en", "es", "et", "fa", "ff", "fi", "fr", "fy", "ga", "gd", "gl", "gu", "ha", "he", "hi", "hr", "ht", "hu",
                "hy", "id", "ig", "ilo", "is", "it", "ja", "jv", "ka", "kk", "km", "kn", "ko", "lb", "lg", "ln", "lo", "lt",
                "lv", "mg", "mk", "ml", "mn", "mr", "ms", "my", "ne", "nl", "no", "ns", "oc", "or", "pa", "pl", "ps", "pt",
                "ro", "ru", "sd", "si", "sk", "sl", "so", "sq", "sr", "ss", "su", "sv", "sw", "ta", "th", "tl", "tn", "tr",
                "uk", "ur", "uz", "vi", "wo", "xh", "yi", "yo", "zh", "zu",
            ],
            ["wmt21"] = ["en", "ha", "is", "ja", "cs", "ru", "zh", "de"],
        };

    private readonly SentencePieceModel _sp;
    private readonly Dictionary<string, int> _encoder;
    private readonly string[] _decoder;
    private readonly Dictionary<string, int> _languageTokenIds;
    private readonly Dictionary<int, string> _idToLanguageToken;
    private readonly int _vocabSize;
    private readonly IReadOnlySet<string> _legacyAdded;

    private M2M100Tokenizer(SentencePieceModel sp, Dictionary<string, int> encoder, string[] decoder,
        Dictionary<string, int> languageTokenIds, int vocabSize, SpecialTokens special, IReadOnlyList<AddedToken> added,
        bool cleanUp, int decoderStart, string sourceLanguage, string? targetLanguage)
        : base(special, added, cleanUp, decoderStart)
    {
        _sp = sp;
        _encoder = encoder;
        _decoder = decoder;
        _languageTokenIds = languageTokenIds;
        _idToLanguageToken = languageTokenIds.ToDictionary(p => p.Value, p => p.Key);
        _vocabSize = vocabSize;
        _legacyAdded = LegacyAddedTokens(vocabSize);
        SourceLanguage = sourceLanguage;
        TargetLanguage = targetLanguage;
    }

    /// <summary>len(vocab.json) + language tokens + made-up words, as transformers' <c>vocab_size</c>.</summary>
    public override int VocabSize => _vocabSize;

    /// <summary>Language code of sources, e.g. "en".</summary>
    public string SourceLanguage { get; }
    /// <summary>Language code of targets, e.g. "it"; null when the folder names none.</summary>
    public string? TargetLanguage { get; }

    public IReadOnlyCollection<string> LanguageTokens => _languageTokenIds.Keys;

    /// <summary>Id of "__xx__" for language code <paramref name="language"/>; unknown codes throw.</summary>
    public int GetLanguageTokenId(string language) =>
        _languageTokenIds.TryGetValue($"__{language}__", out int id) ? id
            : throw new InvalidInputException($"unknown language code '{language}' (the tokenizer knows {string.Join(", ", _languageTokenIds.Keys.Select(k => k[2..^2]))})");

    public override int? ForcedBosTokenId => TargetLanguage is { } t ? GetLanguageTokenId(t) : null;

    /// <summary>The same tokenizer with other source/target languages (transformers' src_lang / tgt_lang).</summary>
    public M2M100Tokenizer WithLanguages(string sourceLanguage, string? targetLanguage)
    {
        GetLanguageTokenId(sourceLanguage);
        if (targetLanguage is not null)
            GetLanguageTokenId(targetLanguage);
        return new M2M100Tokenizer(_sp, _encoder, _decoder, _languageTokenIds, _vocabSize, SpecialTokens,
            AddedTokens, CleanUpDefault, DecoderStartTokenId, sourceLanguage, targetLanguage);
    }

    internal static M2M100Tokenizer Create(string folder, TokenizerFolderSettings settings, ModelConfig? config)
    {
        string configPath = settings.Config?.FilePath ?? Path.Combine(folder, TokenizerFolderSettings.TokenizerConfigFile);
        TokenizerLoader.RequireFiles(folder, "M2M100Tokenizer", VocabFile, SentencePieceFile);
        string vocabPath = Path.Combine(folder, VocabFile);
        Dictionary<string, int> encoder = TokenizerLoader.ReadVocab(vocabPath);
        SentencePieceModel sp = SentencePieceModel.Load(Path.Combine(folder, SentencePieceFile));

        string listName = settings.Config?.GetString("language_codes") ?? "m2m100";
        if (!LanguageCodeLists.TryGetValue(listName, out IReadOnlyList<string>? languages))
            throw new UnsupportedModelException(configPath,
                $"language_codes '{listName}' is unknown (known: {string.Join(", ", LanguageCodeLists.Keys)})");
        int madeUp = settings.Config?.GetInt("num_madeup_words") ?? 8;
        if (madeUp < 0)
            throw new ModelLoadException(configPath, $"field 'num_madeup_words' must be non-negative, got {madeUp}");

        // transformers: encoder_size = len(vocab.json); __xx__ = encoder_size + index.
        int encoderSize = encoder.Count;
        var languageIds = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < languages.Count; i++)
            languageIds[$"__{languages[i]}__"] = encoderSize + i;
        int vocabSize = encoderSize + languages.Count + madeUp;
        var decoder = new string[encoder.Count == 0 ? 0 : encoder.Values.Max() + 1];
        foreach (KeyValuePair<string, int> pair in encoder)
            decoder[pair.Value] ??= pair.Key;
        if (decoder.Length > encoderSize)
            throw new ModelLoadException(vocabPath,
                $"ids run to {decoder.Length - 1} but the file has {encoderSize} tokens; language tokens would collide with them");

        var added = new List<AddedToken>();
        foreach (AddedToken token in settings.AddedWithIds)
        {
            if (added.Any(t => t.Content == token.Content))
                continue;
            int expected = languageIds.TryGetValue(token.Content, out int lang) ? lang
                : encoder.TryGetValue(token.Content, out int known) ? known : -1;
            if (expected >= 0 && expected != token.Id)
                throw new ModelLoadException(configPath,
                    $"added token '{token.Content}' has id {token.Id}, but the tokenizer gives it {expected}");
            added.Add(token);
        }

        int? Lookup(string content) =>
            languageIds.TryGetValue(content, out int lang) ? lang
            : encoder.TryGetValue(content, out int id) ? id
            : added.FirstOrDefault(t => t.Content == content)?.Id;
        // M2M100Tokenizer appends every language token to additional_special_tokens.
        var additional = new List<SpecialToken>();
        foreach (AddedToken token in settings.AdditionalSpecial)
            if (Lookup(token.Content) is { } id)
                additional.Add(new SpecialToken(token.Content, id));
        foreach (string language in languages)
        {
            string token = $"__{language}__";
            if (!additional.Any(t => t.Content == token))
                additional.Add(new SpecialToken(token, languageIds[token]));
        }
        var special = new SpecialTokens
        {
            Bos = ResolveSpecial(settings, "bos_token", "<s>", Lookup, vocabPath),
            Eos = ResolveSpecial(settings, "eos_token", "</s>", Lookup, vocabPath),
            Unk = ResolveSpecial(settings, "unk_token", "<unk>", Lookup, vocabPath),
            Pad = ResolveSpecial(settings, "pad_token", "<pad>", Lookup, vocabPath),
            Additional = additional,
        };
        foreach (SpecialToken token in special.All)
            if (!added.Any(t => t.Content == token.Content))
                added.Add(new AddedToken(token.Content, token.Id, Special: true));

        string sourceLanguage = settings.Config?.GetString("src_lang") ?? "en";
        string? targetLanguage = settings.Config?.GetString("tgt_lang");
        foreach ((string field, string? language) in new[] { ("src_lang", sourceLanguage), ("tgt_lang", targetLanguage) })
            if (language is not null && !languageIds.ContainsKey($"__{language}__"))
                throw new ModelLoadException(configPath, $"{field} '{language}' is not in the '{listName}' language list");

        int decoderStart = config?.DecoderStartTokenId ?? special.Eos!.Id;
        return new M2M100Tokenizer(sp, encoder, decoder, languageIds, vocabSize, special, added.AsReadOnly(),
            settings.CleanUpTokenizationSpaces, decoderStart, sourceLanguage, targetLanguage);
    }

    public override int[] EncodeSource(string text) => EncodeWithLanguage(text, SourceLanguage);

    /// <summary>Target ids; throws when no target language is set.</summary>
    public override int[] EncodeTarget(string text) =>
        EncodeWithLanguage(text, TargetLanguage ?? throw new InvalidInputException(
            "M2M100 targets start with the target language token, but no tgt_lang is set (tokenizer_config.json or WithLanguages)"));

    private int[] EncodeWithLanguage(string text, string language)
    {
        List<int> ids = EncodeSegments(text, _sp.EncodeToPieces, PieceToId);
        return [GetLanguageTokenId(language), .. ids, EosTokenId!.Value];
    }

    private int PieceToId(string piece) =>
        _languageTokenIds.TryGetValue(piece, out int lang) ? lang
        : _encoder.TryGetValue(piece, out int id) ? id : UnkTokenId!.Value;

    public override string DecodeTarget(ReadOnlySpan<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null) =>
        DecodeSlow(ids, skipSpecialTokens, cleanUpTokenizationSpaces, _legacyAdded, ConvertTokensToString);

    /// <summary>M2M100Tokenizer.convert_tokens_to_string (transformers 4.38): special tokens written as they are,
    /// runs of pieces joined by SentencePiece, the result stripped.</summary>
    private string ConvertTokensToString(List<string> tokens) =>
        JoinWithSpecials(tokens, _sp.DecodePieces, _ => "", "");

    /// <summary>Added tokens, then language tokens, then vocab.json; ids in the vocabulary's range that none of
    /// them has (the made-up words) read as &lt;unk&gt;, as transformers gives them.</summary>
    public override string IdToToken(int id)
    {
        if (TryAddedContent(id, out string content))
            return content;
        if (_idToLanguageToken.TryGetValue(id, out string? language))
            return language;
        if ((uint)id < (uint)_decoder.Length && _decoder[id] is { } piece)
            return piece;
        if ((uint)id < (uint)_vocabSize)
            return SpecialTokens.Unk!.Content;
        throw UnknownId(id);
    }

    public override int? TokenToId(string token) =>
        AddedId(token) ?? (_languageTokenIds.TryGetValue(token, out int lang) ? lang
            : _encoder.TryGetValue(token, out int id) ? id : null);
}
