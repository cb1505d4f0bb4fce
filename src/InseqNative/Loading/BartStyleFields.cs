namespace InseqNative.Loading;

/// <summary>The shape fields BART-style configs (Marian, M2M100) share, validated.</summary>
internal readonly record struct BartStyleFields(int Vocab, int DModel, int EncoderLayers, int DecoderLayers,
    int EncoderHeads, int DecoderHeads, int HeadDim, int EncoderFfn, int DecoderFfn, ActivationFunction Activation,
    int MaxPositions, bool ScaleEmbedding)
{
    public static BartStyleFields Read(JsonFileReader reader, string defaultActivation, bool defaultScaleEmbedding)
    {
        int vocab = reader.GetRequiredPositiveInt("vocab_size");
        int dModel = reader.GetRequiredPositiveInt("d_model", "hidden_size");
        int encoderLayers = reader.GetRequiredPositiveInt("encoder_layers");
        int decoderLayers = reader.GetRequiredPositiveInt("decoder_layers");
        int encoderHeads = reader.GetRequiredPositiveInt("encoder_attention_heads");
        int decoderHeads = reader.GetRequiredPositiveInt("decoder_attention_heads");
        int encoderFfn = reader.GetRequiredPositiveInt("encoder_ffn_dim");
        int decoderFfn = reader.GetRequiredPositiveInt("decoder_ffn_dim");
        int positions = reader.GetRequiredPositiveInt("max_position_embeddings");
        int headDim = DivideHeads(reader, dModel, encoderHeads, "encoder_attention_heads");
        if (DivideHeads(reader, dModel, decoderHeads, "decoder_attention_heads") != headDim)
            throw new UnsupportedModelException(reader.FilePath,
                $"encoder_attention_heads {encoderHeads} and decoder_attention_heads {decoderHeads} differ; only equal head widths are supported");
        if (dModel % 2 != 0)
            throw new ModelLoadException(reader.FilePath, $"d_model {dModel} must be even for sinusoidal positions");
        ActivationFunction activation = ActivationFunctions.Parse(
            reader.GetString("activation_function") ?? defaultActivation, reader.FilePath, "activation_function");
        return new BartStyleFields(vocab, dModel, encoderLayers, decoderLayers, encoderHeads, decoderHeads, headDim,
            encoderFfn, decoderFfn, activation, positions, reader.GetBool("scale_embedding") ?? defaultScaleEmbedding);
    }

    private static int DivideHeads(JsonFileReader reader, int dModel, int heads, string field)
    {
        if (dModel % heads != 0)
            throw new ModelLoadException(reader.FilePath, $"d_model {dModel} is not divisible by {field} {heads}");
        return dModel / heads;
    }
}
