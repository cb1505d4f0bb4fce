using System.Collections.Frozen;
using System.Text;

namespace InseqNative.Loading;

/// <summary>
/// A model folder's config.json, typed. Each supported <c>model_type</c> has a derived record and a parser
/// (see <see cref="Parsers"/>); the fields every family shares live here so generation and tokenization need not
/// know the family.
/// </summary>
public abstract record ModelConfig
{
    public const string FileName = "config.json";

    /// <summary>Full path of the config.json it was read from (or the name given to <see cref="Parse"/>).</summary>
    public required string FilePath { get; init; }
    /// <summary>The raw model_type string, e.g. "gpt2".</summary>
    public required string ModelType { get; init; }
    public abstract ModelFamily Family { get; }
    public abstract bool IsEncoderDecoder { get; }

    public required int VocabSize { get; init; }
    public abstract int HiddenSize { get; }
    public abstract int NumLayers { get; }
    public abstract int NumHeads { get; }
    /// <summary>Longest sequence the position embedding covers; null for position schemes without a limit.</summary>
    public abstract int? MaxPositions { get; }

    public int? BosTokenId { get; init; }
    /// <summary>eos_token_id as a list (transformers allows one id or several).</summary>
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? EosTokenId => EosTokenIds.Count > 0 ? EosTokenIds[0] : null;
    public int? PadTokenId { get; init; }
    public int? DecoderStartTokenId { get; init; }
    public bool TieWordEmbeddings { get; init; } = true;

    /// <summary>Supported model_type values and their parsers.</summary>
    private static readonly FrozenDictionary<string, Func<JsonFileReader, string, ModelConfig>> Parsers =
        new Dictionary<string, Func<JsonFileReader, string, ModelConfig>>
        {
            ["gpt2"] = Gpt2Config.Parse,
            ["llama"] = LlamaConfig.Parse,
            ["mistral"] = LlamaConfig.Parse,
            ["qwen2"] = LlamaConfig.Parse,
            ["marian"] = MarianConfig.Parse,
            ["m2m_100"] = M2M100Config.Parse,
            ["t5"] = T5Config.Parse,
            ["mt5"] = T5Config.Parse,
        }.ToFrozenDictionary(StringComparer.Ordinal);

    public static IReadOnlyCollection<string> SupportedModelTypes => Parsers.Keys;

    /// <summary>Reads config.json from a model folder, or the given file.</summary>
    public static ModelConfig Load(string folderOrFile)
    {
        string path = Directory.Exists(folderOrFile) ? Path.Combine(folderOrFile, FileName) : folderOrFile;
        (var document, JsonFileReader reader) = JsonFileReader.Open(path, "the model configuration");
        using (document)
            return FromReader(reader);
    }

    /// <summary>Parses config.json text; <paramref name="filePath"/> is used in error messages.</summary>
    public static ModelConfig Parse(string json, string filePath = FileName)
    {
        (var document, JsonFileReader reader) = JsonFileReader.Parse(Encoding.UTF8.GetBytes(json), filePath);
        using (document)
            return FromReader(reader);
    }

    private static ModelConfig FromReader(JsonFileReader reader)
    {
        string? modelType = reader.GetString("model_type");
        if (modelType is null)
            throw new ModelLoadException(reader.FilePath,
                $"no 'model_type' field; cannot tell the architecture (supported: {SupportedList})");
        if (!Parsers.TryGetValue(modelType, out var parse))
            throw new UnsupportedModelException(reader.FilePath,
                $"model_type '{modelType}' is not supported yet (supported: {SupportedList})");
        return parse(reader, modelType);
    }

    /// <summary>
    /// A GPT-2 shape built in memory (benchmarks, tests): the same validation as config.json, with
    /// <paramref name="activation"/> spelled as in config.json ("gelu_new", "gelu", "relu", "silu").
    /// Invalid values throw <see cref="InvalidInputException"/>.
    /// </summary>
    public static Gpt2Config ForGpt2(int layers, int heads, int hidden, int vocab, int positions,
        string activation = "gelu_new", int? inner = null, double layerNormEpsilon = 1e-5, bool tieWordEmbeddings = true,
        int? bosTokenId = null, int? eosTokenId = null)
    {
        var json = new System.Text.Json.Nodes.JsonObject
        {
            ["model_type"] = "gpt2", ["n_layer"] = layers, ["n_head"] = heads, ["n_embd"] = hidden,
            ["vocab_size"] = vocab, ["n_positions"] = positions, ["activation_function"] = activation,
            ["n_inner"] = inner, ["layer_norm_epsilon"] = layerNormEpsilon, ["tie_word_embeddings"] = tieWordEmbeddings,
            ["bos_token_id"] = bosTokenId, ["eos_token_id"] = eosTokenId,
        };
        try
        {
            return (Gpt2Config)Parse(json.ToJsonString(), "<in-memory GPT-2 config>");
        }
        catch (ModelLoadException e)
        {
            throw new InvalidInputException(e.Message);
        }
    }

    /// <summary>
    /// A Llama shape built in memory (benchmarks, tests), validated like config.json. <paramref name="kvHeads"/> null
    /// means multi-head attention (as many key/value heads as heads). Invalid values throw
    /// <see cref="InvalidInputException"/>.
    /// </summary>
    public static LlamaConfig ForLlama(int layers, int heads, int hidden, int intermediate, int vocab, int positions,
        int? kvHeads = null, double rmsNormEpsilon = 1e-6, double ropeTheta = 10000.0, bool tieWordEmbeddings = false,
        bool attentionBias = false, int? bosTokenId = null, int? eosTokenId = null)
    {
        var json = new System.Text.Json.Nodes.JsonObject
        {
            ["model_type"] = "llama", ["num_hidden_layers"] = layers, ["num_attention_heads"] = heads,
            ["num_key_value_heads"] = kvHeads, ["hidden_size"] = hidden, ["intermediate_size"] = intermediate,
            ["vocab_size"] = vocab, ["max_position_embeddings"] = positions, ["hidden_act"] = "silu",
            ["rms_norm_eps"] = rmsNormEpsilon, ["rope_theta"] = ropeTheta, ["tie_word_embeddings"] = tieWordEmbeddings,
            ["attention_bias"] = attentionBias, ["bos_token_id"] = bosTokenId, ["eos_token_id"] = eosTokenId,
        };
        try
        {
            return (LlamaConfig)Parse(json.ToJsonString(), "<in-memory Llama config>");
        }
        catch (ModelLoadException e)
        {
            throw new InvalidInputException(e.Message);
        }
    }

    private static string SupportedList => string.Join(", ", Parsers.Keys.Order(StringComparer.Ordinal));

    /// <summary>Special token ids must index the embedding matrix.</summary>
    private protected void ValidateTokenIds()
    {
        Check("bos_token_id", BosTokenId);
        foreach (int eos in EosTokenIds)
            Check("eos_token_id", eos);
        Check("pad_token_id", PadTokenId);
        Check("decoder_start_token_id", DecoderStartTokenId);

        void Check(string field, int? id)
        {
            if (id is { } value && (value < 0 || value >= VocabSize))
                throw new ModelLoadException(FilePath, $"{field} {value} is outside the vocabulary (vocab_size {VocabSize})");
        }
    }

    /// <summary>Token-id fields in the layout transformers' PretrainedConfig uses.</summary>
    private protected static (int? Bos, IReadOnlyList<int> Eos, int? Pad, int? DecoderStart) ReadTokenIds(JsonFileReader reader) =>
        (reader.GetInt("bos_token_id"), reader.GetIntOrIntList("eos_token_id"), reader.GetInt("pad_token_id"),
            reader.GetInt("decoder_start_token_id"));
}
