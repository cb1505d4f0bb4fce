using InseqNative.StepFunctions;

namespace InseqNative.Attribution;

/// <summary>
/// The scalar a method attributes (or scores) at each step k: a step function of the logits row at
/// <see cref="Positions"/>[k], with the step's target and contrast. When <see cref="ContrastRows"/> is null the
/// contrast is read from the same row (Inseq's default for a contrastive attributed function: the original inputs
/// are kept, only the predicted token differs); otherwise ContrastRows[k] is a constant row from the contrast forward.
/// </summary>
public sealed class StepObjective
{
    public StepFunction Function { get; }
    public StepFunctionArgs Args { get; }
    public int[] Positions { get; }
    public int[] Targets { get; }
    public int[] ContrastTargets { get; }
    public float[][]? ContrastRows { get; }
    public int Steps => Positions.Length;
    /// <summary>Encoder-decoder: the encoder rows that precede the decoder rows in every input row the runners get
    /// (0: decoder-only). Positions are target positions.</summary>
    public int SourceLength { get; init; }

    public StepObjective(StepFunction function, StepFunctionArgs args, int[] positions, int[] targets,
        int[]? contrastTargets = null, float[][]? contrastRows = null)
    {
        Function = function; Args = args; Positions = positions; Targets = targets;
        ContrastTargets = contrastTargets ?? targets;
        ContrastRows = contrastRows;
    }

    StepRow Row(ReadOnlySpan<float> logits, int k) => ContrastRows is null
        ? new StepRow(logits, Targets[k], ContrastTargets[k], logits, true)
        : new StepRow(logits, Targets[k], ContrastTargets[k], ContrastRows[k], false);

    public double Score(ReadOnlySpan<float> logits, int k) => Function.Score(Row(logits, k), Args);

    public void Gradient(ReadOnlySpan<float> logits, int k, Span<float> dlogits)
    {
        if (!Function.IsDifferentiable)
            throw new InvalidInputException($"step function '{Function.Id}' is not differentiable and cannot be the attributed function");
        Function.Gradient(Row(logits, k), Args, dlogits);
    }
}
