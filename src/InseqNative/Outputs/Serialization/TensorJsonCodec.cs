using System.IO.Compression;
using System.Text.Json;

namespace InseqNative.Outputs.Serialization;

/// <summary>Tensors in attribution JSON: reads every encoding Inseq writes, writes the 0.7 or the 0.6 one.</summary>
internal static class TensorJsonCodec
{
    /// <summary>null → null; a string → Inseq 0.7 base64 safetensors; an object with "__ndarray__" → Inseq 0.6 (base64
    /// bytes, optionally gzip'd, or nested lists); a bare nested list → values with the shape of the nesting.</summary>
    public static Tensor? Read(JsonElement e, string where)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Null or JsonValueKind.Undefined:
                return null;
            case JsonValueKind.String:
                string text = e.GetString()!;
                if (text.StartsWith("b64.gz:", StringComparison.Ordinal) || text.StartsWith("b64:", StringComparison.Ordinal))
                    return SafetensorsBlob.Decode(Base64Payload(text, where), where);
                return SafetensorsBlob.Decode(Base64(text, where), where);
            case JsonValueKind.Object when e.TryGetProperty("__ndarray__", out var payload):
                return ReadNdarray(e, payload, where);
            case JsonValueKind.Array:
                return ReadNested(e, null, where);
            default:
                throw new FormatException($"{where}: expected a tensor, found JSON {e.ValueKind}");
        }
    }

    static Tensor ReadNdarray(JsonElement e, JsonElement payload, string where)
    {
        if (e.TryGetProperty("Corder", out var corder) && corder.ValueKind == JsonValueKind.False)
            throw new FormatException($"{where}: Fortran-ordered arrays (Corder false) are not supported, as in Inseq");
        int[] shape = e.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()).ToArray();
        string dtype = e.TryGetProperty("dtype", out var d) ? d.GetString() ?? "float32" : "float32";
        if (payload.ValueKind == JsonValueKind.Array || payload.ValueKind == JsonValueKind.Number)
            return ReadNested(payload, shape, where);
        if (payload.ValueKind != JsonValueKind.String)
            throw new FormatException($"{where}: __ndarray__ must be a string or a list, found {payload.ValueKind}");
        long count = shape.Aggregate(1L, (a, b) => a * b);
        var bytes = Base64Payload(payload.GetString()!, where);
        return new Tensor(NumericBytes.ToFloats(bytes, dtype, count, where), shape);
    }

    /// <summary>"b64:" + base64, or "b64.gz:" + base64 of gzip'd bytes.</summary>
    static byte[] Base64Payload(string text, string where)
    {
        if (text.StartsWith("b64.gz:", StringComparison.Ordinal)) return Gunzip(Base64(text[7..], where));
        if (text.StartsWith("b64:", StringComparison.Ordinal)) return Base64(text[4..], where);
        throw new FormatException($"{where}: array data must start with 'b64:' or 'b64.gz:'");
    }

    static byte[] Base64(string text, string where)
    {
        try { return Convert.FromBase64String(text); }
        catch (FormatException ex) { throw new FormatException($"{where}: tensor string is not valid base64", ex); }
    }

    internal static byte[] Gunzip(byte[] bytes)
    {
        using var input = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    internal static byte[] Gzip(byte[] bytes, CompressionLevel level = CompressionLevel.SmallestSize)
    {
        using var output = new MemoryStream();
        using (var gz = new GZipStream(output, level, leaveOpen: true)) gz.Write(bytes);
        return output.ToArray();
    }

    static Tensor ReadNested(JsonElement e, int[]? shape, string where)
    {
        var values = new List<float>();
        var inferred = new List<int>();
        void Walk(JsonElement x, int depth)
        {
            if (x.ValueKind == JsonValueKind.Array)
            {
                int n = x.GetArrayLength();
                if (inferred.Count == depth) inferred.Add(n);
                else if (inferred[depth] != n) throw new FormatException($"{where}: ragged nested list");
                foreach (var item in x.EnumerateArray()) Walk(item, depth + 1);
                return;
            }
            values.Add(x.ValueKind switch
            {
                JsonValueKind.Number => x.GetSingle(),
                JsonValueKind.Null => float.NaN,
                JsonValueKind.String when NonFiniteJson.TryParseMarker(x.GetString(), out double v) => (float)v,
                _ => throw new FormatException($"{where}: unexpected {x.ValueKind} in a numeric list"),
            });
        }
        Walk(e, 0);
        return new Tensor(values.ToArray(), shape ?? inferred.ToArray());
    }

    /// <summary>Writes a tensor (or null) in the chosen encoding.</summary>
    public static void Write(Utf8JsonWriter w, Tensor? t, TensorEncoding encoding, ScoresPrecision precision,
        bool compressArrays)
    {
        if (t is null)
        {
            w.WriteNullValue();
            return;
        }
        if (encoding == TensorEncoding.Safetensors)
        {
            w.WriteStringValue(Convert.ToBase64String(SafetensorsBlob.Encode(t, precision)));
            return;
        }
        byte[] raw = precision == ScoresPrecision.Float16 ? SafetensorsBlob.HalfBytes(t.Data) : SafetensorsBlob.FloatBytesOf(t.Data);
        string payload = "b64:" + Convert.ToBase64String(raw);
        if (compressArrays)
        {
            // Inseq keeps the gzip'd form only when it saves at least 10% (and more than the 8-byte overhead).
            byte[] small = Gzip(raw);
            if (small.Length < 0.9 * raw.Length && small.Length < raw.Length - 8)
                payload = "b64.gz:" + Convert.ToBase64String(small);
        }
        w.WriteStartObject();
        if (t.Rank > 1) w.WriteBoolean("Corder", true);
        w.WriteString("__ndarray__", payload);
        w.WriteString("dtype", precision == ScoresPrecision.Float16 ? "float16" : "float32");
        w.WriteStartArray("shape");
        foreach (int d in t.Shape) w.WriteNumberValue(d);
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
