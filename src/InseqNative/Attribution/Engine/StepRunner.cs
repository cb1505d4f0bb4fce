namespace InseqNative.Attribution;

/// <summary>Receives one step's gradient for one input row: <paramref name="grad"/> covers positions
/// 0..prefixLength−1 ([prefixLength, hidden]); later positions have zero gradient (causality).</summary>
public delegate void GradientSink(int row, int step, ReadOnlySpan<float> grad, int prefixLength, double score);

/// <summary>
/// Computes per-step quantities of an objective for a batch of input-embedding rows that all stand for the same
/// token sequence (an input and its IG interpolations, noisy copies, occluded copies...). The two strategies of
/// DESIGN §5 implement it; methods are written once against it.
/// </summary>
public abstract class StepRunner
{
    protected TransformerModel Model { get; }
    /// <summary>Rows of input embeddings forwarded together.</summary>
    protected int RowChunk { get; }
    /// <summary>Cotangent rows per backward call.</summary>
    protected int CotangentCapacity { get; }

    protected StepRunner(TransformerModel model, int rowChunk, int cotangentCapacity)
    {
        Model = model;
        RowChunk = Math.Max(1, rowChunk);
        CotangentCapacity = Math.Max(RowChunk, cotangentCapacity);
    }

    public abstract AttributionStrategy Strategy { get; }

    /// <summary>Gradients of the objective at every step with respect to every row's activations at
    /// <paramref name="point"/> (0: the token embeddings; l + 1: the output of block l), the rows being those
    /// activations.</summary>
    public abstract void Gradients(Tensor inputs, StepObjective objective, GradientSink sink, int point = 0);

    /// <summary>
    /// Σ over input rows r of <paramref name="rowWeights"/>[r] · ∂f_step/∂x(row r) (⊙ <paramref name="rowMultipliers"/>[r]
    /// when given, [rows, T, hidden]) into <paramref name="output"/> [T, steps, hidden] (the granular layout of
    /// GranularBuffer; overwritten), each cell's rows added in ascending r as <c>out += w · g (· m)</c>. This default
    /// adds every step's gradient on the host through <see cref="Gradients"/>; the fused runners override it to
    /// accumulate inside the backward for built-in objectives (DESIGN §5.6), with bitwise the same result on the CPU.
    /// </summary>
    public virtual void AccumulatedGradients(Tensor inputs, StepObjective objective, float[] rowWeights,
        Tensor? rowMultipliers, Tensor output, int point = 0)
    {
        CheckAccumulation(inputs, objective, rowWeights, rowMultipliers, output);
        Array.Clear(output.Data);
        var n = inputs.Dim(1) * inputs.Dim(2);
        Gradients(inputs, objective, (row, step, grad, prefix, _) =>
            Methods.GranularBuffer.Accumulate(output, step, grad, prefix, rowWeights[row],
                rowMultipliers is null ? default : rowMultipliers.Data.AsSpan(row * n, n)), point);
    }

    /// <summary><see cref="AccumulatedGradients"/> followed by <paramref name="reduction"/> (the vector norm of the
    /// default aggregation over the hidden units): runners that accumulate inside the backward reduce there too, so
    /// only [rows, steps] floats reach the host; this default reduces a host-accumulated sum (the same numbers).</summary>
    public virtual void AccumulatedGradientNorms(Tensor inputs, StepObjective objective, float[] rowWeights,
        Tensor? rowMultipliers, HiddenReduction reduction, int point = 0)
    {
        var granular = Tensor.Zeros(inputs.Dim(1), objective.Steps, inputs.Dim(2));
        AccumulatedGradients(inputs, objective, rowWeights, rowMultipliers, granular, point);
        reduction.ApplyOnHost(granular);
    }

    /// <summary>Accumulate on the host (<see cref="AccumulatedGradients"/>'s default) even where the runner can
    /// accumulate in the backward: the reference the device path is tested against.</summary>
    internal bool HostAccumulation { get; set; }

    /// <summary>Whether <see cref="AccumulatedGradients"/> runs inside the backward for this objective.</summary>
    private protected bool AccumulatesNatively(StepObjective objective) =>
        !HostAccumulation && objective.Function.Native is not null && objective.Steps > 0;

    private protected static void CheckAccumulation(Tensor inputs, StepObjective objective, float[] rowWeights,
        Tensor? rowMultipliers, Tensor output)
    {
        int rows = inputs.Dim(0), t = inputs.Dim(1), c = inputs.Dim(2);
        if (rowWeights.Length != rows)
            throw new ArgumentException($"{rowWeights.Length} row weights for {rows} input rows", nameof(rowWeights));
        if (rowMultipliers is not null && (rowMultipliers.Rank != 3 || rowMultipliers.Dim(0) != rows
            || rowMultipliers.Dim(1) != t || rowMultipliers.Dim(2) != c))
            throw new ArgumentException($"row multipliers must be [{rows}, {t}, {c}], got [{string.Join(", ", rowMultipliers.Shape)}]",
                nameof(rowMultipliers));
        if (output.Rank != 3 || output.Dim(0) != t || output.Dim(1) != objective.Steps || output.Dim(2) != c)
            throw new ArgumentException($"output must be [{t}, {objective.Steps}, {c}], got [{string.Join(", ", output.Shape)}]",
                nameof(output));
    }

    /// <summary>Objective values [row, step] without gradients, the rows being activations at <paramref name="point"/>.</summary>
    public abstract double[,] Scores(Tensor inputs, StepObjective objective, int point = 0);

    protected static Tensor Forward(InferenceContext ctx, int point, Tensor rows, LogitsMode mode, bool keep) =>
        (point == 0
            ? ctx.ForwardEmbeddings(rows, null, mode, keepForBackward: keep)
            : ctx.ForwardFromHidden(point, rows, null, mode, keepForBackward: keep))!;

    protected static Tensor Backward(InferenceContext ctx, int point, int[] positions, Tensor dlogits) =>
        point == 0 ? ctx.BackwardEmbeddings(positions, dlogits) : ctx.Backward(point, positions, dlogits);

    /// <summary>Attention of the query predicting each step over all keys: [steps][layers, heads, seq] (one row).</summary>
    public abstract float[][] StepAttention(Tensor embeddings, int[] positions);

    /// <summary>The rows a native step-function call works on: (forward row r, step steps[j]) at positions[j],
    /// flattened r-major, with the step's target, contrast target and (host) contrast logits row.</summary>
    private protected readonly record struct NativeRows(int[] Batch, int[] Positions, int[] Targets, int[] ContrastTargets, Tensor? ContrastRows)
    {
        public static NativeRows Of(StepObjective objective, int n, int[] steps, int[] positions)
        {
            var kc = steps.Length;
            var rows = new NativeRows(new int[n * kc], new int[n * kc], new int[n * kc], new int[n * kc],
                objective.ContrastRows is null ? null : Tensor.Zeros(n * kc, objective.ContrastRows[0].Length));
            for (var r = 0; r < n; r++)
                for (var j = 0; j < kc; j++)
                {
                    var i = r * kc + j;
                    rows.Batch[i] = r;
                    rows.Positions[i] = positions[j];
                    rows.Targets[i] = objective.Targets[steps[j]];
                    rows.ContrastTargets[i] = objective.ContrastTargets[steps[j]];
                    objective.ContrastRows?[steps[j]].CopyTo(rows.ContrastRows!.Slice(i));
                }
            return rows;
        }
    }

    /// <summary>Backward of a built-in objective computed natively: dlogits never cross the boundary.
    /// Cotangent (r, j) is step steps[j] of forward row r. Returns gradients [n, kc, T, C] and scores [n·kc].</summary>
    protected static (Tensor Gradients, float[] Scores) NativeBackward(InferenceContext ctx, StepObjective objective,
        int point, int n, int[] steps, int[] positions)
    {
        var rows = NativeRows.Of(objective, n, steps, positions);
        return ctx.BackwardStep(objective.Function.Native!.Value, objective.Args, point, rows.Positions, rows.Targets,
            rows.ContrastTargets, rows.ContrastRows);
    }

    /// <summary>Scores of a built-in objective computed natively on the last forward: row r, step steps[j] at positions[j].</summary>
    protected static float[] NativeScores(InferenceContext ctx, StepObjective objective, int n, int[] steps, int[] positions)
    {
        var rows = NativeRows.Of(objective, n, steps, positions);
        return ctx.StepScores(objective.Function.Native!.Value, objective.Args, rows.Batch, rows.Positions, rows.Targets,
            rows.ContrastTargets, contrastLogits: rows.ContrastRows);
    }

    protected static Tensor Rows(Tensor embeddings, int start, int count, int length)
    {
        int t = embeddings.Dim(1), c = embeddings.Dim(2);
        var data = new float[count * length * c];
        for (var r = 0; r < count; r++)
            Array.Copy(embeddings.Data, ((long)(start + r) * t) * c, data, (long)r * length * c, (long)length * c);
        return new Tensor(data, count, length, c);
    }

    public static StepRunner Create(AttributionStrategy strategy, TransformerModel model, int rowChunk, int cotangentCapacity) =>
        (strategy == AttributionStrategy.Stepwise, model.Config.IsEncoderDecoder) switch
        {
            (true, false) => new StepwiseRunner(model, rowChunk, cotangentCapacity),
            (false, false) => new FusedRunner(model, rowChunk, cotangentCapacity),
            (true, true) => new Seq2SeqStepwiseRunner(model, rowChunk, cotangentCapacity),
            (false, true) => new Seq2SeqFusedRunner(model, rowChunk, cotangentCapacity),
        };
}
