using InseqNative.Loading;
using InseqNative.Tokenization;

namespace InseqNative.Tests.Loading;

/// <summary>MarianConfig, M2M100Config and T5Config: the fixtures' config.json read as transformers reads them,
/// family defaults, refusals; and the folders load (config, tokenizer, weights) while TransformerModel.Load refuses
/// them until the native encoder-decoder graph exists.</summary>
public sealed class EncoderDecoderConfigTests
{
    [Fact]
    public void Tiny_marian_config()
    {
        var c = Assert.IsType<MarianConfig>(ModelConfig.Load(FixturePaths.Models("tiny-marian")));
        Assert.Equal(ModelFamily.Marian, c.Family);
        Assert.True(c.IsEncoderDecoder);
        Assert.Equal((64, 2, 2, 4, 4, 16, 128, 128), (c.DModel, c.EncoderLayers, c.DecoderLayers, c.EncoderAttentionHeads,
            c.DecoderAttentionHeads, c.HeadDim, c.EncoderFfnDim, c.DecoderFfnDim));
        Assert.Equal((64, 2, 4), (c.HiddenSize, c.NumLayers, c.NumHeads));
        Assert.Equal(ActivationFunction.Silu, c.Activation); // "swish"
        Assert.False(c.GatedFeedForward);
        Assert.Equal((NormKind.LayerNorm, false, false, true), (c.Norm, c.NormalizeBefore, c.FinalLayerNorm, c.LinearBias));
        Assert.Equal(1e-5, c.LayerNormEpsilon);
        Assert.Equal((PositionEncoding.Sinusoidal, 0, 128), (c.Positions, c.PositionOffset, c.MaxPositions));
        Assert.True(c.ScaleEmbedding);
        Assert.Equal(8.0, c.EmbeddingScale);
        Assert.Equal((210, 210, true, true), (c.VocabSize, c.DecoderVocabSize, c.ShareEncoderDecoderEmbeddings, c.TieWordEmbeddings));
        Assert.Equal((209, 209, 0), (c.DecoderStartTokenId, c.PadTokenId, c.EosTokenId));
        Assert.Null(c.BosTokenId);
        Assert.Null(c.ForcedEosTokenId); // null in config.json; generation_config.json sets 0
    }

    [Fact]
    public void Tiny_m2m100_config()
    {
        var c = Assert.IsType<M2M100Config>(ModelConfig.Load(FixturePaths.Models("tiny-m2m100")));
        Assert.Equal(ModelFamily.M2M100, c.Family);
        Assert.Equal((64, 2, 2, 4, 16, 128), (c.DModel, c.EncoderLayers, c.DecoderLayers, c.DecoderAttentionHeads, c.HeadDim, c.DecoderFfnDim));
        Assert.Equal(ActivationFunction.Relu, c.Activation);
        Assert.Equal((NormKind.LayerNorm, true, true, true), (c.Norm, c.NormalizeBefore, c.FinalLayerNorm, c.LinearBias));
        Assert.Equal((PositionEncoding.Sinusoidal, 2, 128), (c.Positions, c.PositionOffset, c.MaxPositions));
        Assert.Equal(8.0, c.EmbeddingScale);
        Assert.Equal((469, 469, true, true), (c.VocabSize, c.DecoderVocabSize, c.ShareEncoderDecoderEmbeddings, c.TieWordEmbeddings));
        Assert.Equal((0, 1, 2, 2), (c.BosTokenId, c.PadTokenId, c.EosTokenId, c.DecoderStartTokenId));
    }

    [Fact]
    public void Tiny_t5_config()
    {
        var c = Assert.IsType<T5Config>(ModelConfig.Load(FixturePaths.Models("tiny-t5")));
        Assert.Equal(ModelFamily.T5, c.Family);
        Assert.Equal((64, 2, 2, 4, 16, 64, 128), (c.DModel, c.EncoderLayers, c.DecoderLayers, c.NumHeadsValue, c.DKv, c.InnerDim, c.DecoderFfnDim));
        Assert.Equal((ActivationFunction.GeluTanh, true, "gated-gelu"), (c.Activation, c.GatedFeedForward, c.FeedForwardProj));
        Assert.Equal((NormKind.RmsNorm, true, true, false), (c.Norm, c.NormalizeBefore, c.FinalLayerNorm, c.LinearBias));
        Assert.Equal(1e-6, c.LayerNormEpsilon);
        Assert.Equal((PositionEncoding.RelativeBuckets, 32, 128), (c.Positions, c.RelativeAttentionNumBuckets, c.RelativeAttentionMaxDistance));
        Assert.Null(c.MaxPositions);
        Assert.Equal(1.0, c.EmbeddingScale);
        Assert.False(c.TieWordEmbeddings);
        Assert.False(c.ScaleDecoderOutput);
        Assert.Equal((373, 0, 1, 0), (c.VocabSize, c.PadTokenId, c.EosTokenId, c.DecoderStartTokenId));
    }

    private const string T5Json = """
        {"model_type": "t5", "vocab_size": 100, "d_model": 32, "d_kv": 8, "d_ff": 64, "num_layers": 3, "num_heads": 4%EXTRA%}
        """;

    private static T5Config T5(string extra = "", string modelType = "t5") =>
        (T5Config)ModelConfig.Parse(T5Json.Replace("\"t5\"", $"\"{modelType}\"").Replace("%EXTRA%", extra), "/m/config.json");

    [Fact]
    public void T5_defaults_follow_T5Config_and_MT5Config()
    {
        T5Config c = T5();
        Assert.Equal((3, 3), (c.EncoderLayers, c.DecoderLayers)); // num_decoder_layers defaults to num_layers
        Assert.Equal((ActivationFunction.Relu, false, "relu"), (c.Activation, c.GatedFeedForward, c.FeedForwardProj));
        Assert.True(c.TieWordEmbeddings);
        Assert.True(c.ScaleDecoderOutput);
        Assert.Equal((0, 1, 0), (c.PadTokenId, c.EosTokenId, c.DecoderStartTokenId));
        Assert.Equal((32, 128, 1e-6), (c.RelativeAttentionNumBuckets, c.RelativeAttentionMaxDistance, c.LayerNormEpsilon));
        Assert.Equal(32, c.InnerDim);

        T5Config mt5 = T5(modelType: "mt5");
        Assert.Equal((ActivationFunction.GeluTanh, true), (mt5.Activation, mt5.GatedFeedForward));
        Assert.False(mt5.TieWordEmbeddings);

        Assert.Equal(5, T5(", \"num_decoder_layers\": 5").DecoderLayers);
        Assert.Equal(64, T5(", \"d_kv\": 16").InnerDim); // inner_dim = heads · d_kv, not d_model
    }

    [Theory]
    [InlineData("relu", ActivationFunction.Relu, false)]
    [InlineData("gelu", ActivationFunction.GeluErf, false)]
    [InlineData("gated-gelu", ActivationFunction.GeluTanh, true)]
    [InlineData("gated-silu", ActivationFunction.Silu, true)]
    [InlineData("gated-gelu_new", ActivationFunction.GeluTanh, true)]
    public void T5_feed_forward_proj(string proj, ActivationFunction activation, bool gated)
    {
        T5Config c = T5($", \"feed_forward_proj\": \"{proj}\"");
        Assert.Equal((activation, gated), (c.Activation, c.GatedFeedForward));
    }

    [Fact]
    public void T5_refusals()
    {
        var e = Assert.Throws<ModelLoadException>(() => T5(", \"feed_forward_proj\": \"fancy-gelu\""));
        Assert.Contains("/m/config.json", e.Message);
        Assert.Contains("feed_forward_proj 'fancy-gelu' is not a valid activation", e.Message);
        Assert.Contains("dense_act_fn 'quick_gelu' is not supported",
            Assert.Throws<UnsupportedModelException>(() => T5(", \"feed_forward_proj\": \"gated-quick_gelu\"")).Message);
        Assert.Contains("relative_attention_num_buckets",
            Assert.Throws<ModelLoadException>(() => T5(", \"relative_attention_num_buckets\": 0")).Message);
        Assert.Contains("required field 'd_kv'",
            Assert.Throws<ModelLoadException>(() => ModelConfig.Parse(T5Json.Replace("\"d_kv\": 8, ", "").Replace("%EXTRA%", ""))).Message);
        Assert.Contains("decoder_start_token_id 100 is outside",
            Assert.Throws<ModelLoadException>(() => T5(", \"decoder_start_token_id\": 100")).Message);
    }

    private const string MarianJson = """
        {"model_type": "marian", "vocab_size": 50, "d_model": 32, "encoder_layers": 2, "decoder_layers": 1,
         "encoder_attention_heads": 4, "decoder_attention_heads": 4, "encoder_ffn_dim": 64, "decoder_ffn_dim": 64,
         "max_position_embeddings": 64, "pad_token_id": 49, "eos_token_id": 0%EXTRA%}
        """;

    private static ModelConfig Bart(string modelType, string extra = "") =>
        ModelConfig.Parse(MarianJson.Replace("\"marian\"", $"\"{modelType}\"").Replace("%EXTRA%", extra), "/m/config.json");

    [Fact]
    public void Marian_defaults_and_separate_decoder_vocabulary()
    {
        var c = (MarianConfig)Bart("marian");
        Assert.Equal(ActivationFunction.GeluErf, c.Activation); // MarianConfig's default "gelu"
        Assert.False(c.ScaleEmbedding);
        Assert.Equal(49, c.DecoderStartTokenId); // defaults to pad
        Assert.Equal(50, c.DecoderVocabSize);
        Assert.Equal((1, 2), (c.NumLayers, c.EncoderLayers));

        var separate = (MarianConfig)Bart("marian", ", \"share_encoder_decoder_embeddings\": false, \"decoder_vocab_size\": 60, \"pad_token_id\": 45, \"decoder_start_token_id\": 55");
        Assert.Equal((50, 60, false), (separate.VocabSize, separate.DecoderVocabSize, separate.ShareEncoderDecoderEmbeddings));

        var m2m = (M2M100Config)Bart("m2m_100");
        Assert.Equal(ActivationFunction.Relu, m2m.Activation); // M2M100Config's default
        Assert.True(m2m.ScaleEmbedding);
        Assert.Equal(0, m2m.DecoderStartTokenId); // defaults to eos
        var forced = (M2M100Config)Bart("m2m_100", ", \"forced_bos_token_id\": 7");
        Assert.Equal(7, GenerationConfig.FromModelConfig(forced).ForcedBosTokenId);
    }

    [Theory]
    [InlineData("marian", ", \"d_model\": 30", "d_model 30 is not divisible by encoder_attention_heads 4")]
    [InlineData("marian", ", \"decoder_vocab_size\": 60", "share_encoder_decoder_embeddings is true but decoder_vocab_size 60 differs from vocab_size 50")]
    [InlineData("marian", ", \"decoder_start_token_id\": 50", "decoder_start_token_id 50 is outside")]
    [InlineData("marian", ", \"encoder_layers\": 0", "encoder_layers")]
    [InlineData("m2m_100", ", \"pad_token_id\": null", "M2M100 needs pad_token_id")]
    public void Bart_style_refusals(string modelType, string extra, string message)
    {
        // JSON keeps the last duplicate key, so extra fields override the template's.
        var e = Assert.Throws<ModelLoadException>(() => Bart(modelType, extra));
        Assert.Contains("/m/config.json", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Unsupported_activation_is_named()
    {
        var e = Assert.Throws<UnsupportedModelException>(() => Bart("marian", ", \"activation_function\": \"quick_gelu\""));
        Assert.Contains("activation_function 'quick_gelu' is not supported", e.Message);
    }

    [Theory]
    [InlineData("tiny-m2m100", "m2m_100", typeof(M2M100Tokenizer))]
    [InlineData("tiny-t5", "t5", typeof(T5Tokenizer))]
    public void Folders_load_with_their_tokenizer_and_native_graph(string model, string modelType, Type tokenizerType)
    {
        using (ModelFolder folder = ModelFolder.Open(FixturePaths.Models(model)))
        {
            Assert.True(folder.Config.IsEncoderDecoder);
            Assert.IsType(tokenizerType, folder.Tokenizer);
            Assert.Equal(folder.Config.DecoderStartTokenId, ((Seq2SeqTokenizer)folder.Tokenizer).DecoderStartTokenId);
        }
        using var loaded = TransformerModel.Load(FixturePaths.Models(model), Device.Cpu);
        Assert.Equal(modelType, loaded.Config.ModelType);
    }
}
