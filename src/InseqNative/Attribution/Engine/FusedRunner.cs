namespace InseqNative.Attribution;

/// <summary>
/// DESIGN §5.1–5.3: one teacher-forced forward per input row yields every step's logits (position t of a causal
/// forward equals the forward over the prefix ending at t), and all steps' backwards run as one batch of
/// cotangents from that forward, chunked to the context's capacity.
/// </summary>
public sealed class FusedRunner(TransformerModel model, int rowChunk, int cotangentCapacity)
    : StepRunner(model, rowChunk, cotangentCapacity)
{
    public override AttributionStrategy Strategy => AttributionStrategy.Fused;

    public override void Gradients(Tensor embeddings, StepObjective objective, GradientSink sink, int point = 0)
    {
        int rows = embeddings.Dim(0), t = embeddings.Dim(1), c = embeddings.Dim(2), v = Model.Config.VocabSize;
        var k = objective.Steps;
        if (k == 0) return;
        var rc = Math.Min(RowChunk, rows);
        using var ctx = Model.CreateContext(rc, t, Math.Max(rc, Math.Min(CotangentCapacity, rc * k)));
        var stepChunk = Math.Max(1, ctx.MaxCotangents / rc);
        for (var r0 = 0; r0 < rows; r0 += rc)
        {
            var n = Math.Min(rc, rows - r0);
            var native = objective.Function.Native is not null;
            var logits = Forward(ctx, point, Rows(embeddings, r0, n, t), native ? LogitsMode.None : LogitsMode.All, keep: true);
            for (var k0 = 0; k0 < k; k0 += stepChunk)
            {
                var kc = Math.Min(stepChunk, k - k0);
                if (native)
                {
                    var steps = Enumerable.Range(k0, kc).ToArray();
                    var stepPositions = steps.Select(s => objective.Positions[s]).ToArray();
                    var (g, sc) = NativeBackward(ctx, objective, point, n, steps, stepPositions);
                    for (var r = 0; r < n; r++)
                        for (var j = 0; j < kc; j++)
                        {
                            var len = stepPositions[j] + 1;
                            sink(r0 + r, k0 + j, g.Slice(r, j)[..(len * c)], len, sc[r * kc + j]);
                        }
                    continue;
                }
                var positions = new int[n * kc];
                var dlogits = Tensor.Zeros(n, kc, v);
                var scores = new double[n * kc];
                for (var r = 0; r < n; r++)
                    for (var j = 0; j < kc; j++)
                    {
                        var step = k0 + j;
                        var pos = objective.Positions[step];
                        positions[r * kc + j] = pos;
                        var row = logits.Slice(r, pos);
                        scores[r * kc + j] = objective.Score(row, step);
                        objective.Gradient(row, step, dlogits.Slice(r, j));
                    }
                var grads = Backward(ctx, point, positions, dlogits);
                for (var r = 0; r < n; r++)
                    for (var j = 0; j < kc; j++)
                    {
                        var len = positions[r * kc + j] + 1;
                        sink(r0 + r, k0 + j, grads.Slice(r, j)[..(len * c)], len, scores[r * kc + j]);
                    }
            }
        }
    }

    /// <summary>DESIGN §5.6: with a built-in objective the backward adds every cotangent's gradient into the
    /// context's accumulator (inq_backward_step_accumulate) in the order <see cref="Gradients"/> feeds a sink (row
    /// chunks, then step chunks, then rows), and the granular sum is downloaded once.</summary>
    public override void AccumulatedGradients(Tensor embeddings, StepObjective objective, float[] rowWeights,
        Tensor? rowMultipliers, Tensor output, int point = 0)
    {
        if (!AccumulatesNatively(objective))
        {
            base.AccumulatedGradients(embeddings, objective, rowWeights, rowMultipliers, output, point);
            return;
        }
        CheckAccumulation(embeddings, objective, rowWeights, rowMultipliers, output);
        AccumulateNatively(embeddings, objective, rowWeights, rowMultipliers, point, ctx => ctx.ReadGradientAccumulator(output));
    }

    public override void AccumulatedGradientNorms(Tensor embeddings, StepObjective objective, float[] rowWeights,
        Tensor? rowMultipliers, HiddenReduction reduction, int point = 0)
    {
        if (!AccumulatesNatively(objective))
        {
            base.AccumulatedGradientNorms(embeddings, objective, rowWeights, rowMultipliers, reduction, point);
            return;
        }
        AccumulateNatively(embeddings, objective, rowWeights, rowMultipliers, point, ctx => ctx.ReduceGradientAccumulator(reduction));
    }

    /// <summary>Every row's gradients added into the context's accumulator inside the backward; then
    /// <paramref name="finish"/> reads it (granular) or reduces it (norms) before the context goes.</summary>
    void AccumulateNatively(Tensor embeddings, StepObjective objective, float[] rowWeights, Tensor? rowMultipliers,
        int point, Action<InferenceContext> finish)
    {
        int rows = embeddings.Dim(0), t = embeddings.Dim(1), k = objective.Steps;
        var rc = Math.Min(RowChunk, rows);
        using var ctx = Model.CreateContext(rc, t, Math.Max(rc, Math.Min(CotangentCapacity, rc * k)));
        var stepChunk = Math.Max(1, ctx.MaxCotangents / rc);
        ctx.ResetGradientAccumulator(t, k, rowMultipliers);
        for (var r0 = 0; r0 < rows; r0 += rc)
        {
            var n = Math.Min(rc, rows - r0);
            Forward(ctx, point, Rows(embeddings, r0, n, t), LogitsMode.None, keep: true);
            var weights = rowWeights[r0..(r0 + n)];
            for (var k0 = 0; k0 < k; k0 += stepChunk)
            {
                var steps = Enumerable.Range(k0, Math.Min(stepChunk, k - k0)).ToArray();
                var native = NativeRows.Of(objective, n, steps, steps.Select(s => objective.Positions[s]).ToArray());
                ctx.BackwardStepAccumulate(objective.Function.Native!.Value, objective.Args, point, native.Positions,
                    native.Targets, native.ContrastTargets, native.ContrastRows, steps, weights, r0);
            }
        }
        finish(ctx);
    }

    public override double[,] Scores(Tensor embeddings, StepObjective objective, int point = 0)
    {
        int rows = embeddings.Dim(0), t = embeddings.Dim(1);
        var result = new double[rows, objective.Steps];
        var rc = Math.Min(RowChunk, rows);
        using var ctx = Model.CreateContext(rc, t);
        for (var r0 = 0; r0 < rows; r0 += rc)
        {
            var n = Math.Min(rc, rows - r0);
            if (objective.Function.Native is not null)
            {
                Forward(ctx, point, Rows(embeddings, r0, n, t), LogitsMode.None, keep: false);
                var steps = Enumerable.Range(0, objective.Steps).ToArray();
                var scores = NativeScores(ctx, objective, n, steps, objective.Positions);
                for (var r = 0; r < n; r++)
                    for (var k = 0; k < objective.Steps; k++) result[r0 + r, k] = scores[r * objective.Steps + k];
                continue;
            }
            var logits = Forward(ctx, point, Rows(embeddings, r0, n, t), LogitsMode.All, keep: false);
            for (var r = 0; r < n; r++)
                for (var k = 0; k < objective.Steps; k++)
                    result[r0 + r, k] = objective.Score(logits.Slice(r, objective.Positions[k]), k);
        }
        return result;
    }

    public override float[][] StepAttention(Tensor embeddings, int[] positions)
    {
        int t = embeddings.Dim(1), layers = Model.Config.NumLayers, heads = Model.Config.NumHeads;
        using var ctx = Model.CreateContext(1, t, 0, keepAttention: true);
        ctx.ForwardEmbeddings(Rows(embeddings, 0, 1, t), null, LogitsMode.None, keepAttention: true);
        var result = positions.Select(_ => new float[layers * heads * t]).ToArray();
        for (var l = 0; l < layers; l++)
        {
            var att = ctx.Attention(l); // [1, H, T, T]
            for (var s = 0; s < positions.Length; s++)
                for (var h = 0; h < heads; h++)
                    att.Slice(0, h, positions[s]).CopyTo(result[s].AsSpan((l * heads + h) * t, t));
        }
        return result;
    }
}
