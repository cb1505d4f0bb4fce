namespace InseqNative.Outputs;

/// <summary>
/// Attributions of one generation step for a batch of sequences (Inseq's <c>FeatureAttributionStepOutput</c>, kept when
/// <c>output_step_attributions</c> is on). Tensors are batched: <see cref="SourceAttributions"/> [batch, source tokens,
/// ...extra], <see cref="TargetAttributions"/> [batch, prefix tokens, ...extra], each step score [batch].
/// <see cref="Source"/> and <see cref="Prefix"/> are per batch item; <see cref="Target"/> holds, per item, the token
/// predicted at this step.
/// </summary>
public sealed class FeatureAttributionStepOutput
{
    private readonly OrderedDictionary<string, Tensor> _stepScores = new();
    private readonly OrderedDictionary<string, Tensor> _sequenceScores = new();

    public FeatureAttributionStepOutput(
        Tensor? sourceAttributions = null,
        Tensor? targetAttributions = null,
        IEnumerable<KeyValuePair<string, Tensor>>? stepScores = null,
        IEnumerable<KeyValuePair<string, Tensor>>? sequenceScores = null,
        IReadOnlyList<IReadOnlyList<TokenWithId>>? source = null,
        IReadOnlyList<IReadOnlyList<TokenWithId>>? prefix = null,
        IReadOnlyList<IReadOnlyList<TokenWithId>>? target = null)
    {
        SourceAttributions = sourceAttributions;
        TargetAttributions = targetAttributions;
        foreach (var (k, v) in stepScores ?? []) _stepScores.Add(k, v);
        foreach (var (k, v) in sequenceScores ?? []) _sequenceScores.Add(k, v);
        Source = source?.Select(s => (IReadOnlyList<TokenWithId>)s.ToArray()).ToArray();
        Prefix = prefix?.Select(s => (IReadOnlyList<TokenWithId>)s.ToArray()).ToArray();
        Target = target?.Select(s => (IReadOnlyList<TokenWithId>)s.ToArray()).ToArray();
        int? batch = (SourceAttributions ?? TargetAttributions)?.Shape[0];
        foreach (var (name, t) in _stepScores)
            if (batch is not null && (t.Rank < 1 || t.Shape[0] != batch))
                throw new InvalidInputException(
                    $"step score '{name}' of a step output has shape {TensorOps.ShapeText(t.Shape)}; expected [{batch}] (one per batch item)");
        if (SourceAttributions is not null && TargetAttributions is not null &&
            SourceAttributions.Shape[0] != TargetAttributions.Shape[0])
            throw new InvalidInputException("step output: source and target attributions have different batch sizes");
    }

    public Tensor? SourceAttributions { get; }
    public Tensor? TargetAttributions { get; }
    public IReadOnlyDictionary<string, Tensor> StepScores => _stepScores;
    public IReadOnlyDictionary<string, Tensor> SequenceScores => _sequenceScores;
    public IReadOnlyList<IReadOnlyList<TokenWithId>>? Source { get; }
    public IReadOnlyList<IReadOnlyList<TokenWithId>>? Prefix { get; }
    public IReadOnlyList<IReadOnlyList<TokenWithId>>? Target { get; }
}
