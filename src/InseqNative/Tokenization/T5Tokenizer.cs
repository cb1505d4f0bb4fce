using System.Text.RegularExpressions;
using InseqNative.Loading;

namespace InseqNative.Tokenization;

/// <summary>
/// transformers' slow T5Tokenizer with <c>legacy=True</c> (the default of T5/Flan-T5/mT5 checkpoints): ids are the
/// SentencePiece Unigram ids of <c>spiece.model</c>; the sentinels <c>&lt;extra_id_N&gt;</c> take the ids
/// after the pieces, counting down (<c>&lt;extra_id_0&gt;</c> is the last id), from the folder's added tokens or
/// <c>extra_ids</c> (default 100). Text is cut at added tokens (sentinels strip the spaces around them), each
/// segment is encoded with SentencePiece's dummy prefix, and &lt;/s&gt; is appended unless the text already ends with
/// it. Sources and targets are tokenized alike. pad 0, eos 1, unk 2 in T5's files.
/// </summary>
public sealed partial class T5Tokenizer : Seq2SeqTokenizer
{
    public const string SentencePieceFile = "spiece.model";
    private const char Underline = '\u2581';

    private readonly SentencePieceModel _sp;
    private readonly int _vocabSize;
    private readonly IReadOnlySet<string> _legacyAdded;
    private readonly bool _addPrefixSpace;

    private T5Tokenizer(SentencePieceModel sp, SpecialTokens special, IReadOnlyList<AddedToken> added, int vocabSize,
        bool cleanUp, bool addPrefixSpace, int decoderStart)
        : base(special, added, cleanUp, decoderStart)
    {
        _sp = sp;
        _vocabSize = vocabSize;
        _addPrefixSpace = addPrefixSpace;
        _legacyAdded = LegacyAddedTokens(sp.PieceCount);
    }

    public override int VocabSize => _vocabSize;

    [GeneratedRegex(@"^<extra_id_(\d+)>$")]
    private static partial Regex SentinelPattern();

    internal static T5Tokenizer Create(string folder, TokenizerFolderSettings settings, ModelConfig? config)
    {
        string spPath = Path.Combine(folder, SentencePieceFile);
        SentencePieceModel sp = SentencePieceModel.Load(spPath);
        string configPath = settings.Config?.FilePath ?? Path.Combine(folder, TokenizerFolderSettings.TokenizerConfigFile);
        if (settings.Config?.GetBool("legacy") == false)
            throw new UnsupportedModelException(configPath,
                "T5Tokenizer with legacy=false (no dummy prefix after special tokens) is not supported; only legacy=true, transformers' default");

        // Added tokens with ids: tokenizer_config's added_tokens_decoder and added_tokens.json.
        var added = new List<AddedToken>();
        foreach (AddedToken token in settings.AddedWithIds)
            if (!added.Any(t => t.Content == token.Content))
                added.Add(token);

        // Sentinels: T5Tokenizer gives <extra_id_i> id piece_count - 1 + extra_ids - i when the folder lists none.
        int extraIds = settings.Config?.GetInt("extra_ids") ?? 100;
        if (extraIds < 0)
            throw new ModelLoadException(configPath, $"field 'extra_ids' must be non-negative, got {extraIds}");
        bool folderHasSentinels = added.Any(t => SentinelPattern().IsMatch(t.Content))
            || settings.AdditionalSpecial.Any(t => SentinelPattern().IsMatch(t.Content));
        if (!folderHasSentinels)
            for (int i = 0; i < extraIds; i++)
                added.Add(new AddedToken($"<extra_id_{i}>", sp.PieceCount - 1 + extraIds - i, Special: true,
                    LStrip: true, RStrip: true));
        // Sentinels named in additional_special_tokens but not listed with ids get T5's rule too.
        foreach (AddedToken token in settings.AdditionalSpecial)
        {
            if (added.Any(t => t.Content == token.Content))
                continue;
            Match match = SentinelPattern().Match(token.Content);
            if (!match.Success)
                continue;
            int n = int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            added.Add(token with { Id = sp.PieceCount - 1 + extraIds - n, Special = true, LStrip = true, RStrip = true });
        }

        foreach (AddedToken token in added)
            if (token.Id < sp.PieceCount && sp.IdToPiece(token.Id) != token.Content)
                throw new ModelLoadException(configPath,
                    $"added token '{token.Content}' has id {token.Id}, which is the piece '{sp.IdToPiece(token.Id)}' of {SentencePieceFile}");
        int vocabSize = Math.Max(sp.PieceCount, added.Count == 0 ? 0 : added.Max(t => t.Id) + 1);
        for (int id = sp.PieceCount; id < vocabSize; id++)
            if (!added.Any(t => t.Id == id))
                throw new ModelLoadException(configPath, $"token id {id} has no token (the added tokens leave a gap after the {sp.PieceCount} pieces)");

        int? Lookup(string content) =>
            added.FirstOrDefault(t => t.Content == content)?.Id ?? sp.PieceToId(content);
        var additional = new List<SpecialToken>();
        foreach (AddedToken token in settings.AdditionalSpecial)
            if (Lookup(token.Content) is { } id)
                additional.Add(new SpecialToken(token.Content, id));
        if (settings.AdditionalSpecial.Count == 0)
            foreach (AddedToken token in added.Where(t => SentinelPattern().IsMatch(t.Content)))
                additional.Add(new SpecialToken(token.Content, token.Id));

        var special = new SpecialTokens
        {
            Eos = ResolveSpecial(settings, "eos_token", "</s>", Lookup, configPath),
            Unk = ResolveSpecial(settings, "unk_token", "<unk>", Lookup, configPath),
            Pad = ResolveSpecial(settings, "pad_token", "<pad>", Lookup, configPath),
            Additional = additional,
        };
        // The named tokens are matched in text too, as the slow tokenizer's added-tokens trie does.
        foreach (SpecialToken token in new[] { special.Eos, special.Unk, special.Pad }.OfType<SpecialToken>())
            if (!added.Any(t => t.Content == token.Content))
                added.Add(new AddedToken(token.Content, token.Id, Special: true));

        int decoderStart = config?.DecoderStartTokenId ?? special.Pad?.Id ?? 0;
        return new T5Tokenizer(sp, special, added.AsReadOnly(), vocabSize, settings.CleanUpTokenizationSpaces,
            settings.AddPrefixSpace ?? true, decoderStart);
    }

    public override int[] EncodeSource(string text)
    {
        List<int> ids = EncodeSegments(text, _sp.EncodeToPieces, piece => _sp.PieceToId(piece) ?? _sp.UnknownId);
        // _add_eos_if_not_present
        if (EosTokenId is { } eos && (ids.Count == 0 || ids[^1] != eos))
            ids.Add(eos);
        return [.. ids];
    }

    public override int[] EncodeTarget(string text) => EncodeSource(text);

    public override string DecodeTarget(ReadOnlySpan<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null) =>
        DecodeSlow(ids, skipSpecialTokens, cleanUpTokenizationSpaces, _legacyAdded, ConvertTokensToString);

    /// <summary>T5Tokenizer.convert_tokens_to_string: the first token's "▁" is dropped (add_prefix_space), a space
    /// goes before a special token that follows text, special tokens are written as they are.</summary>
    private string ConvertTokensToString(List<string> tokens)
    {
        if (_addPrefixSpace && tokens.Count > 0 && tokens[0].Length > 0 && tokens[0][0] == Underline)
            tokens[0] = tokens[0][1..];
        return JoinWithSpecials(tokens, _sp.DecodePieces, previousSpecial => previousSpecial ? "" : " ", "");
    }

    public override string IdToToken(int id)
    {
        if (TryAddedContent(id, out string content))
            return content;
        if ((uint)id < (uint)_sp.PieceCount)
            return _sp.IdToPiece(id);
        throw UnknownId(id);
    }

    public override int? TokenToId(string token) => AddedId(token) ?? _sp.PieceToId(token);
}
