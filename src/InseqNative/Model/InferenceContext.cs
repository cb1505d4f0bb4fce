using InseqNative.Interop;

namespace InseqNative;

/// <summary>What the LM head writes during a forward.</summary>
public enum LogitsMode { None = NativeMethods.LogitsNone, All = NativeMethods.LogitsAll, Last = NativeMethods.LogitsLast }

/// <summary>
/// One native activation arena sized for (max batch, max sequence, max cotangent rows): forwards, input-embedding
/// backwards and the KV cache run inside it without allocating. Use from one thread at a time; create one per
/// thread for concurrency. Keeps its model alive.
/// </summary>
public sealed unsafe partial class InferenceContext : IDisposable
{
    readonly ContextHandle _handle;
    // Shape of the last forward kept for backward / attention (-1: none) and of the cached batch.
    int _keptBatch = -1, _keptSeq = -1, _cacheBatch = -1, _keptSource = -1;

    public TransformerModel Model { get; }
    public int MaxBatch { get; }
    public int MaxSequence { get; }
    public int MaxCotangents { get; }
    public bool CanKeepAttention { get; }
    public long ArenaBytes { get; }

    internal InferenceContext(TransformerModel model, int maxBatch, int maxSeq, int maxCotangents, bool keepAttention)
    {
        if (maxBatch <= 0 || maxSeq <= 0 || maxCotangents < 0)
            throw new InvalidInputException($"context sizes must be positive (batch {maxBatch}, sequence {maxSeq}, cotangents {maxCotangents})");
        Model = model;
        MaxBatch = maxBatch; MaxSequence = maxSeq; MaxCotangents = maxCotangents; CanKeepAttention = keepAttention;
        var flags = model.ContextFlags(keepAttention);
        ArenaBytes = model.ContextMemoryBytes(maxBatch, maxSeq, maxCotangents, keepAttention);
        NativeCheck.Ok(NativeMethods.ContextCreate(model.Handle, maxBatch, maxSeq, maxCotangents, flags, out var raw),
            "inq_context_create");
        _handle = new ContextHandle();
        _handle.Adopt(raw, model.Handle);
    }

    int Vocab => Model.Config.VocabSize;
    int Hidden => Model.Config.HiddenSize;

    /// <summary>Forward over token ids. Returns logits per <paramref name="logits"/> ([B,T,V], [B,V] or null).</summary>
    public Tensor? Forward(TokenBatch batch, LogitsMode logits = LogitsMode.All, bool keepForBackward = false,
        bool keepAttention = false)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        CheckIds(batch.Ids);
        var output = AllocateLogits(batch.Batch, batch.Length, logits);
        fixed (int* ids = batch.Ids)
        fixed (int* mask = batch.Mask)
        fixed (float* outp = output?.Data)
            NativeCheck.Ok(NativeMethods.Forward(_handle, batch.Batch, batch.Length, ids, null,
                batch.HasPadding ? mask : null, (int)logits, outp, Flags(keepForBackward, keepAttention)), "inq_forward");
        Remember(batch.Batch, batch.Length, keepForBackward || keepAttention);
        return output;
    }

    /// <summary>Forward over token embeddings [B, T, hidden] (positions are added inside, as Hugging Face does
    /// for inputs_embeds). <paramref name="mask"/> is [B, T] or null for no padding.</summary>
    public Tensor? ForwardEmbeddings(Tensor embeddings, int[]? mask = null, LogitsMode logits = LogitsMode.All,
        bool keepForBackward = false, bool keepAttention = false)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (embeddings.Rank != 3 || embeddings.Dim(2) != Hidden)
            throw new InvalidInputException($"input embeddings must be [batch, seq, {Hidden}], got [{string.Join(", ", embeddings.Shape)}]");
        int b = embeddings.Dim(0), t = embeddings.Dim(1);
        if (mask is not null && mask.Length != b * t)
            throw new InvalidInputException($"attention mask has {mask.Length} entries, expected {b}×{t}");
        var output = AllocateLogits(b, t, logits);
        fixed (float* emb = embeddings.Data)
        fixed (int* m = mask)
        fixed (float* outp = output?.Data)
            NativeCheck.Ok(NativeMethods.Forward(_handle, b, t, null, emb, m, (int)logits, outp,
                Flags(keepForBackward, keepAttention)), "inq_forward");
        Remember(b, t, keepForBackward || keepAttention);
        return output;
    }

    /// <summary>
    /// Gradients of the kept forward with respect to its input token embeddings, for <c>K</c> cotangents per row:
    /// cotangent (b, k) is <paramref name="dlogits"/>[b, k, :] applied to the logits at <paramref name="positions"/>[b, k]
    /// (negative: none). Returns [B, K, T, hidden]. Calls are chunked along K to the context's cotangent capacity.
    /// </summary>
    public Tensor BackwardEmbeddings(int[] positions, Tensor dlogits)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (_keptBatch < 0) throw new InvalidOperationException("BackwardEmbeddings needs a forward kept for backward first");
        if (dlogits.Rank != 3 || dlogits.Dim(0) != _keptBatch || dlogits.Dim(2) != Vocab)
            throw new InvalidInputException($"dlogits must be [{_keptBatch}, K, {Vocab}], got [{string.Join(", ", dlogits.Shape)}]");
        int b = _keptBatch, k = dlogits.Dim(1), t = _keptSeq;
        if (positions.Length != b * k)
            throw new InvalidInputException($"positions has {positions.Length} entries, expected {b}×{k}");
        foreach (var p in positions)
            if (p >= t) throw new InvalidInputException($"cotangent position {p} is beyond the kept sequence length {t}");
        var result = Tensor.Zeros(b, k, t, Hidden);
        if (k == 0) return result;
        var chunk = Math.Max(1, MaxCotangents / b);
        if (MaxCotangents < b)
            throw new InvalidInputException($"context holds {MaxCotangents} cotangent rows, fewer than the batch of {b}");
        var pos = new int[b * chunk];
        var dl = new float[(long)b * chunk * Vocab];
        var outBuf = new float[(long)b * chunk * t * Hidden];
        for (var k0 = 0; k0 < k; k0 += chunk)
        {
            var kc = Math.Min(chunk, k - k0);
            for (var bi = 0; bi < b; bi++)
                for (var j = 0; j < kc; j++)
                {
                    pos[bi * kc + j] = positions[bi * k + k0 + j];
                    Array.Copy(dlogits.Data, ((long)bi * k + k0 + j) * Vocab, dl, ((long)bi * kc + j) * Vocab, Vocab);
                }
            fixed (int* pp = pos)
            fixed (float* dp = dl)
            fixed (float* op = outBuf)
                NativeCheck.Ok(NativeMethods.BackwardEmbeds(_handle, b, kc, pp, dp, op), "inq_backward_embeds");
            long block = (long)t * Hidden;
            for (var bi = 0; bi < b; bi++)
                for (var j = 0; j < kc; j++)
                    Array.Copy(outBuf, ((long)bi * kc + j) * block, result.Data, ((long)bi * k + k0 + j) * block, block);
        }
        return result;
    }

    /// <summary>Attention probabilities [B, heads, T, T] of one layer from the last forward kept with attention.</summary>
    public Tensor Attention(int layer)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if ((uint)layer >= (uint)Model.Config.NumLayers)
            throw new InvalidInputException($"layer {layer} out of range (model has {Model.Config.NumLayers})");
        if (_keptBatch < 0) throw new InvalidOperationException("Attention needs a forward kept with keepAttention first");
        var output = Tensor.Zeros(_keptBatch, Model.Config.NumHeads, _keptSeq, _keptSeq);
        fixed (float* o = output.Data)
            NativeCheck.Ok(NativeMethods.GetAttention(_handle, layer, o), "inq_get_attention");
        return output;
    }

    /// <summary>Fills the KV cache with a left-padded batch; returns the last position's logits [B, V].</summary>
    public Tensor CachePrefill(TokenBatch batch) => CachePrefill(batch, LogitsMode.Last)!;

    /// <summary>Fills the KV cache with a left-padded batch; returns the last position's logits [B, V] with
    /// <see cref="LogitsMode.Last"/>, nothing with <see cref="LogitsMode.None"/> (pick the next tokens with
    /// <see cref="SampleNext"/>: the logits stay on the device).</summary>
    public Tensor? CachePrefill(TokenBatch batch, LogitsMode logits)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        CheckIds(batch.Ids);
        var output = LastLogits(batch.Batch, logits);
        fixed (int* ids = batch.Ids)
        fixed (int* mask = batch.Mask)
        fixed (float* o = output?.Data)
            NativeCheck.Ok(NativeMethods.CachePrefill(_handle, batch.Batch, batch.Length, ids, mask, o), "inq_cache_prefill");
        _cacheBatch = batch.Batch;
        _sampleRows = batch.Batch;
        _keptBatch = -1;
        return output;
    }

    /// <summary>Appends one token per row to the cache; returns its logits [B, V].</summary>
    public Tensor CacheStep(ReadOnlySpan<int> nextIds) => CacheStep(nextIds, LogitsMode.Last)!;

    /// <summary>Appends one token per row to the cache; returns its logits [B, V] with <see cref="LogitsMode.Last"/>,
    /// nothing with <see cref="LogitsMode.None"/> (see <see cref="SampleNext"/>).</summary>
    public Tensor? CacheStep(ReadOnlySpan<int> nextIds, LogitsMode logits)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (_cacheBatch < 0) throw new InvalidOperationException("CacheStep needs CachePrefill first");
        if (nextIds.Length != _cacheBatch)
            throw new InvalidInputException($"CacheStep got {nextIds.Length} ids for a cached batch of {_cacheBatch}");
        CheckIds(nextIds);
        var output = LastLogits(_cacheBatch, logits);
        fixed (int* ids = nextIds)
        fixed (float* o = output?.Data)
            NativeCheck.Ok(NativeMethods.CacheStep(_handle, _cacheBatch, ids, o), "inq_cache_step");
        return output;
    }

    Tensor? LastLogits(int batch, LogitsMode logits) => logits switch
    {
        LogitsMode.Last => Tensor.Zeros(batch, Vocab),
        LogitsMode.None => null,
        _ => throw new InvalidInputException("cached decoding returns the new position's logits (Last) or none (None)"),
    };

    public int CacheLength
    {
        get
        {
            NativeCheck.Ok(NativeMethods.CacheLength(_handle, out var n), "inq_cache_length");
            return n;
        }
    }

    /// <summary>Token embedding rows [n, hidden] (no positions): what attribution baselines are made of. For
    /// encoder-decoders these are the scaled rows (× embed_scale), i.e. Hugging Face's inputs_embeds.</summary>
    public Tensor EmbedTokens(ReadOnlySpan<int> ids)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        CheckIds(ids);
        var output = Tensor.Zeros(ids.Length, Hidden);
        if (ids.Length == 0) return output;
        fixed (int* p = ids)
        fixed (float* o = output.Data)
            NativeCheck.Ok(Model.Config.IsEncoderDecoder
                ? NativeMethods.Seq2SeqEmbedTokens(_handle, p, ids.Length, o)
                : NativeMethods.EmbedTokens(_handle, p, ids.Length, o), "inq_embed_tokens");
        return output;
    }

    void CheckIds(ReadOnlySpan<int> ids)
    {
        foreach (var id in ids)
            if ((uint)id >= (uint)Vocab)
                throw new InvalidInputException($"token id {id} is outside the vocabulary (size {Vocab})");
    }

    Tensor? AllocateLogits(int batch, int seq, LogitsMode mode) => mode switch
    {
        LogitsMode.All => Tensor.Zeros(batch, seq, Vocab),
        LogitsMode.Last => Tensor.Zeros(batch, Vocab),
        _ => null,
    };

    static int Flags(bool keepForBackward, bool keepAttention) =>
        (keepForBackward ? NativeMethods.ForwardKeepForBackward : 0) | (keepAttention ? NativeMethods.ForwardKeepAttention : 0);

    void Remember(int batch, int seq, bool kept)
    {
        _sampleRows = batch;
        _keptBatch = kept ? batch : -1;
        _keptSeq = kept ? seq : -1;
        _keptSource = -1;
        _cacheBatch = -1;
    }

    public void Dispose() => _handle.Dispose();
}
