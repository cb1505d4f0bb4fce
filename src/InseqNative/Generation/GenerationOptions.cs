namespace InseqNative.Generation;

/// <summary>
/// Decoding settings. Greedy unless <see cref="DoSample"/>; sampling applies temperature, then top-k, then top-p
/// (the order of Hugging Face's logits warpers). Null fields fall back to the model's generation_config.json,
/// then to Hugging Face's defaults.
/// </summary>
public sealed record GenerationOptions
{
    /// <summary>Tokens to generate at most (Hugging Face's default is max_length 20 in total; ours is 20 new).</summary>
    public int? MaxNewTokens { get; init; }
    public bool? DoSample { get; init; }
    public float? Temperature { get; init; }
    /// <summary>Keep the k most likely tokens (0 = off).</summary>
    public int? TopK { get; init; }
    /// <summary>Keep the smallest set whose probability mass reaches p (1 = off).</summary>
    public float? TopP { get; init; }
    /// <summary>Seed of the sampler; the same seed gives the same tokens. Null: a random seed.</summary>
    public int? Seed { get; init; }
    /// <summary>Stop a row when it produces an EOS id (default true).</summary>
    public bool StopAtEos { get; init; } = true;
}
