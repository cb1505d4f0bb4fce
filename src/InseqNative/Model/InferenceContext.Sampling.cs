using InseqNative.Generation;
using InseqNative.Interop;

namespace InseqNative;

// Next-token choice on the device (inq_sample_next): generation downloads ids and log-probabilities, never logits.
public sealed unsafe partial class InferenceContext
{
    // Rows of the last forward, prefill or cache step (what SampleNext picks for; -1: none yet).
    int _sampleRows = -1;

    /// <summary>The native context (ABI-level tests).</summary>
    internal ContextHandle Handle => _handle;

    /// <summary>
    /// The next token of every row of the last forward, prefill or cache step (decoder-only or encoder-decoder; with
    /// logits requested or not), picked natively where the logits are, as <see cref="TokenSampler"/> picks on a row:
    /// <paramref name="bannedIds"/>[b] (null or a null row: none) get logit -inf first; a
    /// <paramref name="forcedIds"/>[b] &gt;= 0 is taken as is; otherwise the argmax (greedy) or a draw with
    /// <paramref name="uniforms"/>[b] in [0, 1) (needed when <see cref="SamplingSettings.DoSample"/>; ignored for
    /// forced rows). Returns the ids and log_softmax(banned row)[id] of every row. On the CPU the result equals
    /// <see cref="TokenSampler"/> on the downloaded (banned) rows bit for bit; on CUDA see inq_sample_next.
    /// </summary>
    public (int[] Ids, float[] LogProbs) SampleNext(SamplingSettings settings, double[]? uniforms = null,
        int[]? forcedIds = null, IReadOnlyList<IReadOnlyList<int>?>? bannedIds = null)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        var rows = _sampleRows;
        if (rows < 0) throw new InvalidOperationException("SampleNext needs a forward, prefill or cache step first");
        if (uniforms is not null && uniforms.Length != rows)
            throw new InvalidInputException($"uniforms has {uniforms.Length} entries, expected {rows}");
        if (forcedIds is not null && forcedIds.Length != rows)
            throw new InvalidInputException($"forcedIds has {forcedIds.Length} entries, expected {rows}");
        if (bannedIds is not null && bannedIds.Count != rows)
            throw new InvalidInputException($"bannedIds has {bannedIds.Count} rows, expected {rows}");
        int[]? offsets = null, bans = null;
        if (bannedIds is not null)
        {
            offsets = new int[rows + 1];
            for (var b = 0; b < rows; b++) offsets[b + 1] = offsets[b] + (bannedIds[b]?.Count ?? 0);
            bans = new int[offsets[rows]];
            for (var b = 0; b < rows; b++)
                if (bannedIds[b] is { } row)
                    for (var j = 0; j < row.Count; j++) bans[offsets[b] + j] = row[j];
        }
        var native = new NativeSampling(settings.DoSample, settings.Temperature, settings.TopK, settings.TopP);
        var ids = new int[rows];
        var logProbs = new float[rows];
        fixed (double* u = uniforms)
        fixed (int* f = forcedIds)
        fixed (int* o = offsets)
        fixed (int* bi = bans)
        fixed (int* oi = ids)
        fixed (float* ol = logProbs)
            NativeCheck.Ok(NativeMethods.SampleNext(_handle, &native, u, f, o, bi, oi, ol), "inq_sample_next");
        return (ids, logProbs);
    }
}
