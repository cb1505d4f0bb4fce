namespace InseqNative.Generation;

/// <summary>One generated continuation: the prompt ids, the generated ids (EOS included when it stopped on it),
/// and the natural-log probability of each generated token under the model's unwarped next-token distribution.</summary>
public sealed record GeneratedSequence(int[] PromptIds, int[] GeneratedIds, float[] TokenLogProbs, bool StoppedAtEos)
{
    public int[] AllIds => [.. PromptIds, .. GeneratedIds];
}
