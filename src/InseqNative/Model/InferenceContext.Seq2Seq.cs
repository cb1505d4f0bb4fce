using InseqNative.Interop;

namespace InseqNative;

/// <summary>Which attention of an encoder-decoder to read.</summary>
public enum Seq2SeqAttentionKind
{
    /// <summary>Encoder self-attention [B, heads, S, S].</summary>
    Encoder = NativeMethods.AttentionEncoder,
    /// <summary>Decoder (causal) self-attention [B, heads, T, T].</summary>
    Decoder = NativeMethods.AttentionDecoder,
    /// <summary>Decoder cross-attention over the encoder output [B, heads, T, S].</summary>
    Cross = NativeMethods.AttentionCross,
}

/// <summary>Encoder-decoder (Marian, M2M100, T5) forward, backward to both inputs, attention and cached decoding.
/// Sources and targets are right-padded; every forward keeps its attention probabilities.</summary>
public sealed unsafe partial class InferenceContext
{
    /// <summary>Encoder-decoder forward over ids: source [B, S] with <paramref name="sourceMask"/> [B, S] (null: no
    /// padding; pad on the right) and decoder input ids [B, T] (the decoder start token first) with
    /// <paramref name="targetMask"/> (null: no padding). Returns logits [B, T, vocab] (row t scores the token after
    /// target position t) or null for <see cref="LogitsMode.None"/>. <paramref name="fillCache"/> prepares
    /// <see cref="Seq2SeqCacheStep"/>.</summary>
    public Tensor? Seq2SeqForward(int batch, int[] sourceIds, int[]? sourceMask, int[] targetIds, int[]? targetMask,
        LogitsMode logits = LogitsMode.All, bool keepForBackward = false, bool fillCache = false)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        RequireEncoderDecoder("Seq2SeqForward");
        if (batch <= 0 || sourceIds.Length % batch != 0 || targetIds.Length % batch != 0)
            throw new InvalidInputException($"source ({sourceIds.Length}) and target ({targetIds.Length}) ids must split into {batch} rows");
        int s = sourceIds.Length / batch, t = targetIds.Length / batch;
        CheckMasks(batch, s, t, sourceMask, targetMask);
        CheckIds(sourceIds);
        CheckIds(targetIds);
        var output = Seq2SeqLogits(batch, t, logits);
        fixed (int* src = sourceIds)
        fixed (int* sm = sourceMask)
        fixed (int* tgt = targetIds)
        fixed (int* tm = targetMask)
        fixed (float* outp = output?.Data)
            NativeCheck.Ok(NativeMethods.Seq2SeqForward(_handle, batch, s, t, src, null, sm, tgt, null, tm, (int)logits,
                outp, Seq2SeqFlags(keepForBackward, fillCache)), "inq_seq2seq_forward");
        RememberSeq2Seq(batch, s, t, keepForBackward, fillCache);
        return output;
    }

    /// <summary>Encoder-decoder forward over scaled input embeddings (Hugging Face's inputs_embeds; see
    /// <see cref="EmbedTokens"/>): source [B, S, hidden], target [B, T, hidden]. Positions are added inside.</summary>
    public Tensor? Seq2SeqForwardEmbeddings(Tensor source, int[]? sourceMask, Tensor target, int[]? targetMask,
        LogitsMode logits = LogitsMode.All, bool keepForBackward = false)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        RequireEncoderDecoder("Seq2SeqForwardEmbeddings");
        if (source.Rank != 3 || source.Dim(2) != Hidden || target.Rank != 3 || target.Dim(2) != Hidden || source.Dim(0) != target.Dim(0))
            throw new InvalidInputException($"source and target embeddings must be [batch, len, {Hidden}] with one batch, got " +
                $"[{string.Join(", ", source.Shape)}] and [{string.Join(", ", target.Shape)}]");
        int b = source.Dim(0), s = source.Dim(1), t = target.Dim(1);
        CheckMasks(b, s, t, sourceMask, targetMask);
        var output = Seq2SeqLogits(b, t, logits);
        fixed (float* src = source.Data)
        fixed (int* sm = sourceMask)
        fixed (float* tgt = target.Data)
        fixed (int* tm = targetMask)
        fixed (float* outp = output?.Data)
            NativeCheck.Ok(NativeMethods.Seq2SeqForward(_handle, b, s, t, null, src, sm, null, tgt, tm, (int)logits,
                outp, Seq2SeqFlags(keepForBackward, false)), "inq_seq2seq_forward");
        RememberSeq2Seq(b, s, t, keepForBackward, false);
        return output;
    }

    /// <summary>
    /// Gradients of the kept encoder-decoder forward with respect to both scaled input embeddings, for K cotangents
    /// per row: cotangent (b, k) is <paramref name="dlogits"/>[b, k, :] applied to the logits at target position
    /// <paramref name="positions"/>[b, k] (negative: none). Returns source [B, K, S, hidden] and target
    /// [B, K, T, hidden] gradients; calls are chunked along K to the context's cotangent capacity.
    /// </summary>
    public (Tensor Source, Tensor Target) Seq2SeqBackward(int[] positions, Tensor dlogits)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (_keptBatch < 0 || _keptSource < 0)
            throw new InvalidOperationException("Seq2SeqBackward needs a Seq2Seq forward kept for backward first");
        if (dlogits.Rank != 3 || dlogits.Dim(0) != _keptBatch || dlogits.Dim(2) != Vocab)
            throw new InvalidInputException($"dlogits must be [{_keptBatch}, K, {Vocab}], got [{string.Join(", ", dlogits.Shape)}]");
        int b = _keptBatch, k = dlogits.Dim(1), s = _keptSource, t = _keptSeq;
        if (positions.Length != b * k)
            throw new InvalidInputException($"positions has {positions.Length} entries, expected {b}×{k}");
        foreach (var p in positions)
            if (p >= t) throw new InvalidInputException($"cotangent position {p} is beyond the kept target length {t}");
        var dl = new float[(long)b * Math.Max(1, MaxCotangents / Math.Max(1, b)) * Vocab];
        return ChunkedSeq2Seq(positions, b, k, s, t, (k0, kc, pos, src, tgt) =>
        {
            for (var bi = 0; bi < b; bi++)
                for (var j = 0; j < kc; j++)
                    Array.Copy(dlogits.Data, ((long)bi * k + k0 + j) * Vocab, dl, ((long)bi * kc + j) * Vocab, Vocab);
            fixed (int* pp = pos)
            fixed (float* dp = dl)
            fixed (float* sp = src)
            fixed (float* tp = tgt)
                NativeCheck.Ok(NativeMethods.Seq2SeqBackward(_handle, b, kc, pp, dp, sp, tp), "inq_seq2seq_backward");
        });
    }

    /// <summary>
    /// A seq2seq backward along K in chunks of the context's cotangent rows: <paramref name="run"/>(k0, kc, positions,
    /// source, target) runs one native call for cotangents k0 .. k0+kc−1 of every row (positions already chunked;
    /// source [B·kc, S, hidden] and target [B·kc, T, hidden] to fill); the chunks are assembled into [B, K, S|T, hidden].
    /// </summary>
    (Tensor Source, Tensor Target) ChunkedSeq2Seq(int[] positions, int b, int k, int s, int t,
        Action<int, int, int[], float[], float[]> run)
    {
        if (MaxCotangents < b)
            throw new InvalidInputException($"context holds {MaxCotangents} cotangent rows, fewer than the batch of {b}");
        var source = Tensor.Zeros(b, k, s, Hidden);
        var target = Tensor.Zeros(b, k, t, Hidden);
        var chunk = Math.Max(1, MaxCotangents / b);
        var srcBuf = new float[(long)b * chunk * s * Hidden];
        var tgtBuf = new float[(long)b * chunk * t * Hidden];
        long sBlock = (long)s * Hidden, tBlock = (long)t * Hidden;
        for (var k0 = 0; k0 < k; k0 += chunk)
        {
            var kc = Math.Min(chunk, k - k0);
            var pos = new int[b * kc];
            for (var bi = 0; bi < b; bi++)
                for (var j = 0; j < kc; j++) pos[bi * kc + j] = positions[bi * k + k0 + j];
            run(k0, kc, pos, srcBuf, tgtBuf);
            for (var bi = 0; bi < b; bi++)
                for (var j = 0; j < kc; j++)
                {
                    Array.Copy(srcBuf, ((long)bi * kc + j) * sBlock, source.Data, ((long)bi * k + k0 + j) * sBlock, sBlock);
                    Array.Copy(tgtBuf, ((long)bi * kc + j) * tBlock, target.Data, ((long)bi * k + k0 + j) * tBlock, tBlock);
                }
        }
        return (source, target);
    }

    /// <summary>Attention probabilities of one layer of the last encoder-decoder forward (see
    /// <see cref="Seq2SeqAttentionKind"/> for the shapes).</summary>
    public Tensor Seq2SeqAttention(Seq2SeqAttentionKind kind, int layer)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (_seq2seqBatch < 0) throw new InvalidOperationException("Seq2SeqAttention needs a Seq2Seq forward first");
        var cfg = (Loading.EncoderDecoderConfig)Model.Config;
        var layers = kind == Seq2SeqAttentionKind.Encoder ? cfg.EncoderLayers : cfg.DecoderLayers;
        if ((uint)layer >= (uint)layers)
            throw new InvalidInputException($"layer {layer} out of range ({kind} stack has {layers})");
        int q = kind == Seq2SeqAttentionKind.Encoder ? _seq2seqSource : _seq2seqTarget;
        int k = kind == Seq2SeqAttentionKind.Decoder ? _seq2seqTarget : _seq2seqSource;
        var output = Tensor.Zeros(_seq2seqBatch, cfg.NumHeads, q, k);
        fixed (float* o = output.Data)
            NativeCheck.Ok(NativeMethods.Seq2SeqGetAttention(_handle, (int)kind, layer, o), "inq_seq2seq_get_attention");
        return output;
    }

    /// <summary>Appends one decoder token per row after a forward with fillCache; returns its logits [B, V].</summary>
    public Tensor Seq2SeqCacheStep(ReadOnlySpan<int> nextIds) => Seq2SeqCacheStep(nextIds, LogitsMode.Last)!;

    /// <summary>Appends one decoder token per row after a forward with fillCache; returns its logits [B, V] with
    /// <see cref="LogitsMode.Last"/>, nothing with <see cref="LogitsMode.None"/> (see <see cref="SampleNext"/>).</summary>
    public Tensor? Seq2SeqCacheStep(ReadOnlySpan<int> nextIds, LogitsMode logits)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (_cacheBatch < 0) throw new InvalidOperationException("Seq2SeqCacheStep needs a Seq2SeqForward with fillCache first");
        if (nextIds.Length != _cacheBatch)
            throw new InvalidInputException($"Seq2SeqCacheStep got {nextIds.Length} ids for a cached batch of {_cacheBatch}");
        CheckIds(nextIds);
        var output = LastLogits(_cacheBatch, logits);
        fixed (int* ids = nextIds)
        fixed (float* o = output?.Data)
            NativeCheck.Ok(NativeMethods.Seq2SeqCacheStep(_handle, _cacheBatch, ids, o), "inq_seq2seq_cache_step");
        _keptBatch = -1;
        _seq2seqBatch = -1;
        return output;
    }

    int _seq2seqBatch = -1, _seq2seqSource = -1, _seq2seqTarget = -1;

    void RequireEncoderDecoder(string what)
    {
        if (!Model.Config.IsEncoderDecoder)
            throw new InvalidInputException($"{what} needs an encoder-decoder model; use Forward");
    }

    static void CheckMasks(int batch, int s, int t, int[]? sourceMask, int[]? targetMask)
    {
        if (sourceMask is not null && sourceMask.Length != batch * s)
            throw new InvalidInputException($"source mask has {sourceMask.Length} entries, expected {batch}×{s}");
        if (targetMask is not null && targetMask.Length != batch * t)
            throw new InvalidInputException($"target mask has {targetMask.Length} entries, expected {batch}×{t}");
    }

    Tensor? Seq2SeqLogits(int batch, int t, LogitsMode logits) => logits switch
    {
        LogitsMode.All => Tensor.Zeros(batch, t, Vocab),
        LogitsMode.None => null,
        _ => throw new InvalidInputException("encoder-decoder forwards return all rows or none (use Seq2SeqCacheStep for the last)"),
    };

    static int Seq2SeqFlags(bool keepForBackward, bool fillCache) =>
        (keepForBackward ? NativeMethods.ForwardKeepForBackward : 0) | (fillCache ? NativeMethods.ForwardFillCache : 0);

    void RememberSeq2Seq(int batch, int source, int target, bool kept, bool fillCache)
    {
        Remember(batch, target, kept);
        _keptSource = kept ? source : -1;
        _seq2seqBatch = batch; _seq2seqSource = source; _seq2seqTarget = target;
        _cacheBatch = fillCache ? batch : -1;
    }
}

// Inseq's built-in step functions on the last encoder-decoder forward, computed natively (logits rows never leave the
// arena); semantics equal the managed built-ins.
public sealed unsafe partial class InferenceContext
{
    /// <summary>Step scores of rows (<paramref name="batchIndex"/>[i], target position <paramref name="positions"/>[i])
    /// of the last encoder-decoder forward; the contrast is the row itself or <paramref name="contrastLogits"/> [n, V].</summary>
    public float[] Seq2SeqStepScores(NativeStepFunction fn, StepFunctions.StepFunctionArgs args, int[] batchIndex,
        int[] positions, int[] targets, int[]? contrastTargets = null, Tensor? contrastLogits = null)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (_seq2seqBatch < 0) throw new InvalidOperationException("Seq2SeqStepScores needs a Seq2Seq forward first");
        var native = NativeArgs(fn, args);
        var n = batchIndex.Length;
        if (positions.Length != n || targets.Length != n || (contrastTargets is not null && contrastTargets.Length != n))
            throw new InvalidInputException($"batchIndex, positions, targets (and contrastTargets) must have {n} entries");
        for (var i = 0; i < n; i++)
            if ((uint)batchIndex[i] >= (uint)_seq2seqBatch || (uint)positions[i] >= (uint)_seq2seqTarget)
                throw new InvalidInputException($"row ({batchIndex[i]}, {positions[i]}) is outside the last forward's {_seq2seqBatch}×{_seq2seqTarget} target positions");
        CheckIds(targets);
        if (contrastTargets is not null) CheckIds(contrastTargets);
        if (contrastLogits is not null && contrastLogits.Length != (long)n * Vocab)
            throw new InvalidInputException($"contrastLogits must be [{n}, {Vocab}], got [{string.Join(", ", contrastLogits.Shape)}]");
        var scores = new float[n];
        if (n == 0) return scores;
        fixed (int* bi = batchIndex)
        fixed (int* pos = positions)
        fixed (int* tg = targets)
        fixed (int* ct = contrastTargets)
        fixed (float* cl = contrastLogits?.Data)
        fixed (float* sc = scores)
            NativeCheck.Ok(NativeMethods.Seq2SeqStepScores(_handle, &native, n, bi, pos, tg, ct, cl, sc), "inq_seq2seq_step_scores");
        return scores;
    }

    /// <summary>
    /// The attributed function's backward from the kept encoder-decoder forward with its dlogits formed natively
    /// (see <see cref="BackwardStep"/>): returns source [B, K, S, hidden] and target [B, K, T, hidden] gradients and
    /// the function's value per cotangent [B·K]. Chunked along K to the context's cotangent rows.
    /// </summary>
    public (Tensor Source, Tensor Target, float[] Scores) Seq2SeqBackwardStep(NativeStepFunction fn,
        StepFunctions.StepFunctionArgs args, int[] positions, int[] targets, int[]? contrastTargets = null,
        Tensor? contrastLogits = null)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (_keptBatch < 0 || _keptSource < 0)
            throw new InvalidOperationException("Seq2SeqBackwardStep needs a Seq2Seq forward kept for backward first");
        var native = NativeArgs(fn, args);
        RequireDifferentiable(fn, contrastLogits);
        int b = _keptBatch, s = _keptSource, t = _keptSeq;
        if (positions.Length % b != 0 || targets.Length != positions.Length
            || (contrastTargets is not null && contrastTargets.Length != positions.Length))
            throw new InvalidInputException($"positions, targets (and contrastTargets) must have batch {b} × K entries");
        var k = positions.Length / b;
        for (var i = 0; i < positions.Length; i++)
        {
            if (positions[i] >= t) throw new InvalidInputException($"cotangent position {positions[i]} is beyond the kept target length {t}");
            if (positions[i] >= 0 && ((uint)targets[i] >= (uint)Vocab || (contrastTargets is not null && (uint)contrastTargets[i] >= (uint)Vocab)))
                throw new InvalidInputException($"target id at cotangent {i} is outside the vocabulary (size {Vocab})");
        }
        if (contrastLogits is not null && contrastLogits.Length != (long)positions.Length * Vocab)
            throw new InvalidInputException($"contrastLogits must be [{positions.Length}, {Vocab}], got [{string.Join(", ", contrastLogits.Shape)}]");
        var scores = new float[b * k];
        var chunk = Math.Max(1, MaxCotangents / Math.Max(1, b));
        var staged = new StepChunk(b, k, chunk, Vocab, targets, contrastTargets, contrastLogits);
        var (source, target) = ChunkedSeq2Seq(positions, b, k, s, t, (k0, kc, pos, src, tgt) =>
        {
            staged.Fill(k0, kc);
            fixed (int* pp = pos)
            fixed (int* tp = staged.Targets)
            fixed (int* cp = staged.ContrastTargets)
            fixed (float* lp = staged.ContrastLogits)
            fixed (float* sp = src)
            fixed (float* dp = tgt)
            fixed (float* scp = staged.Scores)
            {
                var a = native;
                NativeCheck.Ok(NativeMethods.Seq2SeqBackwardStep(_handle, &a, b, kc, pp, tp, cp, lp, sp, dp, scp),
                    "inq_seq2seq_backward_step");
            }
            staged.ScoresInto(scores, k0, kc);
        });
        return (source, target, scores);
    }
}
