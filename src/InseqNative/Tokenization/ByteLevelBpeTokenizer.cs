using System.Runtime.InteropServices;
using System.Text;
using Microsoft.ML.Tokenizers;
using InseqNative.Loading;

namespace InseqNative.Tokenization;

/// <summary>
/// GPT-2-style byte-level BPE (GPT2Tokenizer), reproducing transformers' slow tokenizer: the text is cut at added
/// tokens (so "&lt;|endoftext|&gt;" written in the text becomes its id), every other piece is BPE-encoded by
/// Microsoft.ML.Tokenizers' CodeGenTokenizer (verified to give Hugging Face's ids), and decoding maps the vocabulary
/// characters back to bytes and decodes UTF-8 with U+FFFD replacement.
/// </summary>
public sealed class ByteLevelBpeTokenizer : TextTokenizer
{
    private readonly CodeGenTokenizer _bpe;
    private readonly string?[] _idToToken;
    private readonly Dictionary<string, int> _tokenToId;
    private readonly Dictionary<string, AddedToken> _addedByContent;
    private readonly HashSet<int> _legacyAddedIds;
    private readonly IReadOnlyList<AddedToken> _addedTokens;
    private readonly AddedTokenSplitter _splitter;
    private readonly bool _addPrefixSpace;
    private readonly bool _addBos;
    private readonly bool _addEos;
    private readonly bool _cleanUpDefault;

    private ByteLevelBpeTokenizer(CodeGenTokenizer bpe, string?[] idToToken, Dictionary<string, int> tokenToId,
        IReadOnlyList<AddedToken> addedTokens, SpecialTokens special, bool addPrefixSpace, bool addBos, bool addEos,
        bool cleanUpDefault, int baseVocabSize)
        : base(special, addedTokens.Where(t => t.Special).Select(t => t.Id))
    {
        _bpe = bpe;
        _idToToken = idToToken;
        _tokenToId = tokenToId;
        _addedTokens = addedTokens;
        _addedByContent = addedTokens.ToDictionary(t => t.Content, StringComparer.Ordinal);
        var namedSpecialIds = special.All.Select(t => t.Id).ToHashSet();
        // transformers' "legacy added tokens": added, not special; decode keeps their text verbatim and puts spaces
        // around them (spaces_between_special_tokens).
        _legacyAddedIds = addedTokens.Where(t => !t.Special && !namedSpecialIds.Contains(t.Id) && t.Id >= baseVocabSize)
            .Select(t => t.Id).ToHashSet();
        _splitter = new AddedTokenSplitter(addedTokens);
        _addPrefixSpace = addPrefixSpace;
        _addBos = addBos;
        _addEos = addEos;
        _cleanUpDefault = cleanUpDefault;
    }

    public override int VocabSize => _idToToken.Length;
    public override IReadOnlyList<AddedToken> AddedTokens => _addedTokens;

    /// <summary>Builds the tokenizer from a vocabulary (token → id, as vocab.json) and merges file bytes
    /// (merges.txt layout: an optional "#version" line, then "a b" per line).</summary>
    internal static ByteLevelBpeTokenizer Create(string sourceDescription, Dictionary<string, int> vocab,
        byte[] vocabJsonUtf8, byte[] mergesUtf8, IEnumerable<AddedToken> modelAddedTokens,
        TokenizerFolderSettings settings, ModelConfig? config, bool? addPrefixSpaceFromModelFile)
    {
        CodeGenTokenizer bpe;
        try
        {
            using var vocabStream = new MemoryStream(vocabJsonUtf8, writable: false);
            using var mergesStream = new MemoryStream(mergesUtf8, writable: false);
            bpe = CodeGenTokenizer.Create(vocabStream, mergesStream, addPrefixSpace: false,
                addBeginOfSentence: false, addEndOfSentence: false);
        }
        catch (Exception e) when (e is not InseqException)
        {
            throw new ModelLoadException(sourceDescription, $"cannot build the byte-level BPE tokenizer: {e.Message}", e);
        }

        int baseVocabSize = vocab.Count == 0 ? 0 : vocab.Values.Max() + 1;
        var tokenToId = new Dictionary<string, int>(vocab, StringComparer.Ordinal);
        var added = new List<AddedToken>();
        void AddToken(AddedToken token)
        {
            int existing = added.FindIndex(t => t.Content == token.Content);
            if (existing >= 0)
            {
                // Later sources only refine flags; the id stays the first one seen (they agree in saved folders).
                added[existing] = token with { Id = added[existing].Id, Special = added[existing].Special || token.Special };
                return;
            }
            added.Add(token);
            tokenToId.TryAdd(token.Content, token.Id);
        }
        foreach (AddedToken token in modelAddedTokens)
            AddToken(token);
        foreach (AddedToken token in settings.AddedWithIds)
            AddToken(token);

        int NextId() => Math.Max(baseVocabSize, added.Count == 0 ? 0 : added.Max(t => t.Id) + 1);

        // A special token named by the files but absent from the vocabulary is appended, as transformers does.
        SpecialToken? Resolve(AddedToken? named, int? configId, string role)
        {
            if (named is not null)
            {
                if (!tokenToId.TryGetValue(named.Content, out int id))
                    id = NextId();
                AddToken(named with { Id = id, Special = true });
                return new SpecialToken(named.Content, id);
            }
            if (configId is { } cid && cid >= 0 && TryGetToken(cid) is { } content)
            {
                AddToken(new AddedToken(content, cid, Special: true));
                return new SpecialToken(content, cid);
            }
            // GPT2Tokenizer's own defaults for bos/eos/unk.
            if (role != "pad_token" && tokenToId.TryGetValue(Gpt2EndOfText, out int eot))
            {
                AddToken(new AddedToken(Gpt2EndOfText, eot, Special: true));
                return new SpecialToken(Gpt2EndOfText, eot);
            }
            return null;
        }
        string? TryGetToken(int id)
        {
            foreach (KeyValuePair<string, int> pair in tokenToId)
                if (pair.Value == id)
                    return pair.Key;
            return null;
        }

        var special = new SpecialTokens
        {
            Bos = Resolve(settings.Named.GetValueOrDefault("bos_token"), config?.BosTokenId, "bos_token"),
            Eos = Resolve(settings.Named.GetValueOrDefault("eos_token"), config?.EosTokenId, "eos_token"),
            Unk = Resolve(settings.Named.GetValueOrDefault("unk_token"), null, "unk_token"),
            Pad = Resolve(settings.Named.GetValueOrDefault("pad_token"), config?.PadTokenId, "pad_token"),
            Additional = settings.AdditionalSpecial.Select(t => Resolve(t, null, "additional")!).ToArray(),
        };

        int size = Math.Max(baseVocabSize, added.Count == 0 ? 0 : added.Max(t => t.Id) + 1);
        var idToToken = new string?[size];
        foreach (KeyValuePair<string, int> pair in vocab)
            idToToken[pair.Value] = pair.Key;
        foreach (AddedToken token in added)
            idToToken[token.Id] ??= token.Content;

        return new ByteLevelBpeTokenizer(bpe, idToToken, tokenToId, added.AsReadOnly(), special,
            settings.AddPrefixSpace ?? addPrefixSpaceFromModelFile ?? false, settings.AddBosToken, settings.AddEosToken,
            settings.CleanUpTokenizationSpaces, baseVocabSize);
    }

    private const string Gpt2EndOfText = "<|endoftext|>";

    public override int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 2);
        if (_addBos && BosTokenId is { } bos)
            ids.Add(bos);
        if (_addPrefixSpace)
            text = " " + text;
        foreach (AddedTokenSplitter.Segment segment in _splitter.Split(text))
        {
            if (segment.Token is { } token)
                ids.Add(token.Id);
            else
                ids.AddRange(_bpe.EncodeToIds(segment.Text, addPrefixSpace: false, addBeginningOfSentence: false,
                    addEndOfSentence: false, considerPreTokenization: true, considerNormalization: true));
        }
        if (_addEos && EosTokenId is { } eos)
            ids.Add(eos);
        return [.. ids];
    }

    public override string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null)
    {
        var pieces = new List<string>();
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            string token = IdToToken(id);
            if (skipSpecialTokens && IsSpecial(id))
                continue;
            if (_legacyAddedIds.Contains(id))
            {
                FlushBytes();
                pieces.Add(token);
            }
            else
            {
                ByteLevelAlphabet.AppendBytes(token, bytes);
            }
        }
        FlushBytes();
        string text = string.Join(" ", pieces);
        return cleanUpTokenizationSpaces ?? _cleanUpDefault ? CleanUpTokenization(text) : text;

        void FlushBytes()
        {
            if (bytes.Count == 0)
                return;
            string decoded = ByteLevelAlphabet.DecodeUtf8Replacing(CollectionsMarshal.AsSpan(bytes));
            bytes.Clear();
            if (decoded.Length > 0)
                pieces.Add(decoded);
        }
    }

    public override string IdToToken(int id)
    {
        if ((uint)id < (uint)_idToToken.Length && _idToToken[id] is { } token)
            return token;
        throw UnknownId(id);
    }

    public override int? TokenToId(string token) => _tokenToId.TryGetValue(token, out int id) ? id : null;

    public override string ToDisplayToken(string token) =>
        _addedByContent.ContainsKey(token) ? token : ByteLevelAlphabet.ToDisplayText(token);
}
