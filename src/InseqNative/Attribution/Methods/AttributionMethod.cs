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
    Tensor InputEmbeddings,     // [1, T, hidden]
    Tensor BaselineEmbeddings,  // [1, T, hidden]
    MethodOptions Options);

/// <summary>A method's answer for one sequence: target attributions [T, steps, extra...] (the engine masks
/// positions ≥ the predicted token with NaN) and extra step scores the method produces (e.g. IG's "deltas").</summary>
public sealed record MethodResult(Tensor? TargetAttributions, IReadOnlyDictionary<string, float[]> ExtraStepScores)
{
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
