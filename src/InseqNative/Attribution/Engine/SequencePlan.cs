namespace InseqNative.Attribution;

/// <summary>
/// Everything needed to attribute one sequence: the target ids (decoder-only: prompt + continuation, the prompt being
/// the first part of the target as in Inseq; encoder-decoder: the decoder start token + the target), which target
/// positions are attributed, the baseline ids, and the contrast (if any) aligned to the attributed positions.
/// Encoder-decoder inputs are laid out as one row of <see cref="InputLength"/> embeddings: the
/// <see cref="SourceOffset"/> encoder rows, then the target rows — so the methods treat both sides alike.
/// </summary>
public sealed record SequencePlan
{
    public required string InputText { get; init; }
    public required string GeneratedText { get; init; }
    /// <summary>The prompt's ids (Inseq's source for decoder-only models) or the encoder's input ids.</summary>
    public required int[] SourceIds { get; init; }
    /// <summary>Encoder-decoder: the encoder rows that precede the target rows in the input layout (= the source
    /// length); 0 for decoder-only models.</summary>
    public int SourceOffset { get; init; }
    /// <summary>Encoder-decoder: the source's baseline ids (UNK except EOS, as Inseq); null for decoder-only.</summary>
    public int[]? SourceBaselineIds { get; init; }
    /// <summary>Encoder-decoder: the target prefix is attributed too (Inseq's attribute_target); decoder-only
    /// models always attribute their target.</summary>
    public bool AttributeTarget { get; init; } = true;
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
    /// <summary>Encoder-decoder: the encoder input of the contrast forward (Inseq's contrast_sources); null: the
    /// source itself.</summary>
    public int[]? ContrastSourceIds { get; init; }
    public int[]? ContrastStepPositions { get; init; }

    public int Length => TargetIds.Length;
    public bool IsEncoderDecoder => SourceOffset > 0;
    /// <summary>Rows of the attribution input: source rows (encoder-decoder) then target rows.</summary>
    public int InputLength => SourceOffset + Length;
    /// <summary>Input rows the methods perturb or attribute; later rows (an encoder-decoder's target without
    /// attribute_target) are fixed inputs of the model.</summary>
    public int AttributedRows => AttributeTarget ? InputLength : SourceOffset;
    /// <summary>Input rows step k can depend on: the whole source and the target up to its logits position.</summary>
    public int VisibleRows(int step) => SourceOffset + LogitsPosition(step) + 1;
    /// <summary>Input ids in the input layout (source ids, then target ids).</summary>
    public int[] InputIds => [.. (IsEncoderDecoder ? SourceIds : []), .. TargetIds];
    /// <summary>Baseline ids in the input layout; rows that are not attributed keep their input ids.</summary>
    public int[] InputBaselineIds => [.. (IsEncoderDecoder ? SourceBaselineIds! : []),
        .. (AttributeTarget ? BaselineIds : TargetIds)];
    public int Steps => AttrPosEnd - AttrPosStart;

    /// <summary>Logits position whose next-token distribution step k is about.</summary>
    public int LogitsPosition(int step) => AttrPosStart + step - 1;
    public int StepTarget(int step) => TargetIds[AttrPosStart + step];

    public int[] StepPositions() => Enumerable.Range(0, Steps).Select(LogitsPosition).ToArray();
    public int[] StepTargets() => Enumerable.Range(0, Steps).Select(StepTarget).ToArray();
}
