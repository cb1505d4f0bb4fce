namespace InseqNative;

/// <summary>
/// The per-chunk inputs of a native backward_step call (both graphs): the chunk's targets, contrast targets and
/// contrast logits rows copied out of the caller's [B, K] arrays, and the chunk's scores written back. One instance
/// serves every chunk of a call (buffers sized for the largest chunk).
/// </summary>
sealed class StepChunk(int batch, int k, int chunk, int vocab, int[] targets, int[]? contrastTargets, Tensor? contrastLogits)
{
    public int[] Targets { get; } = new int[batch * chunk];
    public int[]? ContrastTargets { get; } = contrastTargets is null ? null : new int[batch * chunk];
    public float[]? ContrastLogits { get; } = contrastLogits is null ? null : new float[(long)batch * chunk * vocab];
    public float[] Scores { get; } = new float[batch * chunk];

    /// <summary>Copies cotangents k0 .. k0+kc−1 of every row into the chunk buffers (row-major [B, kc]).</summary>
    public void Fill(int k0, int kc)
    {
        for (var bi = 0; bi < batch; bi++)
            for (var j = 0; j < kc; j++)
            {
                int from = bi * k + k0 + j, to = bi * kc + j;
                Targets[to] = targets[from];
                if (ContrastTargets is not null) ContrastTargets[to] = contrastTargets![from];
                if (ContrastLogits is not null)
                    Array.Copy(contrastLogits!.Data, (long)from * vocab, ContrastLogits, (long)to * vocab, vocab);
            }
    }

    /// <summary>Writes the chunk's scores into <paramref name="all"/> [B·K].</summary>
    public void ScoresInto(float[] all, int k0, int kc)
    {
        for (var bi = 0; bi < batch; bi++)
            for (var j = 0; j < kc; j++) all[bi * k + k0 + j] = Scores[bi * kc + j];
    }
}
