using System.Buffers.Binary;

namespace InseqNative.Outputs.Serialization;

/// <summary>Little-endian numpy-dtype bytes → float32 values.</summary>
internal static class NumericBytes
{
    public static float[] ToFloats(ReadOnlySpan<byte> bytes, string dtype, long count, string where)
    {
        int size = dtype switch
        {
            "float32" or "int32" => 4,
            "float16" or "bfloat16" or "int16" => 2,
            "float64" or "int64" => 8,
            "int8" or "uint8" or "bool" => 1,
            _ => throw new FormatException($"{where}: unsupported dtype '{dtype}' (float32, float16, bfloat16, float64 and integers are read)"),
        };
        if (bytes.Length != count * size)
            throw new FormatException($"{where}: {bytes.Length} bytes of {dtype} do not hold the {count} elements of its shape");
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            var b = bytes.Slice(i * size, size);
            values[i] = dtype switch
            {
                "float32" => BinaryPrimitives.ReadSingleLittleEndian(b),
                "float16" => (float)BinaryPrimitives.ReadHalfLittleEndian(b),
                "bfloat16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b) << 16),
                "float64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(b),
                "int64" => BinaryPrimitives.ReadInt64LittleEndian(b),
                "int32" => BinaryPrimitives.ReadInt32LittleEndian(b),
                "int16" => BinaryPrimitives.ReadInt16LittleEndian(b),
                "int8" => (sbyte)b[0],
                _ => b[0],
            };
        }
        return values;
    }
}
