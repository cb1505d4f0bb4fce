namespace InseqNative.Interop;

/// <summary>Inseq's built-in step functions computed natively (<c>inq_step_fn</c>; values are the ABI's).</summary>
public enum NativeStepFunction
{
    Logit = 0,
    Probability = 1,
    Entropy = 2,
    CrossEntropy = 3,
    Perplexity = 4,
    ContrastLogits = 5,
    ContrastProb = 6,
    ContrastLogitsDiff = 7,
    ContrastProbDiff = 8,
    Pcxmi = 9,
    KlDivergence = 10,
    InContextPvi = 11,
    TopPSize = 12,
}

/// <summary>Maps Inseq's step function ids ("probability", also "probability_fn") to <see cref="NativeStepFunction"/>.</summary>
public static class NativeStepFunctions
{
    static readonly Dictionary<string, NativeStepFunction> ById = new(StringComparer.Ordinal)
    {
        ["logit"] = NativeStepFunction.Logit,
        ["probability"] = NativeStepFunction.Probability,
        ["entropy"] = NativeStepFunction.Entropy,
        ["crossentropy"] = NativeStepFunction.CrossEntropy,
        ["perplexity"] = NativeStepFunction.Perplexity,
        ["contrast_logits"] = NativeStepFunction.ContrastLogits,
        ["contrast_prob"] = NativeStepFunction.ContrastProb,
        ["contrast_logits_diff"] = NativeStepFunction.ContrastLogitsDiff,
        ["contrast_prob_diff"] = NativeStepFunction.ContrastProbDiff,
        ["pcxmi"] = NativeStepFunction.Pcxmi,
        ["kl_divergence"] = NativeStepFunction.KlDivergence,
        ["in_context_pvi"] = NativeStepFunction.InContextPvi,
        ["top_p_size"] = NativeStepFunction.TopPSize,
    };

    /// <summary>Ids of the built-ins that have a native twin.</summary>
    public static IReadOnlyCollection<string> Ids => ById.Keys;

    /// <summary>The native twin of a built-in step function id (Inseq's "_fn" suffix accepted); false for other ids
    /// (user functions, mc_dropout_prob_avg), which the managed path computes.</summary>
    public static bool TryGet(string id, out NativeStepFunction fn)
    {
        ArgumentNullException.ThrowIfNull(id);
        var key = id.EndsWith("_fn", StringComparison.Ordinal) ? id[..^3] : id;
        return ById.TryGetValue(key, out fn);
    }

    /// <summary>Inseq's id of a native step function.</summary>
    public static string Id(NativeStepFunction fn)
    {
        foreach (var (id, f) in ById)
            if (f == fn) return id;
        throw new InvalidInputException($"{(int)fn} is not a native step function");
    }

    /// <summary>Uses a contrast token / distribution.</summary>
    public static bool IsContrastive(NativeStepFunction fn) =>
        fn is >= NativeStepFunction.ContrastLogits and <= NativeStepFunction.InContextPvi;

    /// <summary>Has a gradient with respect to the logits (kl_divergence only when the contrast is another forward's).</summary>
    public static bool IsDifferentiable(NativeStepFunction fn, bool contrastSharesLogits) =>
        fn != NativeStepFunction.TopPSize && !(fn == NativeStepFunction.KlDivergence && contrastSharesLogits);
}
