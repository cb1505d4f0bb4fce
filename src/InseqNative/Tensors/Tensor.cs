using System.Text;

namespace InseqNative;

/// <summary>
/// A dense, row-major fp32 tensor owned by managed memory: the currency of results crossing from native code
/// (logits, gradients, attention) to the caller. Small on purpose — heavy math happens natively.
/// </summary>
public sealed class Tensor
{
    public float[] Data { get; }
    public int[] Shape { get; }
    public int Rank => Shape.Length;
    public long Length => Data.LongLength;

    public Tensor(float[] data, params int[] shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new ArgumentException($"negative dimension in shape [{string.Join(", ", shape)}]");
            n *= d;
        }
        if (n != data.LongLength)
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] holds {n} elements but data has {data.LongLength}");
        Data = data;
        Shape = shape;
    }

    public static Tensor Zeros(params int[] shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        return new Tensor(new float[n], shape);
    }

    public int Dim(int axis) => Shape[axis < 0 ? Shape.Length + axis : axis];

    /// <summary>Flat offset of a full index.</summary>
    public long Offset(params int[] index)
    {
        if (index.Length != Shape.Length)
            throw new ArgumentException($"index of rank {index.Length} for a tensor of rank {Shape.Length}");
        long off = 0;
        for (var i = 0; i < index.Length; i++)
        {
            if ((uint)index[i] >= (uint)Shape[i])
                throw new IndexOutOfRangeException($"index {index[i]} out of range for axis {i} of size {Shape[i]}");
            off = off * Shape[i] + index[i];
        }
        return off;
    }

    public float this[params int[] index]
    {
        get => Data[Offset(index)];
        set => Data[Offset(index)] = value;
    }

    /// <summary>The contiguous block of the last <c>Rank - prefix.Length</c> axes at a leading index.</summary>
    public Span<float> Slice(params int[] prefix)
    {
        if (prefix.Length > Shape.Length) throw new ArgumentException("prefix longer than rank");
        long inner = 1;
        for (var i = prefix.Length; i < Shape.Length; i++) inner *= Shape[i];
        long off = 0;
        for (var i = 0; i < prefix.Length; i++)
        {
            if ((uint)prefix[i] >= (uint)Shape[i])
                throw new IndexOutOfRangeException($"index {prefix[i]} out of range for axis {i} of size {Shape[i]}");
            off = off * Shape[i] + prefix[i];
        }
        return Data.AsSpan((int)(off * inner), (int)inner);
    }

    public override string ToString()
    {
        var sb = new StringBuilder("Tensor[");
        sb.Append(string.Join(", ", Shape)).Append(']');
        return sb.ToString();
    }
}
