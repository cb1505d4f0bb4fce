using InseqNative.Interop;
using InseqNative.StepFunctions;

namespace InseqNative;

// Inseq's built-in step functions computed natively on the last forward: scores without shipping logits, and the
// attributed function's backward with its dlogits formed natively. Semantics equal the managed built-ins
// (StepFunctions/BuiltinStepFunctions.cs).
public sealed unsafe partial class InferenceContext
{
    /// <summary>
    /// Step scores of rows (<paramref name="batchIndex"/>[i], <paramref name="positions"/>[i]) of the last forward
    /// (kept or not; <see cref="LogitsMode.None"/> is enough) for targets y = <paramref name="targets"/>[i].
    /// Contrast (contrastive functions): c = <paramref name="contrastTargets"/> (null: y) taken from the row itself
    /// (default), from another row of the same forward (<paramref name="contrastBatchIndex"/> and
    /// <paramref name="contrastPositions"/>, e.g. a contrast sequence in the batch), or from
    /// <paramref name="contrastLogits"/> [n, vocab].
    /// </summary>
    public float[] StepScores(NativeStepFunction fn, StepFunctionArgs args, int[] batchIndex, int[] positions,
        int[] targets, int[]? contrastTargets = null, int[]? contrastBatchIndex = null, int[]? contrastPositions = null,
        Tensor? contrastLogits = null)
    {
        var last = LastForward();
        if (!last.Scorable)
            throw new InvalidOperationException("StepScores needs a forward first (a cache step replaces it)");
        var native = NativeArgs(fn, args);
        var n = batchIndex.Length;
        if (positions.Length != n || targets.Length != n)
            throw new InvalidInputException($"batchIndex, positions and targets must have the same length (got {n}, {positions.Length}, {targets.Length})");
        CheckRows(batchIndex, positions, last, "");
        CheckIds(targets);
        if (contrastTargets is not null)
        {
            if (contrastTargets.Length != n)
                throw new InvalidInputException($"contrastTargets has {contrastTargets.Length} entries, expected {n}");
            CheckIds(contrastTargets);
        }
        if ((contrastBatchIndex is null) != (contrastPositions is null))
            throw new InvalidInputException("contrastBatchIndex and contrastPositions must be given together");
        if (contrastPositions is not null)
        {
            if (contrastLogits is not null)
                throw new InvalidInputException("give the contrast rows either as rows of the forward (contrastPositions) or as contrastLogits, not both");
            if (contrastBatchIndex!.Length != n || contrastPositions.Length != n)
                throw new InvalidInputException($"contrastBatchIndex and contrastPositions must have {n} entries");
            CheckRows(contrastBatchIndex, contrastPositions, last, "contrast ");
        }
        if (contrastLogits is not null && (contrastLogits.Rank != 2 || contrastLogits.Dim(0) != n || contrastLogits.Dim(1) != Vocab))
            throw new InvalidInputException($"contrastLogits must be [{n}, {Vocab}], got [{string.Join(", ", contrastLogits.Shape)}]");
        var scores = new float[n];
        if (n == 0) return scores;
        fixed (int* bi = batchIndex)
        fixed (int* pos = positions)
        fixed (int* tg = targets)
        fixed (int* ct = contrastTargets)
        fixed (int* cb = contrastBatchIndex)
        fixed (int* cp = contrastPositions)
        fixed (float* cl = contrastLogits?.Data)
        fixed (float* sc = scores)
            NativeCheck.Ok(NativeMethods.StepScores(_handle, &native, n, bi, pos, tg, ct, cb, cp, cl, sc), "inq_step_scores");
        return scores;
    }

    /// <summary>
    /// The attributed function's backward from the kept forward: cotangent (b, k) is ∂fn/∂logits at
    /// <paramref name="positions"/>[b, k] (negative: none; score NaN) for targets y = <paramref name="targets"/>[b, k],
    /// computed natively, then backpropagated to <paramref name="point"/>. <paramref name="contrastLogits"/>
    /// ([B·K, vocab] or [B, K, vocab]) is a constant contrast row per cotangent; null: the contrast shares the row's
    /// logits (gradients flow through both terms). Returns gradients [B, K, T, hidden] and the function's value at
    /// each row [B·K]. Chunked along K to the context's cotangent rows.
    /// </summary>
    public (Tensor Gradients, float[] Scores) BackwardStep(NativeStepFunction fn, StepFunctionArgs args, int point,
        int[] positions, int[] targets, int[]? contrastTargets = null, Tensor? contrastLogits = null)
    {
        var last = RequireKept("BackwardStep");
        CheckPoint(point, last.Point);
        var native = NativeArgs(fn, args);
        RequireDifferentiable(fn, contrastLogits);
        int b = last.Batch, t = last.Seq;
        if (positions.Length % b != 0)
            throw new InvalidInputException($"positions has {positions.Length} entries, not a multiple of the batch {b}");
        var k = positions.Length / b;
        CheckPositions(positions, b, k, t);
        if (targets.Length != b * k)
            throw new InvalidInputException($"targets has {targets.Length} entries, expected {b}×{k}");
        for (var i = 0; i < targets.Length; i++)
            if (positions[i] >= 0 && (uint)targets[i] >= (uint)Vocab)
                throw new InvalidInputException($"target id {targets[i]} is outside the vocabulary (size {Vocab})");
        if (contrastTargets is not null)
        {
            if (contrastTargets.Length != b * k)
                throw new InvalidInputException($"contrastTargets has {contrastTargets.Length} entries, expected {b}×{k}");
            for (var i = 0; i < contrastTargets.Length; i++)
                if (positions[i] >= 0 && (uint)contrastTargets[i] >= (uint)Vocab)
                    throw new InvalidInputException($"contrast target id {contrastTargets[i]} is outside the vocabulary (size {Vocab})");
        }
        if (contrastLogits is not null && contrastLogits.Length != (long)b * k * Vocab)
            throw new InvalidInputException($"contrastLogits must be [{b * k}, {Vocab}] (or [{b}, {k}, {Vocab}]), got [{string.Join(", ", contrastLogits.Shape)}]");

        var scores = new float[b * k];
        var chunk = ChunkOf(b, k);
        var staged = new StepChunk(b, k, chunk, Vocab, targets, contrastTargets, contrastLogits);
        var gradients = ChunkedAlongK(b, k, t, (k0, kc, pos, outp) =>
        {
            staged.Fill(k0, kc);
            fixed (int* pp = pos)
            fixed (int* tp = staged.Targets)
            fixed (int* cp = staged.ContrastTargets)
            fixed (float* lp = staged.ContrastLogits)
            fixed (float* op = outp)
            fixed (float* sp = staged.Scores)
            {
                var a = native;
                NativeCheck.Ok(NativeMethods.BackwardStep(_handle, &a, point, b, kc, pp, tp, cp, lp, op, sp), "inq_backward_step");
            }
            staged.ScoresInto(scores, k0, kc);
        }, positions);
        return (gradients, scores);
    }

    /// <summary>Functions without a gradient as the attributed function: top_p_size (a count), kl_divergence sharing
    /// the row's logits (identically 0).</summary>
    static void RequireDifferentiable(NativeStepFunction fn, Tensor? contrastLogits)
    {
        if (fn == NativeStepFunction.TopPSize)
            throw new InvalidInputException("top_p_size is a count and has no gradient: it can be a step score, not the attributed function");
        if (fn == NativeStepFunction.KlDivergence && contrastLogits is null)
            throw new InvalidInputException(
                "kl_divergence as the attributed function compares two forwards: give the contrast distribution's logits " +
                "(contrast_force_inputs), as Inseq requires");
    }

    static NativeStepFnArgs NativeArgs(NativeStepFunction fn, StepFunctionArgs args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (!Enum.IsDefined(fn)) throw new InvalidInputException($"{(int)fn} is not a native step function");
        if (float.IsNaN(args.TopP)) throw new InvalidInputException("step function argument top_p is NaN");
        return new NativeStepFnArgs(fn, args.LogProb, args.TopK, args.TopP, args.MinTokensToKeep);
    }

    void CheckRows(int[] batchIndex, int[] positions, LastForwardInfo last, string what)
    {
        for (var i = 0; i < batchIndex.Length; i++)
        {
            if ((uint)batchIndex[i] >= (uint)last.Batch)
                throw new InvalidInputException($"{what}batch index {batchIndex[i]} is outside the last forward's batch of {last.Batch}");
            if ((uint)positions[i] >= (uint)last.Seq)
                throw new InvalidInputException($"{what}position {positions[i]} is outside the last forward's {last.Seq} positions");
        }
    }
}
