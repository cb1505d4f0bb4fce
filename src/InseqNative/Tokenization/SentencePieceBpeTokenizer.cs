using System.Text;
using Microsoft.ML.Tokenizers;
using InseqNative.Loading;

namespace InseqNative.Tokenization;

/// <summary>
/// Llama's SentencePiece BPE tokenizer (<c>tokenizer.model</c>), reproducing transformers' slow LlamaTokenizer
/// with <c>legacy=True</c>: the text is cut at added tokens ("&lt;s&gt;" written in the text becomes its id), every
/// other piece is encoded by Microsoft.ML.Tokenizers' LlamaTokenizer (verified to give Hugging Face's ids, dummy
/// prefix and byte fallback included), and BOS/EOS are added as tokenizer_config.json's add_bos_token /
/// add_eos_token say. Decoding follows <c>convert_tokens_to_string</c>: "▁" becomes a space, byte pieces
/// (&lt;0xE2&gt;...) become bytes decoded as UTF-8 with U+FFFD replacement, the first piece's "▁" is dropped,
/// special tokens are written as they are.
/// </summary>
public sealed class SentencePieceBpeTokenizer : TextTokenizer
{
    private const char Underline = '\u2581'; // ▁

    private readonly LlamaTokenizer _sp;
    private readonly string[] _idToToken;
    private readonly Dictionary<string, int> _tokenToId;
    private readonly IReadOnlyList<AddedToken> _addedTokens;
    private readonly HashSet<string> _specialContents;
    private readonly AddedTokenSplitter _splitter;
    private readonly bool _addBos, _addEos, _cleanUpDefault, _dummyPrefix;

    private SentencePieceBpeTokenizer(LlamaTokenizer sp, string[] idToToken, Dictionary<string, int> tokenToId,
        IReadOnlyList<AddedToken> addedTokens, SpecialTokens special, bool addBos, bool addEos, bool cleanUpDefault)
        : base(special, addedTokens.Where(t => t.Special).Select(t => t.Id))
    {
        _sp = sp;
        _idToToken = idToToken;
        _tokenToId = tokenToId;
        _addedTokens = addedTokens;
        _specialContents = [.. special.All.Select(t => t.Content), .. addedTokens.Where(t => t.Special).Select(t => t.Content)];
        _splitter = new AddedTokenSplitter(addedTokens);
        _addBos = addBos;
        _addEos = addEos;
        _cleanUpDefault = cleanUpDefault;
        _dummyPrefix = sp.AddDummyPrefix;
    }

    public override int VocabSize => _idToToken.Length;
    public override IReadOnlyList<AddedToken> AddedTokens => _addedTokens;

    internal static SentencePieceBpeTokenizer Create(string modelPath, TokenizerFolderSettings settings, ModelConfig? config)
    {
        LlamaTokenizer sp;
        try
        {
            using FileStream stream = File.OpenRead(modelPath);
            sp = LlamaTokenizer.Create(stream, addBeginOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(modelPath, $"cannot read the file: {e.Message}", e);
        }
        catch (Exception e) when (e is not InseqException)
        {
            throw new ModelLoadException(modelPath, $"cannot build the SentencePiece tokenizer: {e.Message}", e);
        }

        var tokenToId = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (KeyValuePair<string, int> pair in sp.Vocabulary)
            tokenToId[pair.Key] = pair.Value;
        int baseSize = tokenToId.Count == 0 ? 0 : tokenToId.Values.Max() + 1;

        var added = new List<AddedToken>();
        void AddToken(AddedToken token)
        {
            int existing = added.FindIndex(t => t.Content == token.Content);
            if (existing >= 0)
            {
                added[existing] = added[existing] with { Special = added[existing].Special || token.Special };
                return;
            }
            added.Add(token);
            tokenToId.TryAdd(token.Content, token.Id);
        }
        foreach (AddedToken token in settings.AddedWithIds)
            AddToken(token);

        SpecialToken? Resolve(AddedToken? named, int? configId, string? fallback)
        {
            string? content = named?.Content;
            if (content is null && configId is { } cid)
                content = tokenToId.FirstOrDefault(p => p.Value == cid).Key;
            content ??= fallback;
            if (content is null || !tokenToId.TryGetValue(content, out int id))
                return null; // a name the vocabulary lacks: SentencePiece would map it to <unk>, never emit it
            AddToken((named ?? new AddedToken(content, id, Special: true)) with { Id = id, Special = true });
            return new SpecialToken(content, id);
        }

        // LlamaTokenizer's defaults: unk "<unk>", bos "<s>", eos "</s>", no pad.
        var special = new SpecialTokens
        {
            Bos = Resolve(settings.Named.GetValueOrDefault("bos_token"), config?.BosTokenId, "<s>"),
            Eos = Resolve(settings.Named.GetValueOrDefault("eos_token"), config?.EosTokenId, "</s>"),
            Unk = Resolve(settings.Named.GetValueOrDefault("unk_token"), null, "<unk>"),
            Pad = Resolve(settings.Named.GetValueOrDefault("pad_token"), config?.PadTokenId, null),
            Additional = settings.AdditionalSpecial.Select(t => Resolve(t, null, null)).OfType<SpecialToken>().ToArray(),
        };

        int size = Math.Max(baseSize, added.Count == 0 ? 0 : added.Max(t => t.Id) + 1);
        var idToToken = new string[size];
        foreach (KeyValuePair<string, int> pair in tokenToId)
            idToToken[pair.Value] ??= pair.Key;
        for (int i = 0; i < size; i++)
            if (idToToken[i] is null)
                throw new ModelLoadException(modelPath, $"token id {i} has no piece (the vocabulary has gaps)");

        return new SentencePieceBpeTokenizer(sp, idToToken, tokenToId, added.AsReadOnly(), special,
            settings.AddBosTokenOr(true), settings.AddEosToken, settings.CleanUpTokenizationSpaces);
    }

    public override int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 2 + 2);
        if (_addBos && BosTokenId is { } bos)
            ids.Add(bos);
        // legacy=True: every piece between added tokens is encoded on its own, with SentencePiece's dummy prefix.
        foreach (AddedTokenSplitter.Segment segment in _splitter.Split(text))
        {
            if (segment.Token is { } token)
                ids.Add(token.Id);
            else
                ids.AddRange(_sp.EncodeToIds(segment.Text, addBeginningOfSentence: false, addEndOfSentence: false,
                    considerPreTokenization: true, considerNormalization: true));
        }
        if (_addEos && EosTokenId is { } eos)
            ids.Add(eos);
        return [.. ids];
    }

    public override string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null)
    {
        var tokens = new List<string>(ids.Length);
        foreach (int id in ids)
        {
            string token = IdToToken(id);
            if (skipSpecialTokens && IsSpecial(id))
                continue;
            tokens.Add(token);
        }
        if (tokens.Count == 0)
            return "";
        // The prefix space SentencePiece added when encoding is removed again.
        if (tokens[0].Length > 0 && tokens[0][0] == Underline)
            tokens[0] = tokens[0][1..];

        var text = new StringBuilder();
        var pieces = new List<string>();
        bool previousSpecial = false;
        for (int i = 0; i < tokens.Count; i++)
        {
            string token = tokens[i];
            if (_specialContents.Contains(token))
            {
                if (!previousSpecial && i != 0)
                    text.Append(' '); // legacy: a space before a special token that follows text
                text.Append(DecodePieces(pieces)).Append(token);
                pieces.Clear();
                previousSpecial = true;
            }
            else
            {
                pieces.Add(token);
                previousSpecial = false;
            }
        }
        text.Append(DecodePieces(pieces));
        string result = text.ToString();
        return cleanUpTokenizationSpaces ?? _cleanUpDefault ? CleanUpTokenization(result) : result;
    }

    /// <summary>SentencePiece's decode of plain pieces: byte pieces to bytes, "▁" to spaces, the leading space of
    /// the dummy prefix removed.</summary>
    private string DecodePieces(List<string> pieces)
    {
        if (pieces.Count == 0)
            return "";
        var bytes = new List<byte>();
        foreach (string piece in pieces)
        {
            if (TryByte(piece, out byte b))
                bytes.Add(b);
            else
                bytes.AddRange(Encoding.UTF8.GetBytes(piece.Replace(Underline, ' ')));
        }
        string text = DecodeUtf8PerByte(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes));
        if (_dummyPrefix && pieces[0].Length > 0 && pieces[0][0] == Underline && text.StartsWith(' '))
            text = text[1..];
        return text;
    }

    private static string DecodeUtf8PerByte(ReadOnlySpan<byte> bytes) => SentencePieceModel.DecodeUtf8PerByte(bytes);

    private static bool TryByte(string piece, out byte value) => SentencePieceModel.TryByte(piece, out value);

    public override string IdToToken(int id)
    {
        if ((uint)id < (uint)_idToToken.Length)
            return _idToToken[id];
        throw UnknownId(id);
    }

    public override int? TokenToId(string token) => _tokenToId.TryGetValue(token, out int id) ? id : null;

    /// <summary>"▁quick" → " quick"; special tokens and byte pieces stay as they are.</summary>
    public override string ToDisplayToken(string token) =>
        _specialContents.Contains(token) || TryByte(token, out _) ? token : token.Replace(Underline, ' ');
}
