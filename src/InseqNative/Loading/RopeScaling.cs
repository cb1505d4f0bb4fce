using System.Text.Json;

namespace InseqNative.Loading;

/// <summary>
/// A Llama-family config's rope_scaling that changes the rotary frequencies only (transformers'
/// modeling_rope_utils: attention_factor stays 1.0 for both): "linear" (inv_freq / factor) and "llama3"
/// (Llama 3.1 / 3.2: low frequencies / factor, high ones kept, a smooth blend between). The native rope op reads the
/// table of <see cref="InverseFrequencies"/> instead of theta^(-2i/hd).
/// </summary>
public sealed record RopeScaling
{
    public required string Type { get; init; }
    public required double Factor { get; init; }
    /// <summary>llama3 only.</summary>
    public double LowFreqFactor { get; init; }
    /// <summary>llama3 only.</summary>
    public double HighFreqFactor { get; init; }
    /// <summary>llama3 only: the pre-training context (original_max_position_embeddings).</summary>
    public int OriginalMaxPositionEmbeddings { get; init; }

    public static IReadOnlyList<string> SupportedTypes { get; } = ["default", "linear", "llama3"];

    /// <summary>Null for rope_scaling null or the "default" type; the type may be under "rope_type" or the older
    /// "type" key, as transformers accepts. Every other type (dynamic, ntk, yarn, longrope, su, ...) is refused by
    /// name.</summary>
    internal static RopeScaling? Parse(JsonFileReader reader)
    {
        if (!reader.TryGet("rope_scaling", out JsonElement scaling))
            return null;
        if (scaling.ValueKind != JsonValueKind.Object)
            throw new ModelLoadException(reader.FilePath, "field 'rope_scaling' must be an object or null");
        var r = new JsonFileReader(reader.FilePath, scaling);
        string? type = r.GetString("rope_type") ?? r.GetString("type");
        switch (type)
        {
            case "default":
                return null;
            case "linear":
                return new RopeScaling { Type = type, Factor = ReadFactor(r) };
            case "llama3":
                double low = Required(r, "low_freq_factor"), high = Required(r, "high_freq_factor");
                if (!(high > low) || !(low > 0))
                    throw new ModelLoadException(reader.FilePath,
                        $"rope_scaling llama3: needs 0 < low_freq_factor < high_freq_factor (got {low}, {high})");
                int old = r.GetInt("original_max_position_embeddings") ?? throw new ModelLoadException(reader.FilePath,
                    "rope_scaling llama3: required field 'original_max_position_embeddings' is missing");
                if (old <= 0)
                    throw new ModelLoadException(reader.FilePath,
                        $"rope_scaling llama3: original_max_position_embeddings must be positive (got {old})");
                return new RopeScaling
                {
                    Type = type, Factor = ReadFactor(r), LowFreqFactor = low, HighFreqFactor = high,
                    OriginalMaxPositionEmbeddings = old,
                };
            default:
                throw new UnsupportedModelException(reader.FilePath,
                    $"rope_scaling type '{type ?? "(unnamed)"}' is not supported (supported: " +
                    $"{string.Join(", ", SupportedTypes)}; or rope_scaling null)");
        }
    }

    static double Required(JsonFileReader r, string name) =>
        r.GetDouble(name) is { } v && double.IsFinite(v)
            ? v
            : throw new ModelLoadException(r.FilePath, $"rope_scaling: required field '{name}' is missing or not finite");

    static double ReadFactor(JsonFileReader r)
    {
        double f = Required(r, "factor");
        if (!(f > 0))
            throw new ModelLoadException(r.FilePath, $"rope_scaling: 'factor' must be positive (got {f})");
        return f;
    }

    /// <summary>transformers' default inv_freq in fp32, with the native op's arithmetic (theta as the config's fp32
    /// rope_theta, exponent 2i / hd in fp32, the power rounded from double): a table of these reproduces the
    /// table-less op bit for bit.</summary>
    public static float[] DefaultInverseFrequencies(float theta, int headDim)
    {
        var inv = new float[headDim / 2];
        for (var i = 0; i < inv.Length; i++)
        {
            float e = (float)(2 * i) / (float)headDim;
            inv[i] = 1.0f / (float)Math.Pow(theta, e);
        }
        return inv;
    }

    /// <summary>The scaled table [headDim / 2], in fp32 step by step as transformers' tensor ops compute it
    /// (_compute_linear_scaling_rope_parameters, _compute_llama3_parameters; a Python scalar meets an fp32 tensor as
    /// fp32, and scalar / tensor is reciprocal(tensor) * scalar).</summary>
    public float[] InverseFrequencies(float theta, int headDim)
    {
        var inv = DefaultInverseFrequencies(theta, headDim);
        float factor = (float)Factor;
        if (Type == "linear")
        {
            for (var i = 0; i < inv.Length; i++) inv[i] /= factor;
            return inv;
        }
        float old = OriginalMaxPositionEmbeddings, low = (float)LowFreqFactor;
        float lowWavelen = (float)(OriginalMaxPositionEmbeddings / LowFreqFactor);
        float highWavelen = (float)(OriginalMaxPositionEmbeddings / HighFreqFactor);
        float span = (float)(HighFreqFactor - LowFreqFactor);
        float twoPi = (float)(2 * Math.PI);
        for (var i = 0; i < inv.Length; i++)
        {
            float f = inv[i];
            float wavelen = 1.0f / f * twoPi;
            if (wavelen > lowWavelen)
                inv[i] = f / factor;
            else if (!(wavelen < highWavelen))
            {
                float smooth = (1.0f / wavelen * old - low) / span;
                inv[i] = (1.0f - smooth) * f / factor + smooth * f;
            }
        }
        return inv;
    }
}
