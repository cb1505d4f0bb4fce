using InseqNative.Interop;

namespace InseqNative;

// Points of the residual stream for layer methods (layer_gradient_x_activation, layer_integrated_gradients, ...):
// point 0 = the token embeddings, point l + 1 = the output of block l (Hugging Face's hidden_states[l + 1], the
// output of `transformer.h.l`; the last one is before ln_f).
public sealed unsafe partial class InferenceContext
{
    /// <summary>Number of points: the embeddings and every block's output (layers + 1).</summary>
    public int PointCount => Model.Config.NumLayers + 1;

    /// <summary>Point of the output of block <paramref name="layer"/> (<c>transformer.h.{layer}</c>).</summary>
    public int PointOfLayerOutput(int layer)
    {
        if ((uint)layer >= (uint)Model.Config.NumLayers)
            throw new InvalidInputException($"layer {layer} out of range (model has {Model.Config.NumLayers})");
        return layer + 1;
    }

    /// <summary>Activation [B, T, hidden] at <paramref name="point"/> of the last forward kept for backward.
    /// (Named HiddenState: this class already has a private <c>Hidden</c> member.)</summary>
    public Tensor HiddenState(int point)
    {
        var last = RequireKept("HiddenState");
        CheckPoint(point, last.Point);
        var output = Tensor.Zeros(last.Batch, last.Seq, Hidden);
        fixed (float* o = output.Data)
            NativeCheck.Ok(NativeMethods.GetHidden(_handle, point, o), "inq_get_hidden");
        return output;
    }

    /// <summary>
    /// Forward from <paramref name="point"/> on with <paramref name="hidden"/> [B, T, hidden] as the activation there
    /// (point 0 is <see cref="ForwardEmbeddings"/>: positions are added inside). With
    /// <paramref name="keepForBackward"/>, <see cref="Backward"/> and <see cref="BackwardStep"/> reach points ≥
    /// <paramref name="point"/>.
    /// </summary>
    public Tensor? ForwardFromHidden(int point, Tensor hidden, int[]? mask = null, LogitsMode logits = LogitsMode.All,
        bool keepForBackward = false, bool keepAttention = false)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        CheckPoint(point, 0);
        if (hidden.Rank != 3 || hidden.Dim(2) != Hidden)
            throw new InvalidInputException($"hidden states must be [batch, seq, {Hidden}], got [{string.Join(", ", hidden.Shape)}]");
        int b = hidden.Dim(0), t = hidden.Dim(1);
        if (b > MaxBatch || t > MaxSequence)
            throw new InvalidInputException($"hidden states [{b}, {t}, ...] exceed the context's {MaxBatch} × {MaxSequence}");
        if (mask is not null && mask.Length != b * t)
            throw new InvalidInputException($"attention mask has {mask.Length} entries, expected {b}×{t}");
        if (keepForBackward && MaxCotangents == 0)
            throw new InvalidInputException("keepForBackward needs a context created with maxCotangents > 0");
        var output = AllocateLogits(b, t, logits);
        fixed (float* h = hidden.Data)
        fixed (int* m = mask)
        fixed (float* outp = output?.Data)
            NativeCheck.Ok(NativeMethods.ForwardFromHidden(_handle, point, b, t, h, m, (int)logits, outp,
                Flags(keepForBackward, keepAttention)), "inq_forward_from_hidden");
        Remember(b, t, keepForBackward || keepAttention);
        return output;
    }

    /// <summary>
    /// <see cref="BackwardEmbeddings"/> stopped at <paramref name="point"/>: gradients [B, K, T, hidden] of
    /// ⟨dlogits[b, k], logits[b, positions[b, k]]⟩ with respect to the activation there. Chunked along K.
    /// </summary>
    public Tensor Backward(int point, int[] positions, Tensor dlogits)
    {
        var last = RequireKept("Backward");
        CheckPoint(point, last.Point);
        int b = last.Batch, t = last.Seq;
        if (dlogits.Rank != 3 || dlogits.Dim(0) != b || dlogits.Dim(2) != Vocab)
            throw new InvalidInputException($"dlogits must be [{b}, K, {Vocab}], got [{string.Join(", ", dlogits.Shape)}]");
        var k = dlogits.Dim(1);
        CheckPositions(positions, b, k, t);
        var dl = new float[(long)b * ChunkOf(b, k) * Vocab];
        return ChunkedAlongK(b, k, t, (k0, kc, pos, outp) =>
        {
            for (var bi = 0; bi < b; bi++)
                for (var j = 0; j < kc; j++)
                    Array.Copy(dlogits.Data, ((long)bi * k + k0 + j) * Vocab, dl, ((long)bi * kc + j) * Vocab, Vocab);
            fixed (int* pp = pos)
            fixed (float* dp = dl)
            fixed (float* op = outp)
                NativeCheck.Ok(NativeMethods.Backward(_handle, point, b, kc, pp, dp, op), "inq_backward");
        }, positions);
    }

    internal readonly record struct LastForwardInfo(int Batch, int Seq, int Point, bool Kept, bool Scorable);

    internal LastForwardInfo LastForward()
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        NativeCheck.Ok(NativeMethods.LastForward(_handle, out var b, out var t, out var p, out var kept, out var scorable),
            "inq_last_forward");
        return new LastForwardInfo(b, t, p, kept != 0, scorable != 0);
    }

    LastForwardInfo RequireKept(string what)
    {
        var last = LastForward();
        if (!last.Kept) throw new InvalidOperationException($"{what} needs a forward kept for backward first");
        return last;
    }

    void CheckPoint(int point, int firstPoint)
    {
        if (point < 0 || point > Model.Config.NumLayers)
            throw new InvalidInputException(
                $"point {point} out of range [0, {Model.Config.NumLayers}] (0: token embeddings, l + 1: output of block l)");
        if (point < firstPoint)
            throw new InvalidInputException(
                $"point {point} precedes point {firstPoint}, where the kept forward started: only points ≥ {firstPoint} exist");
    }

    static void CheckPositions(int[] positions, int b, int k, int t)
    {
        if (positions.Length != b * k)
            throw new InvalidInputException($"positions has {positions.Length} entries, expected {b}×{k}");
        foreach (var p in positions)
            if (p >= t) throw new InvalidInputException($"cotangent position {p} is beyond the kept sequence length {t}");
    }

    int ChunkOf(int b, int k)
    {
        if (MaxCotangents < b)
            throw new InvalidInputException($"context holds {MaxCotangents} cotangent rows, fewer than the batch of {b}");
        return Math.Max(1, Math.Min(k, MaxCotangents / b));
    }

    /// <summary>Runs <paramref name="call"/>(k0, kc, positions chunk [B, kc], output chunk [B, kc, T, hidden]) over
    /// K in chunks that fit the context's cotangent rows and assembles [B, K, T, hidden].</summary>
    Tensor ChunkedAlongK(int b, int k, int t, Action<int, int, int[], float[]> call, int[] positions)
    {
        var result = Tensor.Zeros(b, k, t, Hidden);
        if (k == 0) return result;
        var chunk = ChunkOf(b, k);
        var pos = new int[b * chunk];
        var outBuf = new float[(long)b * chunk * t * Hidden];
        long block = (long)t * Hidden;
        for (var k0 = 0; k0 < k; k0 += chunk)
        {
            var kc = Math.Min(chunk, k - k0);
            for (var bi = 0; bi < b; bi++)
                for (var j = 0; j < kc; j++)
                    pos[bi * kc + j] = positions[bi * k + k0 + j];
            call(k0, kc, pos, outBuf);
            for (var bi = 0; bi < b; bi++)
                for (var j = 0; j < kc; j++)
                    Array.Copy(outBuf, ((long)bi * kc + j) * block, result.Data, ((long)bi * k + k0 + j) * block, block);
        }
        return result;
    }
}
