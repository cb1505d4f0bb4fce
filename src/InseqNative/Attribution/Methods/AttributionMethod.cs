namespace InseqNative.Attribution.Methods;

/// <summary>Which Inseq output class a method produces.</summary>
public enum AttributionGranularity
{
    /// <summary>Per token, step and hidden unit (gradient methods): GranularFeatureAttributionSequenceOutput.</summary>
    Granular,
    /// <summary>Per token, step, layer and head (attention): MultiDimensionalFeatureAttributionSequenceOutput.</summary>
    MultiDimensional,
    /// <summary>One score per token and step (occlusion): CoarseFeatureAttributionSequenceOutput.</summary>
    Coarse,
    /// <summary>No attributions (dummy: step scores only).</summary>
    None,
}

/// <summary>What a method sees for one sequence.</summary>
public sealed record MethodInput(
    TransformerModel Model,
    SequencePlan Plan,
    StepRunner Runner,
    StepObjective Objective,
    Tensor InputEmbeddings,     // [1, InputLength, hidden]: source rows (encoder-decoder), then target rows
    Tensor BaselineEmbeddings,  // [1, InputLength, hidden]; rows that are not attributed equal the input
    MethodOptions Options)
{
    /// <summary>The caller wants attributions aggregated over the hidden units (AttributeOptions.GranularAttributions
    /// false): gradient methods then return the vector norms per (row, step) (<see cref="MethodResult.HiddenReduced"/>),
    /// computed where the gradients are.</summary>
    public bool ReduceHidden { get; init; }
}

/// <summary>A method's answer for one sequence: attributions [input rows, steps, extra...] in the plan's input
/// layout (<see cref="SequencePlan.InputLength"/> rows: source rows of an encoder-decoder, then target rows; the
/// engine splits them and masks target positions ≥ the predicted token with NaN), extra step scores the method
/// produces (e.g. IG's "deltas") and sequence scores (attention's encoder/decoder self-attentions).</summary>
public sealed record MethodResult(Tensor? TargetAttributions, IReadOnlyDictionary<string, float[]> ExtraStepScores)
{
    public IReadOnlyList<KeyValuePair<string, Tensor>> SequenceScores { get; init; } = [];
    /// <summary>The attributions are [rows, steps] L2 norms over the hidden units (the granular output's default
    /// aggregation before its normalization), not granular scores.</summary>
    public bool HiddenReduced { get; init; }
    public static MethodResult Of(Tensor? attributions) => new(attributions, new Dictionary<string, float[]>());
}

/// <summary>One Inseq attribution method. Methods are written once against <see cref="StepRunner"/>, so the fused
/// and stepwise strategies share their code.</summary>
public abstract class AttributionMethod
{
    public abstract string Id { get; }
    public abstract AttributionGranularity Granularity { get; }
    /// <summary>Methods whose every step comes from one final forward (attention): Inseq refuses step scores with
    /// them; we compute the scores anyway.</summary>
    public virtual bool IsFinalStep => false;
    /// <summary>Uses the attributed function (gradient and perturbation methods do; attention does not).</summary>
    public virtual bool UsesAttributedFunction => true;
    public virtual Type OptionsType => typeof(NoOptions);
    public virtual MethodOptions DefaultOptions => NoOptions.Instance;

    public abstract MethodResult Attribute(MethodInput input);

    protected static T OptionsAs<T>(MethodInput input) where T : MethodOptions =>
        input.Options as T ?? throw new InvalidInputException(
            $"method options of type {input.Options.GetType().Name} given, expected {typeof(T).Name}");
}
