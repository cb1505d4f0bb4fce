namespace InseqNative.Attribution;

/// <summary>
/// Everything needed to attribute one decoder-only sequence: the target ids (prompt + continuation, the prompt
/// being the first part of the target as in Inseq), which target positions are attributed, the baseline ids, and the
/// contrast (if any) aligned to the attributed positions.
/// </summary>
public sealed record SequencePlan
{
    public required string InputText { get; init; }
    public required string GeneratedText { get; init; }
    /// <summary>The prompt's ids (Inseq's source for decoder-only models).</summary>
    public required int[] SourceIds { get; init; }
    /// <summary>Prompt + continuation.</summary>
    public required int[] TargetIds { get; init; }
    /// <summary>First attributed target position (≥ 1: position 0 has nothing before it).</summary>
    public required int AttrPosStart { get; init; }
    /// <summary>One past the last attributed target position.</summary>
    public required int AttrPosEnd { get; init; }
    /// <summary>Inseq's baseline ids: UNK everywhere except EOS (kept unless include_eos_baseline).</summary>
    public required int[] BaselineIds { get; init; }
    /// <summary>Contrast target id per attributed step (null without contrast targets).</summary>
    public int[]? ContrastStepTargets { get; init; }
    /// <summary>The contrast sequence and, per attributed step, the position in it whose logits give the contrast
    /// distribution (its prefix ends just before the aligned contrast token).</summary>
    public int[]? ContrastIds { get; init; }
    public int[]? ContrastStepPositions { get; init; }

    public int Length => TargetIds.Length;
    public int Steps => AttrPosEnd - AttrPosStart;

    /// <summary>Logits position whose next-token distribution step k is about.</summary>
    public int LogitsPosition(int step) => AttrPosStart + step - 1;
    public int StepTarget(int step) => TargetIds[AttrPosStart + step];

    public int[] StepPositions() => Enumerable.Range(0, Steps).Select(LogitsPosition).ToArray();
    public int[] StepTargets() => Enumerable.Range(0, Steps).Select(StepTarget).ToArray();
}
