namespace InseqNative.Loading;

/// <summary>
/// transformers' T5Config (model_type "t5", and "mt5" with MT5Config's defaults): pre-norm blocks with T5's RMS norm
/// (weight only) and a final norm per stack, no biases anywhere, no embedding scale, no position embeddings but a
/// bucketed relative position bias computed by the first layer of each stack (relative_attention_num_buckets,
/// relative_attention_max_distance) and reused by the others, attention scores not divided by √d_kv. Head width
/// d_kv need not be d_model / num_heads. The MLP follows feed_forward_proj: "relu" → wo(relu(wi x)),
/// "gated-gelu" → wo(gelu_new(wi_0 x) ⊙ wi_1 x) (Flan-T5). With tie_word_embeddings (T5's default, not mT5's) the
/// LM head is the shared embedding and the decoder output is first scaled by d_model^-0.5.
/// </summary>
public sealed record T5Config : EncoderDecoderConfig
{
    public override ModelFamily Family => ModelFamily.T5;
    public override NormKind Norm => NormKind.RmsNorm;
    public override bool NormalizeBefore => true;
    public override bool FinalLayerNorm => true;
    public override bool LinearBias => false;
    public override PositionEncoding Positions => PositionEncoding.RelativeBuckets;

    /// <summary>num_heads (T5 has one head count for both stacks).</summary>
    public int NumHeadsValue => DecoderAttentionHeads;
    /// <summary>d_kv: width of one head.</summary>
    public int DKv => HeadDim;
    /// <summary>num_heads · d_kv: width of the q/k/v projections' output (T5's inner_dim).</summary>
    public int InnerDim => DecoderAttentionHeads * HeadDim;
    public required int RelativeAttentionNumBuckets { get; init; }
    public required int RelativeAttentionMaxDistance { get; init; }
    /// <summary>feed_forward_proj as written, e.g. "gated-gelu".</summary>
    public required string FeedForwardProj { get; init; }
    /// <summary>The decoder output is multiplied by d_model^-0.5 before a tied LM head.</summary>
    public bool ScaleDecoderOutput => TieWordEmbeddings;

    public static IReadOnlyList<string> ModelTypes { get; } = ["t5", "mt5"];

    internal static ModelConfig Parse(JsonFileReader reader, string modelType)
    {
        string path = reader.FilePath;
        bool mt5 = modelType == "mt5";
        int vocab = reader.GetRequiredPositiveInt("vocab_size");
        int dModel = reader.GetRequiredPositiveInt("d_model", "hidden_size");
        int dKv = reader.GetRequiredPositiveInt("d_kv");
        int dFf = reader.GetRequiredPositiveInt("d_ff");
        int layers = reader.GetRequiredPositiveInt("num_layers", "num_hidden_layers");
        int decoderLayers = reader.GetInt("num_decoder_layers") ?? layers;
        if (decoderLayers <= 0)
            throw new ModelLoadException(path, $"field 'num_decoder_layers' must be a positive integer, got {decoderLayers}");
        int heads = reader.GetRequiredPositiveInt("num_heads", "num_attention_heads");
        int buckets = reader.GetInt("relative_attention_num_buckets") ?? 32;
        int maxDistance = reader.GetInt("relative_attention_max_distance") ?? 128;
        if (buckets < 2)
            throw new ModelLoadException(path, $"field 'relative_attention_num_buckets' must be at least 2, got {buckets}");
        if (maxDistance <= 0)
            throw new ModelLoadException(path, $"field 'relative_attention_max_distance' must be positive, got {maxDistance}");

        string proj = reader.GetString("feed_forward_proj") ?? (mt5 ? "gated-gelu" : "relu");
        (string denseAct, bool gated) = ParseFeedForwardProj(proj, path);
        // PretrainedConfig sets the remaining kwargs after T5Config.__init__, so dense_act_fn / is_gated_act written
        // in config.json win over what feed_forward_proj implies.
        denseAct = reader.GetString("dense_act_fn") ?? denseAct;
        gated = reader.GetBool("is_gated_act") ?? gated;
        ActivationFunction activation = ActivationFunctions.Parse(denseAct, path, "dense_act_fn");

        (int? bos, IReadOnlyList<int> eos, int? pad, int? decoderStart) = ReadTokenIds(reader);
        pad ??= 0;
        var config = new T5Config
        {
            FilePath = path,
            ModelType = modelType,
            VocabSize = vocab,
            DModel = dModel,
            EncoderLayers = layers,
            DecoderLayers = decoderLayers,
            EncoderAttentionHeads = heads,
            DecoderAttentionHeads = heads,
            HeadDim = dKv,
            EncoderFfnDim = dFf,
            DecoderFfnDim = dFf,
            Activation = activation,
            GatedFeedForward = gated,
            LayerNormEpsilon = ReadEpsilon(reader, "layer_norm_epsilon", 1e-6),
            MaxPositionEmbeddings = null,
            ScaleEmbedding = false,
            DecoderVocabSize = vocab,
            ShareEncoderDecoderEmbeddings = true,
            TieWordEmbeddings = reader.GetBool("tie_word_embeddings") ?? !mt5,
            RelativeAttentionNumBuckets = buckets,
            RelativeAttentionMaxDistance = maxDistance,
            FeedForwardProj = proj,
            BosTokenId = bos,
            EosTokenIds = eos.Count > 0 ? eos : [1],
            PadTokenId = pad,
            // T5 shifts targets right starting from decoder_start_token_id, which its checkpoints set to pad (0).
            DecoderStartTokenId = decoderStart ?? pad,
            ForcedBosTokenId = reader.GetInt("forced_bos_token_id"),
            ForcedEosTokenId = reader.GetInt("forced_eos_token_id"),
        };
        config.ValidateEncoderDecoderTokenIds();
        return config;
    }

    /// <summary>T5Config's rule: "{act}" or "gated-{act}"; "gated-gelu" means gelu_new for backward compatibility.</summary>
    private static (string Activation, bool Gated) ParseFeedForwardProj(string proj, string path)
    {
        string[] parts = proj.Split('-');
        bool gated = parts[0] == "gated";
        if ((parts.Length > 1 && !gated) || parts.Length > 2 || parts[^1].Length == 0)
            throw new ModelLoadException(path,
                $"feed_forward_proj '{proj}' is not a valid activation; expected 'gated-{{ACT_FN}}' or '{{ACT_FN}}', e.g. 'gated-gelu' or 'relu'");
        return (proj == "gated-gelu" ? "gelu_new" : parts[^1], gated);
    }
}
