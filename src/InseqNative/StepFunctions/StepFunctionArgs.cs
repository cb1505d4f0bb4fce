namespace InseqNative.StepFunctions;

/// <summary>Arguments Inseq's built-in step functions take (its names in snake_case map onto these).</summary>
public sealed record StepFunctionArgs
{
    /// <summary>probability, contrast_prob, contrast_prob_diff: use log-probabilities (Inseq's <c>logprob</c>).</summary>
    public bool LogProb { get; init; }
    /// <summary>kl_divergence: keep only the k most likely tokens of the contrast distribution (0 = all).</summary>
    public int TopK { get; init; }
    /// <summary>kl_divergence, top_p_size: nucleus mass (1 = no filtering).</summary>
    public float TopP { get; init; } = 1f;
    /// <summary>kl_divergence, top_p_size: tokens kept at least by top-p filtering.</summary>
    public int MinTokensToKeep { get; init; } = 1;

    public static StepFunctionArgs Default { get; } = new();
}
