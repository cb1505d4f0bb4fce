namespace InseqNative.Attribution;

/// <summary>
/// The two strategies for encoder-decoder models. Every input row is [source rows; target rows] (see
/// <see cref="SequencePlan.InputLength"/>), split at <see cref="StepObjective.SourceLength"/>; a step's gradient
/// reaches the whole source (through cross-attention) and the target up to its logits position, so the sink gets
/// prefix = source length + position + 1 rows. Built-in objectives run natively (inq_seq2seq_backward_step /
/// _step_scores: logits rows never leave the arena); user step functions get logits rows in managed code. Layer
/// points are refused.
/// </summary>
abstract class Seq2SeqRunner(TransformerModel model, int rowChunk, int cotangentCapacity)
    : StepRunner(model, rowChunk, cotangentCapacity)
{
    protected static void RequireEmbeddingPoint(int point)
    {
        if (point != 0)
            throw new InvalidInputException(
                "layer methods are not supported for encoder-decoder models yet: attribute the input embeddings");
    }

    /// <summary>Rows r0..r0+n−1 of the input split into source [n, S, C] and target [n, len, C] (target cut at len).</summary>
    protected static (Tensor Source, Tensor Target) Split(Tensor inputs, int r0, int n, int s, int len)
    {
        int t = inputs.Dim(1), c = inputs.Dim(2);
        var src = new float[(long)n * s * c];
        var tgt = new float[(long)n * len * c];
        for (var r = 0; r < n; r++)
        {
            var row = (long)(r0 + r) * t * c;
            Array.Copy(inputs.Data, row, src, (long)r * s * c, (long)s * c);
            Array.Copy(inputs.Data, row + (long)s * c, tgt, (long)r * len * c, (long)len * c);
        }
        return (new Tensor(src, n, s, c), new Tensor(tgt, n, len, c));
    }

    /// <summary>One cotangent's gradient in the input layout: all source rows, then target rows 0..position.</summary>
    protected static float[] Joined(ReadOnlySpan<float> source, ReadOnlySpan<float> target, int position, int c)
    {
        var grad = new float[source.Length + (position + 1) * c];
        source.CopyTo(grad);
        target[..((position + 1) * c)].CopyTo(grad.AsSpan(source.Length));
        return grad;
    }

    /// <summary>Native backward of a built-in objective: cotangent (r, j) is step steps[j] of forward row r.</summary>
    protected static (Tensor Source, Tensor Target, float[] Scores) NativeSeq2SeqBackward(InferenceContext ctx,
        StepObjective objective, int n, int[] steps)
    {
        var rows = NativeRows.Of(objective, n, steps, steps.Select(k => objective.Positions[k]).ToArray());
        return ctx.Seq2SeqBackwardStep(objective.Function.Native!.Value, objective.Args, rows.Positions, rows.Targets,
            rows.ContrastTargets, rows.ContrastRows);
    }

    /// <summary>Native scores of a built-in objective on the last forward: row r, step steps[j].</summary>
    protected static float[] NativeSeq2SeqScores(InferenceContext ctx, StepObjective objective, int n, int[] steps)
    {
        var rows = NativeRows.Of(objective, n, steps, steps.Select(k => objective.Positions[k]).ToArray());
        return ctx.Seq2SeqStepScores(objective.Function.Native!.Value, objective.Args, rows.Batch, rows.Positions,
            rows.Targets, rows.ContrastTargets, rows.ContrastRows);
    }

    public override float[][] StepAttention(Tensor embeddings, int[] positions) =>
        throw new InvalidOperationException("encoder-decoder attention is read by AttentionMethod from one forward");
}

/// <summary>DESIGN §5 for encoder-decoders: one teacher-forced forward per input row (encoder once, decoder over the
/// whole target), then every step's backward to both embeddings as one batch of cotangents.</summary>
sealed class Seq2SeqFusedRunner(TransformerModel model, int rowChunk, int cotangentCapacity)
    : Seq2SeqRunner(model, rowChunk, cotangentCapacity)
{
    public override AttributionStrategy Strategy => AttributionStrategy.Fused;

    public override void Gradients(Tensor inputs, StepObjective objective, GradientSink sink, int point = 0)
    {
        RequireEmbeddingPoint(point);
        int rows = inputs.Dim(0), s = objective.SourceLength, t = inputs.Dim(1) - s, c = inputs.Dim(2);
        int v = Model.Config.VocabSize, k = objective.Steps;
        if (k == 0) return;
        var rc = Math.Min(RowChunk, rows);
        using var ctx = Model.CreateContext(rc, Math.Max(s, t), Math.Max(rc, Math.Min(CotangentCapacity, rc * k)));
        var stepChunk = Math.Max(1, ctx.MaxCotangents / rc);
        for (var r0 = 0; r0 < rows; r0 += rc)
        {
            var n = Math.Min(rc, rows - r0);
            var (src, tgt) = Split(inputs, r0, n, s, t);
            var native = objective.Function.Native is not null;
            var logits = ctx.Seq2SeqForwardEmbeddings(src, null, tgt, null, native ? LogitsMode.None : LogitsMode.All,
                keepForBackward: true);
            for (var k0 = 0; k0 < k; k0 += stepChunk)
            {
                var kc = Math.Min(stepChunk, k - k0);
                if (native)
                {
                    var (ns, nt, sc) = NativeSeq2SeqBackward(ctx, objective, n, Enumerable.Range(k0, kc).ToArray());
                    for (var r = 0; r < n; r++)
                        for (var j = 0; j < kc; j++)
                        {
                            var p = objective.Positions[k0 + j];
                            sink(r0 + r, k0 + j, Joined(ns.Slice(r, j), nt.Slice(r, j), p, c), s + p + 1, sc[r * kc + j]);
                        }
                    continue;
                }
                var positions = new int[n * kc];
                var dlogits = Tensor.Zeros(n, kc, v);
                var scores = new double[n * kc];
                for (var r = 0; r < n; r++)
                    for (var j = 0; j < kc; j++)
                    {
                        var pos = objective.Positions[k0 + j];
                        positions[r * kc + j] = pos;
                        var row = logits!.Slice(r, pos);
                        scores[r * kc + j] = objective.Score(row, k0 + j);
                        objective.Gradient(row, k0 + j, dlogits.Slice(r, j));
                    }
                var (gs, gt) = ctx.Seq2SeqBackward(positions, dlogits);
                for (var r = 0; r < n; r++)
                    for (var j = 0; j < kc; j++)
                    {
                        var pos = positions[r * kc + j];
                        sink(r0 + r, k0 + j, Joined(gs.Slice(r, j), gt.Slice(r, j), pos, c), s + pos + 1, scores[r * kc + j]);
                    }
            }
        }
    }

    /// <summary>DESIGN §5.6: built-in objectives accumulate inside the backward
    /// (inq_seq2seq_backward_step_accumulate: source rows, then target rows, as the input layout), in the order
    /// <see cref="Gradients"/> feeds a sink; the granular sum is downloaded once.</summary>
    public override void AccumulatedGradients(Tensor inputs, StepObjective objective, float[] rowWeights,
        Tensor? rowMultipliers, Tensor output, int point = 0)
    {
        RequireEmbeddingPoint(point);
        if (!AccumulatesNatively(objective))
        {
            base.AccumulatedGradients(inputs, objective, rowWeights, rowMultipliers, output, point);
            return;
        }
        CheckAccumulation(inputs, objective, rowWeights, rowMultipliers, output);
        AccumulateNatively(inputs, objective, rowWeights, rowMultipliers, ctx => ctx.ReadGradientAccumulator(output));
    }

    public override void AccumulatedGradientNorms(Tensor inputs, StepObjective objective, float[] rowWeights,
        Tensor? rowMultipliers, HiddenReduction reduction, int point = 0)
    {
        RequireEmbeddingPoint(point);
        if (!AccumulatesNatively(objective))
        {
            base.AccumulatedGradientNorms(inputs, objective, rowWeights, rowMultipliers, reduction, point);
            return;
        }
        AccumulateNatively(inputs, objective, rowWeights, rowMultipliers, ctx => ctx.ReduceGradientAccumulator(reduction));
    }

    /// <summary>Every row's gradients (source rows, then target rows) added into the context's accumulator inside the
    /// backward; then <paramref name="finish"/> reads it (granular) or reduces it (norms).</summary>
    void AccumulateNatively(Tensor inputs, StepObjective objective, float[] rowWeights, Tensor? rowMultipliers,
        Action<InferenceContext> finish)
    {
        int rows = inputs.Dim(0), s = objective.SourceLength, t = inputs.Dim(1) - s, k = objective.Steps;
        var rc = Math.Min(RowChunk, rows);
        using var ctx = Model.CreateContext(rc, Math.Max(s, t), Math.Max(rc, Math.Min(CotangentCapacity, rc * k)));
        var stepChunk = Math.Max(1, ctx.MaxCotangents / rc);
        ctx.ResetGradientAccumulator(s + t, k, rowMultipliers);
        for (var r0 = 0; r0 < rows; r0 += rc)
        {
            var n = Math.Min(rc, rows - r0);
            var (src, tgt) = Split(inputs, r0, n, s, t);
            ctx.Seq2SeqForwardEmbeddings(src, null, tgt, null, LogitsMode.None, keepForBackward: true);
            var weights = rowWeights[r0..(r0 + n)];
            for (var k0 = 0; k0 < k; k0 += stepChunk)
            {
                var steps = Enumerable.Range(k0, Math.Min(stepChunk, k - k0)).ToArray();
                var native = NativeRows.Of(objective, n, steps, steps.Select(j => objective.Positions[j]).ToArray());
                ctx.Seq2SeqBackwardStepAccumulate(objective.Function.Native!.Value, objective.Args, native.Positions,
                    native.Targets, native.ContrastTargets, native.ContrastRows, steps, weights, r0);
            }
        }
        finish(ctx);
    }

    public override double[,] Scores(Tensor inputs, StepObjective objective, int point = 0)
    {
        RequireEmbeddingPoint(point);
        int rows = inputs.Dim(0), s = objective.SourceLength, t = inputs.Dim(1) - s;
        var result = new double[rows, objective.Steps];
        var rc = Math.Min(RowChunk, rows);
        using var ctx = Model.CreateContext(rc, Math.Max(s, t));
        for (var r0 = 0; r0 < rows; r0 += rc)
        {
            var n = Math.Min(rc, rows - r0);
            var (src, tgt) = Split(inputs, r0, n, s, t);
            if (objective.Function.Native is not null)
            {
                ctx.Seq2SeqForwardEmbeddings(src, null, tgt, null, LogitsMode.None);
                var scores = NativeSeq2SeqScores(ctx, objective, n, Enumerable.Range(0, objective.Steps).ToArray());
                for (var r = 0; r < n; r++)
                    for (var k = 0; k < objective.Steps; k++) result[r0 + r, k] = scores[r * objective.Steps + k];
                continue;
            }
            var logits = ctx.Seq2SeqForwardEmbeddings(src, null, tgt, null)!;
            for (var r = 0; r < n; r++)
                for (var k = 0; k < objective.Steps; k++)
                    result[r0 + r, k] = objective.Score(logits.Slice(r, objective.Positions[k]), k);
        }
        return result;
    }
}

/// <summary>Inseq's algorithm for encoder-decoders, kept as the in-repo reference: per step a forward of the source
/// and the target prefix ending at the step's logits position, and a backward from that one position.</summary>
sealed class Seq2SeqStepwiseRunner(TransformerModel model, int rowChunk, int cotangentCapacity)
    : Seq2SeqRunner(model, rowChunk, cotangentCapacity)
{
    public override AttributionStrategy Strategy => AttributionStrategy.Stepwise;

    public override void Gradients(Tensor inputs, StepObjective objective, GradientSink sink, int point = 0)
    {
        RequireEmbeddingPoint(point);
        int rows = inputs.Dim(0), s = objective.SourceLength, t = inputs.Dim(1) - s, c = inputs.Dim(2);
        var v = Model.Config.VocabSize;
        var rc = Math.Min(RowChunk, rows);
        using var ctx = Model.CreateContext(rc, Math.Max(s, t), rc);
        for (var step = 0; step < objective.Steps; step++)
        {
            var pos = objective.Positions[step];
            for (var r0 = 0; r0 < rows; r0 += rc)
            {
                var n = Math.Min(rc, rows - r0);
                var (src, tgt) = Split(inputs, r0, n, s, pos + 1);
                if (objective.Function.Native is not null)
                {
                    ctx.Seq2SeqForwardEmbeddings(src, null, tgt, null, LogitsMode.None, keepForBackward: true);
                    var (ns, nt, sc) = NativeSeq2SeqBackward(ctx, objective, n, [step]);
                    for (var r = 0; r < n; r++)
                        sink(r0 + r, step, Joined(ns.Slice(r, 0), nt.Slice(r, 0), pos, c), s + pos + 1, sc[r]);
                    continue;
                }
                var logits = ctx.Seq2SeqForwardEmbeddings(src, null, tgt, null, LogitsMode.All, keepForBackward: true)!;
                var dlogits = Tensor.Zeros(n, 1, v);
                var scores = new double[n];
                for (var r = 0; r < n; r++)
                {
                    var row = logits.Slice(r, pos);
                    scores[r] = objective.Score(row, step);
                    objective.Gradient(row, step, dlogits.Slice(r, 0));
                }
                var (gs, gt) = ctx.Seq2SeqBackward(Enumerable.Repeat(pos, n).ToArray(), dlogits);
                for (var r = 0; r < n; r++)
                    sink(r0 + r, step, Joined(gs.Slice(r, 0), gt.Slice(r, 0), pos, c), s + pos + 1, scores[r]);
            }
        }
    }

    public override double[,] Scores(Tensor inputs, StepObjective objective, int point = 0)
    {
        RequireEmbeddingPoint(point);
        int rows = inputs.Dim(0), s = objective.SourceLength, t = inputs.Dim(1) - s;
        var result = new double[rows, objective.Steps];
        var rc = Math.Min(RowChunk, rows);
        using var ctx = Model.CreateContext(rc, Math.Max(s, t));
        for (var step = 0; step < objective.Steps; step++)
        {
            var pos = objective.Positions[step];
            for (var r0 = 0; r0 < rows; r0 += rc)
            {
                var n = Math.Min(rc, rows - r0);
                var (src, tgt) = Split(inputs, r0, n, s, pos + 1);
                if (objective.Function.Native is not null)
                {
                    ctx.Seq2SeqForwardEmbeddings(src, null, tgt, null, LogitsMode.None);
                    var sc = NativeSeq2SeqScores(ctx, objective, n, [step]);
                    for (var r = 0; r < n; r++) result[r0 + r, step] = sc[r];
                    continue;
                }
                var logits = ctx.Seq2SeqForwardEmbeddings(src, null, tgt, null)!;
                for (var r = 0; r < n; r++) result[r0 + r, step] = objective.Score(logits.Slice(r, pos), step);
            }
        }
        return result;
    }
}
