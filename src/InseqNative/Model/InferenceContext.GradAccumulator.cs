using InseqNative.Interop;
using InseqNative.StepFunctions;

namespace InseqNative;

// Granular gradient accumulation (ABI 6, DESIGN §5.6): methods that sum many forward rows' gradients (integrated
// gradients, gradient SHAP) let the backward add each cotangent's gradient into an accumulator beside the arena, laid
// out as the granular output [rows, steps, hidden], and download that sum once instead of every row's gradient.
public sealed unsafe partial class InferenceContext
{
    int _accRows = -1, _accSteps = -1;

    /// <summary>Zeroes the context's gradient accumulator, sized [<paramref name="rows"/>, <paramref name="steps"/>,
    /// hidden] (device memory of its own, reused when large enough), and keeps <paramref name="multipliers"/>
    /// [n, rows, hidden] (null: none) for the accumulating backwards. Rows are the kept forward's gradient rows: its
    /// positions (decoder-only), or source positions then target positions (encoder-decoder).</summary>
    public void ResetGradientAccumulator(int rows, int steps, Tensor? multipliers = null)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (rows <= 0 || steps <= 0)
            throw new InvalidInputException($"the gradient accumulator needs rows and steps > 0 (got {rows}, {steps})");
        var n = 0;
        if (multipliers is not null)
        {
            if (multipliers.Rank != 3 || multipliers.Dim(1) != rows || multipliers.Dim(2) != Hidden)
                throw new InvalidInputException($"multipliers must be [n, {rows}, {Hidden}], got [{string.Join(", ", multipliers.Shape)}]");
            n = multipliers.Dim(0);
        }
        _accRows = -1;
        fixed (float* m = multipliers?.Data)
            NativeCheck.Ok(NativeMethods.GradAccumulatorReset(_handle, rows, steps, n, n > 0 ? m : null),
                "inq_grad_accumulator_reset");
        (_accRows, _accSteps) = (rows, steps);
    }

    /// <summary>
    /// <see cref="BackwardStep"/> whose gradients are added into the accumulator instead of returned: cotangent
    /// (b, i) (<paramref name="positions"/> [B, n_cot], every position ≥ 0) is step <paramref name="steps"/>[i] of
    /// forward row b and adds <paramref name="rowWeights"/>[b] · its gradient (⊙ multiplier row
    /// <paramref name="multiplierRow0"/> + b when the accumulator has multipliers) at each of its rows, rows of one
    /// cell in ascending b. B · n_cot must fit the context's cotangent rows. Returns the function's value at each
    /// cotangent [B·n_cot].
    /// </summary>
    public float[] BackwardStepAccumulate(NativeStepFunction fn, StepFunctionArgs args, int point, int[] positions,
        int[] targets, int[]? contrastTargets, Tensor? contrastLogits, int[] steps, float[] rowWeights, int multiplierRow0 = 0)
    {
        var last = RequireKept("BackwardStepAccumulate");
        CheckPoint(point, last.Point);
        var native = NativeArgs(fn, args);
        RequireDifferentiable(fn, contrastLogits);
        var b = last.Batch;
        CheckAccumulation(b, positions, targets, contrastTargets, contrastLogits, steps, rowWeights);
        var scores = new float[positions.Length];
        fixed (int* pp = positions)
        fixed (int* tp = targets)
        fixed (int* cp = contrastTargets)
        fixed (float* lp = contrastLogits?.Data)
        fixed (int* sp = steps)
        fixed (float* wp = rowWeights)
        fixed (float* scp = scores)
            NativeCheck.Ok(NativeMethods.BackwardStepAccumulate(_handle, &native, point, b, steps.Length, pp, tp, cp, lp,
                sp, wp, multiplierRow0, scp), "inq_backward_step_accumulate");
        return scores;
    }

    /// <summary><see cref="BackwardStepAccumulate"/> on the kept encoder-decoder forward: the accumulator's rows are
    /// the source positions, then the target positions.</summary>
    public float[] Seq2SeqBackwardStepAccumulate(NativeStepFunction fn, StepFunctionArgs args, int[] positions,
        int[] targets, int[]? contrastTargets, Tensor? contrastLogits, int[] steps, float[] rowWeights, int multiplierRow0 = 0)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (_keptBatch < 0 || _keptSource < 0)
            throw new InvalidOperationException("Seq2SeqBackwardStepAccumulate needs a Seq2Seq forward kept for backward first");
        var native = NativeArgs(fn, args);
        RequireDifferentiable(fn, contrastLogits);
        var b = _keptBatch;
        CheckAccumulation(b, positions, targets, contrastTargets, contrastLogits, steps, rowWeights);
        var scores = new float[positions.Length];
        fixed (int* pp = positions)
        fixed (int* tp = targets)
        fixed (int* cp = contrastTargets)
        fixed (float* lp = contrastLogits?.Data)
        fixed (int* sp = steps)
        fixed (float* wp = rowWeights)
        fixed (float* scp = scores)
            NativeCheck.Ok(NativeMethods.Seq2SeqBackwardStepAccumulate(_handle, &native, b, steps.Length, pp, tp, cp, lp,
                sp, wp, multiplierRow0, scp), "inq_seq2seq_backward_step_accumulate");
        return scores;
    }

    /// <summary>Downloads the accumulator into <paramref name="output"/> [rows, steps, hidden] (overwritten).</summary>
    public void ReadGradientAccumulator(Tensor output)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (_accRows < 0) throw new InvalidOperationException("ReadGradientAccumulator needs ResetGradientAccumulator first");
        if (output.Length != (long)_accRows * _accSteps * Hidden)
            throw new InvalidInputException($"output must hold [{_accRows}, {_accSteps}, {Hidden}], got [{string.Join(", ", output.Shape)}]");
        fixed (float* o = output.Data)
            NativeCheck.Ok(NativeMethods.GradAccumulatorRead(_handle, o), "inq_grad_accumulator_read");
    }

    /// <summary>The default aggregation's vector norm over the hidden units where the accumulator is (only
    /// [rows, steps] floats come back): <paramref name="reduction"/> gets, per cell, the L2 norm (and the plain sum)
    /// of the accumulated gradient times its multiplier row — bitwise <see cref="HiddenReduction.ApplyOnHost"/> on
    /// the CPU.</summary>
    public void ReduceGradientAccumulator(HiddenReduction reduction)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (_accRows < 0) throw new InvalidOperationException("ReduceGradientAccumulator needs ResetGradientAccumulator first");
        reduction.Check(_accRows, _accSteps, Hidden);
        fixed (float* m = reduction.Multipliers?.Data)
        fixed (float* l = reduction.L2)
        fixed (float* s = reduction.Sums)
            NativeCheck.Ok(NativeMethods.GradAccumulatorReduce(_handle, m, l, s), "inq_grad_accumulator_reduce");
    }

    void CheckAccumulation(int b, int[] positions, int[] targets, int[]? contrastTargets, Tensor? contrastLogits,
        int[] steps, float[] rowWeights)
    {
        if (_accRows < 0) throw new InvalidOperationException("an accumulating backward needs ResetGradientAccumulator first");
        var nCot = steps.Length;
        if (nCot == 0 || positions.Length != b * nCot || targets.Length != positions.Length
            || (contrastTargets is not null && contrastTargets.Length != positions.Length))
            throw new InvalidInputException($"positions, targets (and contrastTargets) must have batch {b} × {nCot} steps entries");
        if (rowWeights.Length != b)
            throw new InvalidInputException($"rowWeights has {rowWeights.Length} entries, expected the batch {b}");
        if (contrastLogits is not null && contrastLogits.Length != (long)positions.Length * Vocab)
            throw new InvalidInputException($"contrastLogits must be [{positions.Length}, {Vocab}], got [{string.Join(", ", contrastLogits.Shape)}]");
    }
}
