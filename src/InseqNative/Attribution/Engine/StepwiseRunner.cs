namespace InseqNative.Attribution;

/// <summary>
/// Inseq's algorithm, kept as the in-repo reference: for every step a forward over the prefix that ends at the
/// step's logits position, and a backward from that one position.
/// </summary>
public sealed class StepwiseRunner(TransformerModel model, int rowChunk, int cotangentCapacity)
    : StepRunner(model, rowChunk, cotangentCapacity)
{
    public override AttributionStrategy Strategy => AttributionStrategy.Stepwise;

    public override void Gradients(Tensor embeddings, StepObjective objective, GradientSink sink, int point = 0)
    {
        int rows = embeddings.Dim(0), t = embeddings.Dim(1), c = embeddings.Dim(2), v = Model.Config.VocabSize;
        var rc = Math.Min(RowChunk, rows);
        using var ctx = Model.CreateContext(rc, t, rc);
        for (var step = 0; step < objective.Steps; step++)
        {
            var len = objective.Positions[step] + 1;
            for (var r0 = 0; r0 < rows; r0 += rc)
            {
                var n = Math.Min(rc, rows - r0);
                if (objective.Function.Native is not null)
                {
                    Forward(ctx, point, Rows(embeddings, r0, n, len), LogitsMode.None, keep: true);
                    var (g, sc) = NativeBackward(ctx, objective, point, n, [step], [len - 1]);
                    for (var r = 0; r < n; r++) sink(r0 + r, step, g.Slice(r, 0)[..(len * c)], len, sc[r]);
                    continue;
                }
                var logits = Forward(ctx, point, Rows(embeddings, r0, n, len), LogitsMode.All, keep: true);
                var dlogits = Tensor.Zeros(n, 1, v);
                var scores = new double[n];
                for (var r = 0; r < n; r++)
                {
                    var row = logits.Slice(r, len - 1);
                    scores[r] = objective.Score(row, step);
                    objective.Gradient(row, step, dlogits.Slice(r, 0));
                }
                var grads = Backward(ctx, point, Enumerable.Repeat(len - 1, n).ToArray(), dlogits);
                for (var r = 0; r < n; r++) sink(r0 + r, step, grads.Slice(r, 0)[..(len * c)], len, scores[r]);
            }
        }
    }

    public override double[,] Scores(Tensor embeddings, StepObjective objective, int point = 0)
    {
        int rows = embeddings.Dim(0), t = embeddings.Dim(1);
        var result = new double[rows, objective.Steps];
        var rc = Math.Min(RowChunk, rows);
        using var ctx = Model.CreateContext(rc, t);
        for (var step = 0; step < objective.Steps; step++)
        {
            var len = objective.Positions[step] + 1;
            for (var r0 = 0; r0 < rows; r0 += rc)
            {
                var n = Math.Min(rc, rows - r0);
                if (objective.Function.Native is not null)
                {
                    Forward(ctx, point, Rows(embeddings, r0, n, len), LogitsMode.None, keep: false);
                    var sc = NativeScores(ctx, objective, n, [step], [len - 1]);
                    for (var r = 0; r < n; r++) result[r0 + r, step] = sc[r];
                    continue;
                }
                var logits = Forward(ctx, point, Rows(embeddings, r0, n, len), LogitsMode.Last, keep: false);
                for (var r = 0; r < n; r++) result[r0 + r, step] = objective.Score(logits.Slice(r), step);
            }
        }
        return result;
    }

    public override float[][] StepAttention(Tensor embeddings, int[] positions)
    {
        int t = embeddings.Dim(1), layers = Model.Config.NumLayers, heads = Model.Config.NumHeads;
        using var ctx = Model.CreateContext(1, t, 0, keepAttention: true);
        var result = new float[positions.Length][];
        for (var s = 0; s < positions.Length; s++)
        {
            var len = positions[s] + 1;
            ctx.ForwardEmbeddings(Rows(embeddings, 0, 1, len), null, LogitsMode.None, keepAttention: true);
            result[s] = new float[layers * heads * t];
            for (var l = 0; l < layers; l++)
            {
                var att = ctx.Attention(l);
                for (var h = 0; h < heads; h++)
                    att.Slice(0, h, len - 1).CopyTo(result[s].AsSpan((l * heads + h) * t, len));
            }
        }
        return result;
    }
}
