namespace InseqNative;

/// <summary>A batch of token id sequences, left-padded to a common length, with its attention mask
/// (1 = real token, 0 = padding). Left padding keeps every row's last token in the last column, which is what
/// causal generation and the native position ids (cumsum(mask) − 1) expect.</summary>
public sealed class TokenBatch
{
    public int Batch { get; }
    public int Length { get; }
    /// <summary>[Batch, Length] row-major.</summary>
    public int[] Ids { get; }
    /// <summary>[Batch, Length] row-major.</summary>
    public int[] Mask { get; }

    TokenBatch(int batch, int length, int[] ids, int[] mask)
    {
        Batch = batch; Length = length; Ids = ids; Mask = mask;
    }

    public static TokenBatch LeftPadded(IReadOnlyList<IReadOnlyList<int>> sequences, int padId)
    {
        if (sequences.Count == 0) throw new InvalidInputException("empty batch: at least one sequence is required");
        var length = 0;
        for (var b = 0; b < sequences.Count; b++)
        {
            if (sequences[b].Count == 0) throw new InvalidInputException($"sequence {b} of the batch is empty");
            length = Math.Max(length, sequences[b].Count);
        }
        var ids = new int[sequences.Count * length];
        var mask = new int[sequences.Count * length];
        for (var b = 0; b < sequences.Count; b++)
        {
            var seq = sequences[b];
            var pad = length - seq.Count;
            for (var t = 0; t < length; t++)
            {
                var real = t >= pad;
                ids[b * length + t] = real ? seq[t - pad] : padId;
                mask[b * length + t] = real ? 1 : 0;
            }
        }
        return new TokenBatch(sequences.Count, length, ids, mask);
    }

    public static TokenBatch Single(IReadOnlyList<int> ids) => LeftPadded([ids], 0);

    /// <summary>Number of padding columns in row <paramref name="b"/>.</summary>
    public int PaddingOf(int b)
    {
        var n = 0;
        while (n < Length && Mask[b * Length + n] == 0) n++;
        return n;
    }

    public bool HasPadding => Array.IndexOf(Mask, 0) >= 0;
}
