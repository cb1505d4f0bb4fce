using InseqNative.Generation;
using InseqNative.StepFunctions;

namespace InseqNative.Attribution;

/// <summary>
/// Options of <see cref="AttributionModel.Attribute"/>, named after Inseq's <c>model.attribute</c> arguments
/// (AttrPosStart ↔ attr_pos_start, StepScores ↔ step_scores, ...).
/// </summary>
public sealed record AttributeOptions
{
    /// <summary>Method id (null: the model's default method).</summary>
    public string? Method { get; init; }
    /// <summary>Method-specific options; null: the method's defaults.</summary>
    public MethodOptions? MethodOptions { get; init; }
    /// <summary>First attributed target position; negative counts from the end; null: after the prompt.</summary>
    public int? AttrPosStart { get; init; }
    /// <summary>One past the last attributed position; negative counts from the end; null: the end.</summary>
    public int? AttrPosEnd { get; init; }
    /// <summary>Step functions reported per step (ids of the model's registry).</summary>
    public IReadOnlyList<string> StepScores { get; init; } = [];
    /// <summary>The attributed function (default: "probability").</summary>
    public string? AttributedFn { get; init; }
    public StepFunctionArgs StepFunctionArgs { get; init; } = StepFunctionArgs.Default;
    /// <summary>Encoder-decoder models: attribute the target prefix too (Inseq's attribute_target), normalized jointly
    /// with the source by the default aggregation. Decoder-only models always attribute their target.</summary>
    public bool AttributeTarget { get; init; }
    /// <summary>Replace EOS with UNK in the baseline too (Inseq keeps EOS by default).</summary>
    public bool IncludeEosBaseline { get; init; }
    /// <summary>Sequences attributed per engine batch (Inseq's batch_size); null: all.</summary>
    public int? BatchSize { get; init; }
    public GenerationOptions? Generation { get; init; }
    public bool OutputStepAttributions { get; init; }
    public bool SkipSpecialTokens { get; init; }
    public bool CleanSpecialChars { get; init; }
    /// <summary>Contrast texts, one per input (Inseq's contrast_targets).</summary>
    public IReadOnlyList<string>? ContrastTargets { get; init; }
    /// <summary>Contrast source texts, one per input (Inseq's contrast_sources; encoder-decoder models only): the
    /// contrastive step functions read the contrast distribution from a forward of the contrast source (and the
    /// contrast target prefix, or the original one). As an attributed function the original forward is kept unless
    /// <see cref="ContrastForceInputs"/>, as in Inseq.</summary>
    public IReadOnlyList<string>? ContrastSources { get; init; }
    /// <summary>Explicit (target position, contrast position) pairs per sequence (Inseq's
    /// contrast_targets_alignments); null: 1:1 by position.</summary>
    public IReadOnlyList<IReadOnlyList<(int Target, int Contrast)>>? ContrastTargetsAlignments { get; init; }
    /// <summary>Compute contrastive attributed functions on the contrast inputs' own forward (Inseq's
    /// contrast_force_inputs); the contrast distribution is then a constant for the gradient.</summary>
    public bool ContrastForceInputs { get; init; }
    public AttributionStrategy Strategy { get; init; } = AttributionStrategy.Auto;
    /// <summary>Reproduce Inseq's decode → re-tokenize round trip of generated text (exact comparisons with Python
    /// Inseq); by default the generated ids are attributed as generated.</summary>
    public bool ReproduceInseqRoundTrip { get; init; }
    /// <summary>Reports each attributed sequence (for progress bars); null: silent.</summary>
    public IProgress<AttributionProgress>? Progress { get; init; }
    /// <summary>Memory the engine may use for activation arenas (bytes).</summary>
    public long MemoryBudgetBytes { get; init; } = 2L << 30;
    /// <summary>True (Inseq's behaviour): gradient methods return granular attributions [tokens, steps, hidden].
    /// False: they come back already aggregated by the default aggregation (L2 norm over the hidden units, then each
    /// step column L1-normalized over source + target), the norms computed where the gradients are (DESIGN §5.6), so
    /// the granular tensor never reaches the host — the same numbers as <c>output.Aggregate()</c> of a granular run,
    /// with a fraction of the memory and, on a GPU, of the transfers. Methods without hidden units (attention,
    /// occlusion) are unaffected; layer methods aggregate their granular output on the host.</summary>
    public bool GranularAttributions { get; init; } = true;
    /// <summary>Sum forward rows' gradients (integrated gradients, gradient SHAP) on the host, step by step, instead of
    /// inside the backward: the reference the accumulating backward is tested against (bitwise on the CPU).</summary>
    internal bool HostGradientAccumulation { get; init; }
}

/// <summary>How far an attribution call is: sequences done of the total, and the step count of the last one.</summary>
public readonly record struct AttributionProgress(int SequencesDone, int SequencesTotal, int StepsDone);
