namespace InseqNative.Loading;

/// <summary>How an encoder-decoder tells positions apart.</summary>
public enum PositionEncoding
{
    /// <summary>Fixed sinusoids added to the embeddings (Marian, M2M100): first half sin, second half cos.</summary>
    Sinusoidal,
    /// <summary>T5's bucketed relative position bias added to the attention scores of the first layer's attention,
    /// shared by every layer of the stack (encoder: bidirectional buckets, decoder: causal buckets).</summary>
    RelativeBuckets,
}

/// <summary>The normalization layers of a block.</summary>
public enum NormKind
{
    /// <summary>LayerNorm with weight and bias.</summary>
    LayerNorm,
    /// <summary>T5's RMS norm: weight only, no mean subtraction, no bias.</summary>
    RmsNorm,
}

/// <summary>
/// The config of an encoder-decoder (sequence-to-sequence) model, in the terms the native graph needs: both
/// stacks' shapes, the block layout (pre/post norm, final norms, gated MLP), embeddings and positions, and the
/// token ids generation needs. <see cref="ModelConfig.NumLayers"/> and <see cref="ModelConfig.NumHeads"/> are the
/// decoder's (the stack whose attention Inseq reports per generated token).
/// </summary>
public abstract record EncoderDecoderConfig : ModelConfig
{
    public override bool IsEncoderDecoder => true;
    public override int HiddenSize => DModel;
    public override int NumLayers => DecoderLayers;
    public override int NumHeads => DecoderAttentionHeads;

    public required int DModel { get; init; }
    public required int EncoderLayers { get; init; }
    public required int DecoderLayers { get; init; }
    public required int EncoderAttentionHeads { get; init; }
    public required int DecoderAttentionHeads { get; init; }
    /// <summary>Width of the query/key/value projections of one head (d_model / heads, T5's d_kv).</summary>
    public required int HeadDim { get; init; }
    public required int EncoderFfnDim { get; init; }
    public required int DecoderFfnDim { get; init; }
    /// <summary>The MLP non-linearity (T5: dense_act_fn).</summary>
    public required ActivationFunction Activation { get; init; }
    /// <summary>MLP = wo(act(wi_0 x) ⊙ wi_1 x) (T5 gated-*) instead of fc2(act(fc1 x)).</summary>
    public bool GatedFeedForward { get; init; }

    public abstract NormKind Norm { get; }
    /// <summary>Pre-norm blocks (x + f(norm(x))) when true; post-norm (norm(x + f(x))) when false (Marian).</summary>
    public abstract bool NormalizeBefore { get; }
    /// <summary>A norm after the last block of each stack (M2M100 layer_norm, T5 final_layer_norm).</summary>
    public abstract bool FinalLayerNorm { get; }
    public required double LayerNormEpsilon { get; init; }
    /// <summary>The norm and bias layout of the projections: BART-style Linear layers have biases, T5's have none.</summary>
    public abstract bool LinearBias { get; }

    public abstract PositionEncoding Positions { get; }
    /// <summary>Sinusoidal tables only: max_position_embeddings (null for relative positions).</summary>
    public int? MaxPositionEmbeddings { get; init; }
    /// <summary>Sinusoidal tables only: the first row used (M2M100 2, fairseq's padding offset; Marian 0).</summary>
    public virtual int PositionOffset => 0;
    public override int? MaxPositions => MaxPositionEmbeddings;

    /// <summary>Token embeddings are multiplied by √d_model (scale_embedding).</summary>
    public bool ScaleEmbedding { get; init; }
    public double EmbeddingScale => ScaleEmbedding ? Math.Sqrt(DModel) : 1.0;

    /// <summary>Rows of the decoder's embedding and of the LM head (Marian decoder_vocab_size; else vocab_size).</summary>
    public required int DecoderVocabSize { get; init; }
    /// <summary>Encoder and decoder read one embedding matrix (shared.weight).</summary>
    public bool ShareEncoderDecoderEmbeddings { get; init; } = true;

    public int? ForcedBosTokenId { get; init; }
    public int? ForcedEosTokenId { get; init; }

    /// <summary>Token ids must index the embeddings that read them: bos and pad the encoder's (pad pads sources
    /// too), decoder start, pad, eos and the forced ids the decoder's (Marian's may be a separate vocabulary).</summary>
    private protected void ValidateEncoderDecoderTokenIds()
    {
        Check("bos_token_id", BosTokenId, VocabSize, "vocabulary");
        Check("pad_token_id", PadTokenId, VocabSize, "vocabulary");
        Check("decoder_start_token_id", DecoderStartTokenId, DecoderVocabSize, "decoder vocabulary");
        Check("pad_token_id", PadTokenId, DecoderVocabSize, "decoder vocabulary");
        foreach (int eos in EosTokenIds)
            Check("eos_token_id", eos, DecoderVocabSize, "decoder vocabulary");
        Check("forced_bos_token_id", ForcedBosTokenId, DecoderVocabSize, "decoder vocabulary");
        Check("forced_eos_token_id", ForcedEosTokenId, DecoderVocabSize, "decoder vocabulary");

        void Check(string field, int? id, int size, string what)
        {
            if (id is { } value && (value < 0 || value >= size))
                throw new ModelLoadException(FilePath, $"{field} {value} is outside the {what} (size {size})");
        }
    }

    private protected static double ReadEpsilon(JsonFileReader reader, string field, double fallback)
    {
        double epsilon = reader.GetDouble(field) ?? fallback;
        if (!(epsilon > 0) || double.IsInfinity(epsilon))
            throw new ModelLoadException(reader.FilePath, $"field '{field}' must be a positive number, got {epsilon}");
        return epsilon;
    }
}
