using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace InseqNative.Tests.Loading;

/// <summary>Writes safetensors files for tests, including deliberately broken ones.</summary>
public sealed class SafetensorsTestWriter
{
    private readonly List<(string Name, string DType, long[] Shape, byte[] Data)> _tensors = [];

    /// <summary>Override the computed data_offsets of a tensor (relative to the data section).</summary>
    public Dictionary<string, (long Begin, long End)> OffsetOverrides { get; } = [];

    public SafetensorsTestWriter Add(string name, string dtype, long[] shape, byte[] data)
    {
        _tensors.Add((name, dtype, shape, data));
        return this;
    }

    public SafetensorsTestWriter AddF32(string name, long[] shape, float[] values)
    {
        var bytes = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++)
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
        return Add(name, "F32", shape, bytes);
    }

    public SafetensorsTestWriter AddU16(string name, string dtype, long[] shape, ushort[] bits)
    {
        var bytes = new byte[bits.Length * 2];
        for (int i = 0; i < bits.Length; i++)
            BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2 * i), bits[i]);
        return Add(name, dtype, shape, bytes);
    }

    public string HeaderJson()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteStartObject("__metadata__");
            json.WriteString("format", "pt");
            json.WriteEndObject();
            long offset = 0;
            foreach (var (name, dtype, shape, data) in _tensors)
            {
                (long begin, long end) = OffsetOverrides.TryGetValue(name, out var o) ? o : (offset, offset + data.Length);
                offset += data.Length;
                json.WriteStartObject(name);
                json.WriteString("dtype", dtype);
                json.WriteStartArray("shape");
                foreach (long d in shape)
                    json.WriteNumberValue(d);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(begin);
                json.WriteNumberValue(end);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public byte[] ToBytes(string? headerOverride = null, ulong? headerLengthOverride = null)
    {
        byte[] header = Encoding.UTF8.GetBytes(headerOverride ?? HeaderJson());
        int padded = (header.Length + 7) / 8 * 8;
        var file = new List<byte>();
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, headerLengthOverride ?? (ulong)padded);
        file.AddRange(length);
        file.AddRange(header);
        file.AddRange(Enumerable.Repeat((byte)' ', padded - header.Length));
        foreach (var t in _tensors)
            file.AddRange(t.Data);
        return [.. file];
    }

    public string Write(string path, string? headerOverride = null, ulong? headerLengthOverride = null)
    {
        File.WriteAllBytes(path, ToBytes(headerOverride, headerLengthOverride));
        return path;
    }
}
