namespace InseqNative.Loading;

/// <summary>transformers' GPT2Config (model_type "gpt2"): pre-norm LayerNorm blocks, learned positions, Conv1D
/// weights stored [in, out], LM head tied to the token embedding unless stated.</summary>
public sealed record Gpt2Config : ModelConfig
{
    public override ModelFamily Family => ModelFamily.Gpt2;
    public override bool IsEncoderDecoder => false;
    public override int HiddenSize => NEmbd;
    public override int NumLayers => NLayer;
    public override int NumHeads => NHead;
    public override int? MaxPositions => NPositions;

    public required int NLayer { get; init; }
    public required int NHead { get; init; }
    public required int NEmbd { get; init; }
    /// <summary>MLP width; config's n_inner, or 4·n_embd when it is null.</summary>
    public required int NInner { get; init; }
    public required int NPositions { get; init; }
    public required ActivationFunction Activation { get; init; }
    public double LayerNormEpsilon { get; init; } = 1e-5;
    /// <summary>Divide attention scores by √head_dim.</summary>
    public bool ScaleAttnWeights { get; init; } = true;
    /// <summary>Additionally divide layer i's attention scores by (i + 1).</summary>
    public bool ScaleAttnByInverseLayerIdx { get; init; }

    public int HeadDim => NEmbd / NHead;

    internal static ModelConfig Parse(JsonFileReader reader, string modelType)
    {
        int nEmbd = reader.GetRequiredPositiveInt("n_embd", "hidden_size");
        int nHead = reader.GetRequiredPositiveInt("n_head", "num_attention_heads");
        int nLayer = reader.GetRequiredPositiveInt("n_layer", "num_hidden_layers");
        int nPositions = reader.GetRequiredPositiveInt("n_positions", "n_ctx", "max_position_embeddings");
        int vocabSize = reader.GetRequiredPositiveInt("vocab_size");
        if (nEmbd % nHead != 0)
            throw new ModelLoadException(reader.FilePath, $"n_embd {nEmbd} is not divisible by n_head {nHead}");

        int? nInner = reader.GetInt("n_inner");
        if (nInner is <= 0)
            throw new ModelLoadException(reader.FilePath, $"field 'n_inner' must be a positive integer or null, got {nInner}");

        double epsilon = reader.GetDouble("layer_norm_epsilon") ?? 1e-5;
        if (!(epsilon > 0) || double.IsInfinity(epsilon))
            throw new ModelLoadException(reader.FilePath, $"field 'layer_norm_epsilon' must be a positive number, got {epsilon}");

        ActivationFunction activation = ActivationFunctions.Parse(
            reader.GetString("activation_function") ?? "gelu_new", reader.FilePath, "activation_function");

        (int? bos, IReadOnlyList<int> eos, int? pad, int? decoderStart) = ReadTokenIds(reader);
        var config = new Gpt2Config
        {
            FilePath = reader.FilePath,
            ModelType = modelType,
            VocabSize = vocabSize,
            NLayer = nLayer,
            NHead = nHead,
            NEmbd = nEmbd,
            NInner = nInner ?? 4 * nEmbd,
            NPositions = nPositions,
            Activation = activation,
            LayerNormEpsilon = epsilon,
            ScaleAttnWeights = reader.GetBool("scale_attn_weights") ?? true,
            ScaleAttnByInverseLayerIdx = reader.GetBool("scale_attn_by_inverse_layer_idx") ?? false,
            // reorder_and_upcast_attn only changes where fp16 runs upcast; our numerics are fp32 throughout.
            TieWordEmbeddings = reader.GetBool("tie_word_embeddings") ?? true,
            BosTokenId = bos,
            EosTokenIds = eos,
            PadTokenId = pad,
            DecoderStartTokenId = decoderStart,
        };
        config.ValidateTokenIds();
        return config;
    }
}
