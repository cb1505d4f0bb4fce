using InseqNative.Interop;

namespace InseqNative.StepFunctions;

/// <summary>
/// A scalar per generation step (Inseq's step function): reported as a step score, and — when differentiable —
/// usable as the attributed function, in which case <see cref="Gradient"/> gives ∂score/∂(original logits row).
/// Built-ins are defined analytically; users register their own with <see cref="Create"/>.
/// </summary>
public abstract class StepFunction
{
    public abstract string Id { get; }
    /// <summary>Needs contrast inputs (contrast_targets / contrast_sources) to mean anything.</summary>
    public virtual bool IsContrastive => false;
    /// <summary>Can be the attributed function of gradient methods.</summary>
    public virtual bool IsDifferentiable => true;
    /// <summary>How aggregators reduce this score over merged steps (Inseq's aggregate map): aggregator → function.</summary>
    public virtual IReadOnlyDictionary<string, string> AggregateMap => DefaultAggregateMap;

    public abstract double Score(in StepRow row, StepFunctionArgs args);

    /// <summary>The native twin of a built-in (computed where the logits are, DESIGN §5.6); null for user functions,
    /// which run here on rows copied from the native side.</summary>
    internal NativeStepFunction? Native =>
        this is not UserStepFunction && NativeStepFunctions.TryGet(Id, out var fn) ? fn : null;

    /// <summary>Writes ∂Score/∂row.Logits into <paramref name="dlogits"/> (length = vocabulary).</summary>
    public abstract void Gradient(in StepRow row, StepFunctionArgs args, Span<float> dlogits);

    static readonly IReadOnlyDictionary<string, string> DefaultAggregateMap =
        new Dictionary<string, string> { ["spans"] = "absmax", ["subwords"] = "absmax", ["scores"] = "absmax" };

    /// <summary>A user step function: <paramref name="score"/> of a row and its <paramref name="gradient"/> with
    /// respect to the row's logits (null: usable only as a step score, not as the attributed function).</summary>
    public static StepFunction Create(string id, Func<StepRowData, double> score,
        Action<StepRowData, Span<float>>? gradient = null, IReadOnlyDictionary<string, string>? aggregateMap = null) =>
        new UserStepFunction(id, score, gradient, aggregateMap);

    public override string ToString() => Id;
}

/// <summary>A copyable view of a <see cref="StepRow"/> for user delegates (arrays, not spans).</summary>
public sealed record StepRowData(float[] Logits, int Target, int ContrastTarget, float[] ContrastLogits);

sealed class UserStepFunction(string id, Func<StepRowData, double> score, Action<StepRowData, Span<float>>? gradient,
    IReadOnlyDictionary<string, string>? aggregateMap) : StepFunction
{
    public override string Id => id;
    public override bool IsDifferentiable => gradient is not null;
    public override IReadOnlyDictionary<string, string> AggregateMap => aggregateMap ?? base.AggregateMap;

    static StepRowData Copy(in StepRow row) =>
        new(row.Logits.ToArray(), row.Target, row.ContrastTarget, row.ContrastLogits.ToArray());

    public override double Score(in StepRow row, StepFunctionArgs args) => score(Copy(row));

    public override void Gradient(in StepRow row, StepFunctionArgs args, Span<float> dlogits)
    {
        if (gradient is null)
            throw new InvalidInputException($"step function '{id}' was registered without a gradient: it can be a step score but not the attributed function");
        dlogits.Clear();
        gradient(Copy(row), dlogits);
    }
}
