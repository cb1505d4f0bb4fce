namespace InseqNative.Tokenization;

/// <summary>
/// Text ↔ token ids for one model, with Hugging Face's semantics: <see cref="Encode"/> gives the ids
/// <c>tokenizer(text)["input_ids"]</c> gives (special tokens written in the text map to their ids),
/// <see cref="Decode"/> matches <c>tokenizer.decode</c>, <see cref="ConvertIdsToTokens"/> returns raw vocabulary
/// strings ("Ġquick") and <see cref="ConvertIdsToDisplayTokens"/> readable ones (" quick").
/// Instances are immutable and safe to share between threads.
/// </summary>
public abstract class TextTokenizer
{
    private readonly HashSet<int> _specialIds;

    protected TextTokenizer(SpecialTokens specialTokens, IEnumerable<int> extraSpecialIds)
    {
        SpecialTokens = specialTokens;
        _specialIds = [.. specialTokens.All.Select(t => t.Id), .. extraSpecialIds];
    }

    /// <summary>Number of ids the tokenizer can produce (base vocabulary plus added tokens), as <c>len(tokenizer)</c>.</summary>
    public abstract int VocabSize { get; }

    public SpecialTokens SpecialTokens { get; }
    public int? BosTokenId => SpecialTokens.Bos?.Id;
    public int? EosTokenId => SpecialTokens.Eos?.Id;
    public int? UnkTokenId => SpecialTokens.Unk?.Id;
    public int? PadTokenId => SpecialTokens.Pad?.Id;

    /// <summary>Tokens matched verbatim in input text before the model's tokenization.</summary>
    public abstract IReadOnlyList<AddedToken> AddedTokens { get; }

    /// <summary>Ids of <paramref name="text"/>, with the special tokens the tokenizer adds by default (none for GPT-2).</summary>
    public abstract int[] Encode(string text);

    /// <summary>Text of <paramref name="ids"/>. Invalid UTF-8 becomes U+FFFD as in Python's errors="replace".
    /// <paramref name="cleanUpTokenizationSpaces"/> null uses the folder's tokenizer_config setting.</summary>
    public abstract string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null);

    /// <summary>The raw vocabulary string of one id; throws <see cref="InvalidInputException"/> for unknown ids.</summary>
    public abstract string IdToToken(int id);

    /// <summary>The id of a raw vocabulary string or added token, or null.</summary>
    public abstract int? TokenToId(string token);

    /// <summary>Readable form of a raw token (byte-level BPE: "Ġquick" → " quick"). Special tokens stay as they are.</summary>
    public abstract string ToDisplayToken(string token);

    public bool IsSpecial(int id) => _specialIds.Contains(id);

    public string[] ConvertIdsToTokens(ReadOnlySpan<int> ids)
    {
        var tokens = new string[ids.Length];
        for (int i = 0; i < ids.Length; i++)
            tokens[i] = IdToToken(ids[i]);
        return tokens;
    }

    public string[] ConvertIdsToDisplayTokens(ReadOnlySpan<int> ids)
    {
        var tokens = new string[ids.Length];
        for (int i = 0; i < ids.Length; i++)
            tokens[i] = ToDisplayToken(IdToToken(ids[i]));
        return tokens;
    }

    protected InvalidInputException UnknownId(int id) =>
        new($"token id {id} is outside the tokenizer's vocabulary (0..{VocabSize - 1})");

    /// <summary>transformers' <c>clean_up_tokenization</c>: removes the space before punctuation and English
    /// contractions that word-level tokenizers leave behind.</summary>
    protected static string CleanUpTokenization(string text) => text
        .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
        .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");
}
