using System.Text;

namespace InseqNative.Loading;

/// <summary>
/// generation_config.json, with transformers' defaults for absent fields. When the folder has no such file the token
/// ids come from config.json, as transformers' <c>GenerationConfig.from_model_config</c> does.
/// </summary>
public sealed record GenerationConfig
{
    public const string FileName = "generation_config.json";

    /// <summary>The file it was read from; null when built from defaults.</summary>
    public string? FilePath { get; init; }

    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? EosTokenId => EosTokenIds.Count > 0 ? EosTokenIds[0] : null;
    public int? PadTokenId { get; init; }
    public int? DecoderStartTokenId { get; init; }

    /// <summary>transformers' default total length (prompt included) when max_new_tokens is not set.</summary>
    public int MaxLength { get; init; } = 20;
    public int? MaxNewTokens { get; init; }
    public int? MinNewTokens { get; init; }
    public int MinLength { get; init; }
    public bool DoSample { get; init; }
    public int NumBeams { get; init; } = 1;
    public double Temperature { get; init; } = 1.0;
    public int TopK { get; init; } = 50;
    public double TopP { get; init; } = 1.0;
    public double RepetitionPenalty { get; init; } = 1.0;
    public int NoRepeatNgramSize { get; init; }
    public IReadOnlyList<IReadOnlyList<int>> BadWordsIds { get; init; } = [];
    public int? ForcedBosTokenId { get; init; }
    public int? ForcedEosTokenId { get; init; }

    public static GenerationConfig Default { get; } = new();

    /// <summary>Defaults with the token ids of <paramref name="config"/> (and an encoder-decoder's forced_bos /
    /// forced_eos ids, which transformers' from_model_config copies too).</summary>
    public static GenerationConfig FromModelConfig(ModelConfig config) => new()
    {
        BosTokenId = config.BosTokenId,
        EosTokenIds = config.EosTokenIds,
        PadTokenId = config.PadTokenId,
        DecoderStartTokenId = config.DecoderStartTokenId,
        ForcedBosTokenId = (config as EncoderDecoderConfig)?.ForcedBosTokenId,
        ForcedEosTokenId = (config as EncoderDecoderConfig)?.ForcedEosTokenId,
    };

    /// <summary>generation_config.json in <paramref name="folder"/> if present, else <see cref="FromModelConfig"/>
    /// (or <see cref="Default"/> without a model config).</summary>
    public static GenerationConfig LoadOrDefault(string folder, ModelConfig? modelConfig = null)
    {
        string path = Path.Combine(folder, FileName);
        if (File.Exists(path))
            return Load(path);
        return modelConfig is null ? Default : FromModelConfig(modelConfig);
    }

    public static GenerationConfig Load(string path)
    {
        (var document, JsonFileReader reader) = JsonFileReader.Open(path, "the generation configuration");
        using (document)
            return FromReader(reader);
    }

    public static GenerationConfig Parse(string json, string filePath = FileName)
    {
        (var document, JsonFileReader reader) = JsonFileReader.Parse(Encoding.UTF8.GetBytes(json), filePath);
        using (document)
            return FromReader(reader);
    }

    private static GenerationConfig FromReader(JsonFileReader r)
    {
        var config = new GenerationConfig
        {
            FilePath = r.FilePath,
            BosTokenId = r.GetInt("bos_token_id"),
            EosTokenIds = r.GetIntOrIntList("eos_token_id"),
            PadTokenId = r.GetInt("pad_token_id"),
            DecoderStartTokenId = r.GetInt("decoder_start_token_id"),
            MaxLength = r.GetInt("max_length") ?? 20,
            MaxNewTokens = r.GetInt("max_new_tokens"),
            MinNewTokens = r.GetInt("min_new_tokens"),
            MinLength = r.GetInt("min_length") ?? 0,
            DoSample = r.GetBool("do_sample") ?? false,
            NumBeams = r.GetInt("num_beams") ?? 1,
            Temperature = r.GetDouble("temperature") ?? 1.0,
            TopK = r.GetInt("top_k") ?? 50,
            TopP = r.GetDouble("top_p") ?? 1.0,
            RepetitionPenalty = r.GetDouble("repetition_penalty") ?? 1.0,
            NoRepeatNgramSize = r.GetInt("no_repeat_ngram_size") ?? 0,
            BadWordsIds = r.GetIntListList("bad_words_ids"),
            ForcedBosTokenId = r.GetInt("forced_bos_token_id"),
            ForcedEosTokenId = r.GetInt("forced_eos_token_id"),
        };
        if (config.MaxLength < 0)
            throw new ModelLoadException(r.FilePath, $"field 'max_length' must be non-negative, got {config.MaxLength}");
        if (config.MaxNewTokens is < 0)
            throw new ModelLoadException(r.FilePath, $"field 'max_new_tokens' must be non-negative, got {config.MaxNewTokens}");
        if (config.NumBeams < 1)
            throw new ModelLoadException(r.FilePath, $"field 'num_beams' must be at least 1, got {config.NumBeams}");
        if (!(config.Temperature >= 0))
            throw new ModelLoadException(r.FilePath, $"field 'temperature' must be non-negative, got {config.Temperature}");
        if (!(config.TopP is > 0 and <= 1))
            throw new ModelLoadException(r.FilePath, $"field 'top_p' must be in (0, 1], got {config.TopP}");
        if (config.TopK < 0)
            throw new ModelLoadException(r.FilePath, $"field 'top_k' must be non-negative, got {config.TopK}");
        return config;
    }
}
