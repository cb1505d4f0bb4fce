namespace InseqNative.StepFunctions;

/// <summary>
/// What a step function sees at one generation step: the next-token logits of the original forward, the token that
/// was produced (<see cref="Target"/>), and — for contrastive functions — the contrast token and the logits the
/// contrast is taken from (the same row when Inseq reuses the original forward, another forward's row otherwise).
/// </summary>
public readonly ref struct StepRow
{
    public ReadOnlySpan<float> Logits { get; }
    public int Target { get; }
    public int ContrastTarget { get; }
    public ReadOnlySpan<float> ContrastLogits { get; }
    /// <summary>True when <see cref="ContrastLogits"/> is the original row itself (gradients then flow through
    /// both terms); false when it comes from another forward (a constant for the gradient).</summary>
    public bool ContrastSharesLogits { get; }

    public StepRow(ReadOnlySpan<float> logits, int target, int contrastTarget, ReadOnlySpan<float> contrastLogits,
        bool contrastSharesLogits)
    {
        Logits = logits;
        Target = target;
        ContrastTarget = contrastTarget;
        ContrastLogits = contrastLogits;
        ContrastSharesLogits = contrastSharesLogits;
    }

    public static StepRow Plain(ReadOnlySpan<float> logits, int target) => new(logits, target, target, logits, true);

    public int VocabSize => Logits.Length;
}
