using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace InseqNative.Outputs.Serialization;

/// <summary>
/// Python's json module writes NaN, Infinity and -Infinity as bare tokens, which System.Text.Json rejects. Before
/// parsing, bare tokens (outside strings) become marker strings ("\u0000NaN" ...); numeric readers turn markers back
/// into doubles, and the writer emits markers as the bare tokens again, so metadata round-trips exactly.
/// </summary>
internal static class NonFiniteJson
{
    const string Prefix = "\0";
    static readonly (string Token, double Value)[] Tokens =
        [("NaN", double.NaN), ("Infinity", double.PositiveInfinity), ("-Infinity", double.NegativeInfinity)];

    public static byte[] Sanitize(ReadOnlySpan<byte> json)
    {
        var output = new List<byte>(json.Length + 64);
        bool inString = false;
        for (int i = 0; i < json.Length; i++)
        {
            byte b = json[i];
            if (inString)
            {
                output.Add(b);
                if (b == '\\' && i + 1 < json.Length) output.Add(json[++i]);
                else if (b == '"') inString = false;
                continue;
            }
            if (b == '"') inString = true;
            else if (b is (byte)'N' or (byte)'I' or (byte)'-')
            {
                string? token = null;
                foreach (var (candidate, _) in Tokens)
                    if (json[i..].StartsWith(Encoding.ASCII.GetBytes(candidate)))
                    {
                        token = candidate;
                        break;
                    }
                if (token is not null)
                {
                    output.AddRange(Encoding.ASCII.GetBytes($"\"\\u0000{token}\""));
                    i += token.Length - 1;
                    continue;
                }
            }
            output.Add(b);
        }
        return output.ToArray();
    }

    public static bool TryParseMarker(string? s, out double value)
    {
        foreach (var (token, v) in Tokens)
            if (s == Prefix + token)
            {
                value = v;
                return true;
            }
        value = 0;
        return false;
    }

    /// <summary>A JSON node for a double: finite values as numbers, the others as markers.</summary>
    public static JsonNode Node(double value) => double.IsFinite(value)
        ? JsonValue.Create(value)
        : JsonValue.Create(Prefix + Tokens.First(t => t.Value.Equals(value)).Token);

    /// <summary>Writes a number, using Python's bare tokens for non-finite values.</summary>
    public static void WriteNumber(Utf8JsonWriter writer, double value)
    {
        if (double.IsFinite(value)) writer.WriteNumberValue(value);
        else writer.WriteRawValue(double.IsNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity", skipInputValidation: true);
    }

    /// <summary>Writes a node tree, turning markers back into bare tokens.</summary>
    public static void WriteNode(Utf8JsonWriter writer, JsonNode? node)
    {
        switch (node)
        {
            case null:
                writer.WriteNullValue();
                break;
            case JsonObject o:
                writer.WriteStartObject();
                foreach (var (key, value) in o)
                {
                    writer.WritePropertyName(key);
                    WriteNode(writer, value);
                }
                writer.WriteEndObject();
                break;
            case JsonArray a:
                writer.WriteStartArray();
                foreach (var item in a) WriteNode(writer, item);
                writer.WriteEndArray();
                break;
            case JsonValue v when v.TryGetValue(out string? s) && TryParseMarker(s, out double d):
                WriteNumber(writer, d);
                break;
            default:
                node.WriteTo(writer);
                break;
        }
    }
}
