using System.Text.Json;

namespace InseqNative.Loading;

/// <summary>
/// transformers' LlamaConfig and the configs of the families that share its decoder graph: model_type "llama",
/// "mistral" (no biases; a sliding attention window), "qwen2" (q/k/v biases, o_proj without). RMSNorm blocks,
/// rotary positions (rope_theta; rope_scaling linear or llama3), grouped-query attention (num_key_value_heads), SwiGLU MLP,
/// Linear weights stored [out, in], untied LM head unless tie_word_embeddings, no embedding scale.
/// </summary>
public sealed record LlamaConfig : ModelConfig
{
    public override ModelFamily Family => ModelFamily.Llama;
    public override bool IsEncoderDecoder => false;
    public override int HiddenSize => HiddenSizeValue;
    public override int NumLayers => NumHiddenLayers;
    public override int NumHeads => NumAttentionHeads;

    /// <summary>
    /// max_position_embeddings, or Qwen2's enabled window when that is shorter: its per-layer window
    /// (max_window_layers) is not implemented, and up to the window it is plain causal attention, so longer sequences
    /// are rejected. Mistral's window is implemented and does not limit the length.
    /// </summary>
    public override int? MaxPositions =>
        UnimplementedWindow is { } w && w < MaxPositionEmbeddings ? w : MaxPositionEmbeddings;

    public required int HiddenSizeValue { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int IntermediateSize { get; init; }
    public required int MaxPositionEmbeddings { get; init; }
    public double RmsNormEps { get; init; } = 1e-6;
    public double RopeTheta { get; init; } = 10000.0;
    /// <summary>rope_scaling linear or llama3 (changed rotary frequencies), or null for plain rotary positions.
    /// max_position_embeddings still bounds the sequences.</summary>
    public RopeScaling? RopeScaling { get; init; }
    /// <summary>q_proj, k_proj and v_proj have biases (Llama attention_bias, Qwen2 always).</summary>
    public bool QkvBias { get; init; }
    /// <summary>o_proj has a bias (Llama attention_bias).</summary>
    public bool OutputBias { get; init; }
    /// <summary>gate_proj, up_proj and down_proj have biases (Llama mlp_bias).</summary>
    public bool MlpBias { get; init; }
    /// <summary>Mistral's sliding_window: query i attends key j only if i - j &lt; SlidingWindow (every layer,
    /// transformers 4.38's mask), or null for none. Passed to the native attention.</summary>
    public int? SlidingWindow { get; init; }
    /// <summary>Qwen2's sliding_window when use_sliding_window is true: transformers applies it only to layers below
    /// max_window_layers, which the native graph (one window for every layer) does not implement, so sequences are
    /// limited to it (see <see cref="MaxPositions"/>). Null otherwise.</summary>
    public int? UnimplementedWindow { get; init; }

    public int HeadDim => HiddenSizeValue / NumAttentionHeads;

    public static IReadOnlyList<string> ModelTypes { get; } = ["llama", "mistral", "qwen2"];

    internal static ModelConfig Parse(JsonFileReader reader, string modelType)
    {
        string path = reader.FilePath;
        int hidden = reader.GetRequiredPositiveInt("hidden_size");
        int heads = reader.GetRequiredPositiveInt("num_attention_heads");
        int layers = reader.GetRequiredPositiveInt("num_hidden_layers");
        int intermediate = reader.GetRequiredPositiveInt("intermediate_size");
        int vocab = reader.GetRequiredPositiveInt("vocab_size");
        int positions = reader.GetRequiredPositiveInt("max_position_embeddings");
        int kvHeads = reader.GetInt("num_key_value_heads") ?? heads;
        if (hidden % heads != 0)
            throw new ModelLoadException(path, $"hidden_size {hidden} is not divisible by num_attention_heads {heads}");
        if (kvHeads <= 0 || heads % kvHeads != 0)
            throw new ModelLoadException(path,
                $"num_key_value_heads {kvHeads} must be a positive divisor of num_attention_heads {heads}");
        if (reader.GetInt("head_dim") is { } headDim && headDim != hidden / heads)
            throw new UnsupportedModelException(path,
                $"head_dim {headDim} differs from hidden_size / num_attention_heads = {hidden / heads}; only the default head_dim is supported");
        if ((hidden / heads) % 2 != 0)
            throw new UnsupportedModelException(path, $"head dim {hidden / heads} is odd; rotary positions need an even one");

        string act = reader.GetString("hidden_act") ?? "silu";
        if (act is not ("silu" or "swish"))
            throw new UnsupportedModelException(path, $"hidden_act '{act}' is not supported for {modelType} (supported: silu)");

        double eps = reader.GetDouble("rms_norm_eps") ?? 1e-6;
        if (!(eps > 0) || double.IsInfinity(eps))
            throw new ModelLoadException(path, $"field 'rms_norm_eps' must be a positive number, got {eps}");
        double theta = reader.GetDouble("rope_theta") ?? 10000.0;
        if (!(theta > 0) || double.IsInfinity(theta))
            throw new ModelLoadException(path, $"field 'rope_theta' must be a positive number, got {theta}");
        RopeScaling? ropeScaling = RopeScaling.Parse(reader);
        if (reader.GetDouble("partial_rotary_factor") is { } partial && partial != 1.0)
            throw new UnsupportedModelException(path, $"partial_rotary_factor {partial} is not supported (rotary over the whole head only)");

        bool qkvBias, outBias, mlpBias = false;
        int? window = null, unimplementedWindow = null;
        switch (modelType)
        {
            case "qwen2":
                // Qwen2Attention: q/k/v Linear with bias, o_proj without; the window applies only when enabled.
                qkvBias = true;
                outBias = false;
                if (reader.GetBool("use_sliding_window") == true)
                    unimplementedWindow = reader.GetInt("sliding_window");
                break;
            case "mistral":
                qkvBias = outBias = false;
                window = reader.GetInt("sliding_window");
                break;
            default:
                qkvBias = outBias = reader.GetBool("attention_bias") ?? false;
                mlpBias = reader.GetBool("mlp_bias") ?? false;
                break;
        }
        if ((window ?? unimplementedWindow) is { } w and <= 0)
            throw new ModelLoadException(path, $"field 'sliding_window' must be a positive integer or null, got {w}");

        (int? bos, IReadOnlyList<int> eos, int? pad, int? decoderStart) = ReadTokenIds(reader);
        var config = new LlamaConfig
        {
            FilePath = path,
            ModelType = modelType,
            VocabSize = vocab,
            HiddenSizeValue = hidden,
            NumHiddenLayers = layers,
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            IntermediateSize = intermediate,
            MaxPositionEmbeddings = positions,
            RmsNormEps = eps,
            RopeTheta = theta,
            RopeScaling = ropeScaling,
            QkvBias = qkvBias,
            OutputBias = outBias,
            MlpBias = mlpBias,
            SlidingWindow = window,
            UnimplementedWindow = unimplementedWindow,
            // pretraining_tp only splits the same products into slices; the result is the plain Linear.
            TieWordEmbeddings = reader.GetBool("tie_word_embeddings") ?? false,
            BosTokenId = bos,
            EosTokenIds = eos,
            PadTokenId = pad,
            DecoderStartTokenId = decoderStart,
        };
        config.ValidateTokenIds();
        return config;
    }

    /// <summary>Why a sequence longer than <see cref="MaxPositions"/> is refused, for error messages.</summary>
    public string PositionLimitReason =>
        UnimplementedWindow is { } w && w < MaxPositionEmbeddings
            ? $"{ModelType}'s sliding attention window (sliding_window {w} with use_sliding_window true) applies only to " +
              "the layers below max_window_layers, which is not implemented, so sequences longer than the window are rejected"
            : $"max_position_embeddings is {MaxPositionEmbeddings}";
}
