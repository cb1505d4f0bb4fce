using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace InseqNative.Outputs.Serialization;

/// <summary>
/// One tensor as an in-memory safetensors file — Inseq 0.7's tensor payload (<c>safetensors.torch.save({"attribution":
/// t})</c>, base64'd into the JSON): u64 little-endian header length, a JSON header
/// <c>{"attribution": {"dtype", "shape", "data_offsets"}}</c> padded with spaces to a multiple of 8 bytes, then the raw
/// little-endian row-major data.
/// </summary>
internal static class SafetensorsBlob
{
    public const string TensorName = "attribution";

    public static byte[] Encode(Tensor t, ScoresPrecision precision)
    {
        byte[] data = precision == ScoresPrecision.Float16 ? HalfBytes(t.Data) : FloatBytes(t.Data);
        string header = $"{{\"{TensorName}\":{{\"dtype\":\"{(precision == ScoresPrecision.Float16 ? "F16" : "F32")}\"," +
                        $"\"shape\":[{string.Join(",", t.Shape)}],\"data_offsets\":[0,{data.Length}]}}}}";
        int padded = (header.Length + 7) / 8 * 8;
        header = header.PadRight(padded);
        var blob = new byte[8 + padded + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(blob, (ulong)padded);
        Encoding.UTF8.GetBytes(header, blob.AsSpan(8));
        data.CopyTo(blob, 8 + padded);
        return blob;
    }

    /// <summary>Reads the tensor named "attribution" (or the only tensor). F32, F16, BF16, F64 and integer types are
    /// widened to float32; I8/U8 tensors with "scale" and zero-point metadata (Inseq's float8 option) are dequantized as
    /// (q − zero point) · scale.</summary>
    public static Tensor Decode(ReadOnlySpan<byte> blob, string where)
    {
        if (blob.Length < 8) throw new FormatException($"{where}: safetensors blob of {blob.Length} bytes has no header");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(blob);
        if (headerLength > (ulong)(blob.Length - 8))
            throw new FormatException($"{where}: safetensors header length {headerLength} exceeds the {blob.Length}-byte blob");
        using var header = JsonDocument.Parse(blob.Slice(8, (int)headerLength).ToArray());
        var entries = header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__").ToArray();
        var entry = entries.FirstOrDefault(p => p.Name == TensorName);
        if (entry.Value.ValueKind == JsonValueKind.Undefined)
        {
            if (entries.Length != 1)
                throw new FormatException(
                    $"{where}: safetensors blob holds [{string.Join(", ", entries.Select(e => e.Name))}], no '{TensorName}' tensor");
            entry = entries[0];
        }
        string dtype = entry.Value.GetProperty("dtype").GetString() ?? "";
        int[] shape = entry.Value.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        long[] offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(x => x.GetInt64()).ToArray();
        var dataStart = 8 + (long)headerLength;
        if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || dataStart + offsets[1] > blob.Length)
            throw new FormatException($"{where}: safetensors data offsets [{string.Join(", ", offsets)}] fall outside the blob");
        var bytes = blob.Slice((int)(dataStart + offsets[0]), (int)(offsets[1] - offsets[0]));
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var values = NumericBytes.ToFloats(bytes, SafetensorsToNumpy(dtype, where), count, where);
        if (dtype is "I8" or "U8" && Metadata(header.RootElement) is { } meta)
        {
            double scale = meta.FirstOrDefault(p => p.Key.Contains("scale", StringComparison.OrdinalIgnoreCase)).Value;
            double zero = meta.FirstOrDefault(p => p.Key.Contains("zero", StringComparison.OrdinalIgnoreCase)
                                                  || p.Key.Equals("zp", StringComparison.OrdinalIgnoreCase)).Value;
            if (scale != 0)
                for (int i = 0; i < values.Length; i++) values[i] = (float)((values[i] - zero) * scale);
        }
        return new Tensor(values, shape);
    }

    static Dictionary<string, double>? Metadata(JsonElement root)
    {
        if (!root.TryGetProperty("__metadata__", out var m) || m.ValueKind != JsonValueKind.Object) return null;
        var result = new Dictionary<string, double>();
        foreach (var p in m.EnumerateObject())
            if (p.Value.ValueKind == JsonValueKind.String && double.TryParse(p.Value.GetString(),
                    System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double d))
                result[p.Name] = d;
        return result;
    }

    static string SafetensorsToNumpy(string dtype, string where) => dtype switch
    {
        "F32" => "float32",
        "F16" => "float16",
        "BF16" => "bfloat16",
        "F64" => "float64",
        "I8" => "int8",
        "U8" => "uint8",
        "I16" => "int16",
        "I32" => "int32",
        "I64" => "int64",
        "BOOL" => "bool",
        _ => throw new FormatException($"{where}: unsupported safetensors dtype '{dtype}'"),
    };

    static byte[] FloatBytes(float[] data)
    {
        var bytes = new byte[data.Length * 4];
        for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), data[i]);
        return bytes;
    }

    internal static byte[] HalfBytes(float[] data)
    {
        var bytes = new byte[data.Length * 2];
        for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)data[i]);
        return bytes;
    }

    internal static byte[] FloatBytesOf(float[] data) => FloatBytes(data);
}
