namespace InseqNative.Loading;

/// <summary>
/// transformers' MarianConfig (model_type "marian"): BART-style post-norm blocks (LayerNorm after each residual,
/// no final norms), sinusoidal positions from row 0, embeddings × √d_model when scale_embedding, Linear layers
/// with biases, a <c>final_logits_bias</c> added to the logits. The decoder may have its own vocabulary
/// (decoder_vocab_size, share_encoder_decoder_embeddings=false); the LM head is tied to the decoder embedding unless
/// tie_word_embeddings is false. Defaults follow MarianConfig: decoder_start = pad, forced_eos 0 in
/// generation.
/// </summary>
public sealed record MarianConfig : EncoderDecoderConfig
{
    public override ModelFamily Family => ModelFamily.Marian;
    public override NormKind Norm => NormKind.LayerNorm;
    public override bool NormalizeBefore => false;
    public override bool FinalLayerNorm => false;
    public override bool LinearBias => true;
    public override PositionEncoding Positions => PositionEncoding.Sinusoidal;

    internal static ModelConfig Parse(JsonFileReader reader, string modelType)
    {
        BartStyleFields f = BartStyleFields.Read(reader, defaultActivation: "gelu", defaultScaleEmbedding: false);
        int decoderVocab = reader.GetInt("decoder_vocab_size") ?? f.Vocab;
        if (decoderVocab <= 0)
            throw new ModelLoadException(reader.FilePath, $"field 'decoder_vocab_size' must be a positive integer, got {decoderVocab}");
        bool share = reader.GetBool("share_encoder_decoder_embeddings") ?? true;
        if (share && decoderVocab != f.Vocab)
            throw new ModelLoadException(reader.FilePath,
                $"share_encoder_decoder_embeddings is true but decoder_vocab_size {decoderVocab} differs from vocab_size {f.Vocab}");
        (int? bos, IReadOnlyList<int> eos, int? pad, int? decoderStart) = ReadTokenIds(reader);
        var config = new MarianConfig
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
            LayerNormEpsilon = 1e-5, // nn.LayerNorm's default; not configurable in transformers
            MaxPositionEmbeddings = f.MaxPositions,
            ScaleEmbedding = f.ScaleEmbedding,
            DecoderVocabSize = decoderVocab,
            ShareEncoderDecoderEmbeddings = share,
            TieWordEmbeddings = reader.GetBool("tie_word_embeddings") ?? true,
            BosTokenId = bos,
            EosTokenIds = eos,
            PadTokenId = pad,
            // MarianConfig's default decoder_start_token_id is the pad id (58100 for opus-mt).
            DecoderStartTokenId = decoderStart ?? pad,
            ForcedBosTokenId = reader.GetInt("forced_bos_token_id"),
            ForcedEosTokenId = reader.GetInt("forced_eos_token_id"),
        };
        config.ValidateEncoderDecoderTokenIds();
        return config;
    }
}
