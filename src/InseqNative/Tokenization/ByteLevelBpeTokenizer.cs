using System.Runtime.InteropServices;
using System.Text;
using InseqNative.Loading;

namespace InseqNative.Tokenization;

/// <summary>
/// GPT-2-style byte-level BPE (GPT2Tokenizer), reproducing transformers' slow tokenizer: the text is cut at added
/// tokens (so "&lt;|endoftext|&gt;" written in the text becomes its id), every other piece is cut by GPT-2's regex and
/// BPE-encoded (<see cref="BytePairMerger"/>, checked against transformers' ids), and decoding maps the vocabulary
/// characters back to bytes and decodes UTF-8 with U+FFFD replacement.
/// From a tokenizer.json with a Split pre-tokenizer (Llama 3, Qwen2) it follows the fast tokenizer instead: the
/// text between added tokens is NFC-normalized when asked, cut by the Split regex, and each piece is BPE-encoded on
/// its own (whole if ignore_merges and the piece is a vocabulary token); the special tokens come from the
/// TemplateProcessing post-processor unless tokenizer_config.json sets add_bos_token; decoding does not put spaces
/// around added tokens.
/// </summary>
public sealed class ByteLevelBpeTokenizer : TextTokenizer
{
    private readonly BytePairMerger _bpe;
    private readonly SplitPreTokenizer _split;
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
    private readonly SplitByteLevelPipeline? _pipeline;
    private readonly int[] _prefixIds, _suffixIds;

    private ByteLevelBpeTokenizer(BytePairMerger bpe, string?[] idToToken, Dictionary<string, int> tokenToId,
        IReadOnlyList<AddedToken> addedTokens, SpecialTokens special, bool addPrefixSpace, bool addBos, bool addEos,
        bool cleanUpDefault, int baseVocabSize, SplitByteLevelPipeline? pipeline,
        int[] prefixIds, int[] suffixIds)
        : base(special, addedTokens.Where(t => t.Special).Select(t => t.Id))
    {
        _bpe = bpe;
        _split = pipeline?.Split ?? Gpt2Split;
        _idToToken = idToToken;
        _tokenToId = tokenToId;
        _addedTokens = addedTokens;
        _addedByContent = addedTokens.ToDictionary(t => t.Content, StringComparer.Ordinal);
        var namedSpecialIds = special.All.Select(t => t.Id).ToHashSet();
        // transformers' "legacy added tokens": added, not special; decode keeps their text verbatim and puts spaces
        // around them (spaces_between_special_tokens). Fast tokenizers (the Split pipeline) do not.
        _legacyAddedIds = pipeline is not null ? []
            : addedTokens.Where(t => !t.Special && !namedSpecialIds.Contains(t.Id) && t.Id >= baseVocabSize)
                .Select(t => t.Id).ToHashSet();
        _splitter = new AddedTokenSplitter(addedTokens);
        _addPrefixSpace = addPrefixSpace;
        _addBos = addBos;
        _addEos = addEos;
        _cleanUpDefault = cleanUpDefault;
        _pipeline = pipeline;
        _prefixIds = prefixIds;
        _suffixIds = suffixIds;
    }

    public override int VocabSize => _idToToken.Length;
    public override IReadOnlyList<AddedToken> AddedTokens => _addedTokens;

    /// <summary>Builds the tokenizer from a vocabulary (token → id, as vocab.json) and merges file bytes
    /// (merges.txt layout: an optional "#version" line, then "a b" per line).</summary>
    internal static ByteLevelBpeTokenizer Create(string sourceDescription, Dictionary<string, int> vocab,
        byte[] mergesUtf8, IEnumerable<AddedToken> modelAddedTokens,
        TokenizerFolderSettings settings, ModelConfig? config, bool? addPrefixSpaceFromModelFile,
        SplitByteLevelPipeline? pipeline = null)
    {
        BytePairMerger bpe = BytePairMerger.Create(sourceDescription, vocab, mergesUtf8);

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
            // The template's lone leading special token is the BOS of a fast tokenizer without settings.
            if (role == "bos_token" && pipeline?.Template?.Before is [{ } first] && tokenToId.ContainsKey(first.Content))
            {
                AddToken(new AddedToken(first.Content, first.Id, Special: true));
                return new SpecialToken(first.Content, first.Id);
            }
            // GPT2Tokenizer's own defaults for bos/eos/unk.
            if (pipeline is null && role != "pad_token" && tokenToId.TryGetValue(Gpt2EndOfText, out int eot))
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

        (int[] prefix, int[] suffix) = pipeline is null ? ([], []) : TemplateIds(pipeline, settings, special);
        return new ByteLevelBpeTokenizer(bpe, idToToken, tokenToId, added.AsReadOnly(), special,
            settings.AddPrefixSpace ?? addPrefixSpaceFromModelFile ?? false, settings.AddBosToken, settings.AddEosToken,
            settings.CleanUpTokenizationSpaces, baseVocabSize, pipeline, prefix, suffix);
    }

    /// <summary>Ids put around the text: the template's, except that add_bos_token / add_eos_token written in
    /// tokenizer_config.json decide about BOS / EOS (LlamaTokenizerFast rebuilds its template from them).</summary>
    private static (int[] Prefix, int[] Suffix) TemplateIds(SplitByteLevelPipeline pipeline, TokenizerFolderSettings settings,
        SpecialTokens special)
    {
        var prefix = pipeline.Template?.Before.Select(t => t.Id).ToList() ?? [];
        var suffix = pipeline.Template?.After.Select(t => t.Id).ToList() ?? [];
        if (settings.AddBosTokenSetting is { } addBos && special.Bos is { } bos)
        {
            prefix.Remove(bos.Id);
            if (addBos)
                prefix.Insert(0, bos.Id);
        }
        if (settings.AddEosToken && special.Eos is { } eos && !suffix.Contains(eos.Id))
            suffix.Add(eos.Id);
        return ([.. prefix], [.. suffix]);
    }

    private const string Gpt2EndOfText = "<|endoftext|>";

    /// <summary>GPT-2's pre-tokenization (encoder.py's pattern, tokenizers' ByteLevel use_regex).</summary>
    private static readonly SplitPreTokenizer Gpt2Split = new(new System.Text.RegularExpressions.Regex(
        @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+",
        System.Text.RegularExpressions.RegexOptions.CultureInvariant));


    public override int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (_pipeline is not null)
            return EncodeSplit(text, _pipeline);
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
                foreach (string piece in _split.Split(segment.Text))
                    _bpe.Encode(piece, ignoreMerges: false, ids);
        }
        if (_addEos && EosTokenId is { } eos)
            ids.Add(eos);
        return [.. ids];
    }

    private int[] EncodeSplit(string text, SplitByteLevelPipeline pipeline)
    {
        var ids = new List<int>(text.Length / 3 + 2 + _prefixIds.Length + _suffixIds.Length);
        ids.AddRange(_prefixIds);
        foreach (AddedTokenSplitter.Segment segment in _splitter.Split(text))
        {
            if (segment.Token is { } token)
            {
                ids.Add(token.Id);
                continue;
            }
            string normalized = pipeline.NfcNormalize ? NfcNormalizer.Normalize(segment.Text) : segment.Text;
            foreach (string piece in _split.Split(normalized))
                _bpe.Encode(piece, pipeline.IgnoreMerges, ids);
        }
        ids.AddRange(_suffixIds);
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
            else if (_pipeline is not null)
            {
                ByteLevelAlphabet.AppendTokenBytes(token, bytes);
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
