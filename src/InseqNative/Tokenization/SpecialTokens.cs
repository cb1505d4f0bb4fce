namespace InseqNative.Tokenization;

/// <summary>A special token's text and id.</summary>
public sealed record SpecialToken(string Content, int Id)
{
    public override string ToString() => $"{Content} ({Id})";
}

/// <summary>The named special tokens of a tokenizer. Any may be absent (GPT-2 has no pad token).</summary>
public sealed record SpecialTokens
{
    public SpecialToken? Bos { get; init; }
    public SpecialToken? Eos { get; init; }
    public SpecialToken? Unk { get; init; }
    public SpecialToken? Pad { get; init; }
    public IReadOnlyList<SpecialToken> Additional { get; init; } = [];

    /// <summary>Every named special token (duplicates removed), as transformers' <c>all_special_tokens</c>.</summary>
    public IEnumerable<SpecialToken> All =>
        new[] { Bos, Eos, Unk, Pad }.OfType<SpecialToken>().Concat(Additional).DistinctBy(t => t.Id);
}
