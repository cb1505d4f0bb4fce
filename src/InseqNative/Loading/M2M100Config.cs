namespace InseqNative.Loading;

/// <summary>
/// transformers' M2M100Config (model_type "m2m_100"): BART-style pre-norm blocks with a final LayerNorm after each
/// stack, sinusoidal positions starting at row 2 (fairseq's padding offset; padded positions stay at the pad row),
/// embeddings × √d_model when scale_embedding (default true), Linear layers with biases, one shared embedding for
/// encoder, decoder and (unless tie_word_embeddings is false) the LM head. Decoder start = eos (2); generation
/// forces the target language token first (forced_bos_token_id, given per call by the tokenizer).
/// </summary>
public sealed record M2M100Config : EncoderDecoderConfig
{
    public override ModelFamily Family => ModelFamily.M2M100;
    public override NormKind Norm => NormKind.LayerNorm;
    public override bool NormalizeBefore => true;
    public override bool FinalLayerNorm => true;
    public override bool LinearBias => true;
    public override PositionEncoding Positions => PositionEncoding.Sinusoidal;
    public override int PositionOffset => 2;

    internal static ModelConfig Parse(JsonFileReader reader, string modelType)
    {
        BartStyleFields f = BartStyleFields.Read(reader, defaultActivation: "relu", defaultScaleEmbedding: true);
        (int? bos, IReadOnlyList<int> eos, int? pad, int? decoderStart) = ReadTokenIds(reader);
        var config = new M2M100Config
        {
            FilePath = reader.FilePath,
            ModelType = modelType,
            VocabSize = f.Vocab,
            DModel = f.DModel,
            EncoderLayers = f.EncoderLayers,
            DecoderLayers = f.DecoderLayers,
            EncoderAttentionHeads = f.EncoderHeads,
            DecoderAttentionHeads = f.DecoderHeads,
            HeadDim = f.HeadDim,
            EncoderFfnDim = f.EncoderFfn,
            DecoderFfnDim = f.DecoderFfn,
            Activation = f.Activation,
            LayerNormEpsilon = 1e-5,
            MaxPositionEmbeddings = f.MaxPositions,
            ScaleEmbedding = f.ScaleEmbedding,
            DecoderVocabSize = f.Vocab,
            ShareEncoderDecoderEmbeddings = true,
            TieWordEmbeddings = reader.GetBool("tie_word_embeddings") ?? true,
            BosTokenId = bos,
            EosTokenIds = eos,
            PadTokenId = pad,
            DecoderStartTokenId = decoderStart ?? (eos.Count > 0 ? eos[0] : null),
            ForcedBosTokenId = reader.GetInt("forced_bos_token_id"),
            ForcedEosTokenId = reader.GetInt("forced_eos_token_id"),
        };
        if (config.PadTokenId is null)
            throw new ModelLoadException(reader.FilePath,
                "M2M100 needs pad_token_id: its sinusoidal positions count from the padding row");
        config.ValidateEncoderDecoderTokenIds();
        return config;
    }
}
