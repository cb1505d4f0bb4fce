namespace InseqNative.Loading;

/// <summary>One tensor entry of a safetensors header. Offsets are absolute positions in the file (the header's
/// data_offsets plus the start of the data section).</summary>
public sealed record SafetensorsTensorInfo(
    string Name,
    SafetensorsDType DType,
    IReadOnlyList<long> Shape,
    long ElementCount,
    long FileOffset,
    long ByteLength)
{
    public int Rank => Shape.Count;

    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
