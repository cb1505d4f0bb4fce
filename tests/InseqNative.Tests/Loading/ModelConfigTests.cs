using Xunit;
using InseqNative.Loading;

namespace InseqNative.Tests.Loading;

public sealed class ModelConfigTests
{
    private const string MinimalGpt2 = """
        {"model_type": "gpt2", "n_layer": 2, "n_head": 4, "n_embd": 64, "n_positions": 128, "vocab_size": 100}
        """;

    [Fact]
    public void TinyGpt2FixtureConfig()
    {
        var config = Assert.IsType<Gpt2Config>(ModelConfig.Load(FixturePaths.Models("tiny-gpt2")));
        Assert.Equal(ModelFamily.Gpt2, config.Family);
        Assert.False(config.IsEncoderDecoder);
        Assert.Equal(2, config.NLayer);
        Assert.Equal(4, config.NHead);
        Assert.Equal(64, config.NEmbd);
        Assert.Equal(16, config.HeadDim);
        Assert.Equal(256, config.NInner);
        Assert.Equal(128, config.NPositions);
        Assert.Equal(50257, config.VocabSize);
        Assert.Equal(ActivationFunction.GeluTanh, config.Activation);
        Assert.Equal(1e-5, config.LayerNormEpsilon);
        Assert.True(config.ScaleAttnWeights);
        Assert.False(config.ScaleAttnByInverseLayerIdx);
        Assert.True(config.TieWordEmbeddings);
        Assert.Equal(50256, config.BosTokenId);
        Assert.Equal([50256], config.EosTokenIds);
        Assert.Null(config.PadTokenId);
        Assert.EndsWith("config.json", config.FilePath);
    }

    [Fact]
    public void DefaultsAndAlternativeFields()
    {
        var config = Assert.IsType<Gpt2Config>(ModelConfig.Parse(MinimalGpt2));
        Assert.Equal(256, config.NInner);
        Assert.Equal(ActivationFunction.GeluTanh, config.Activation);
        Assert.True(config.ScaleAttnWeights);
        Assert.True(config.TieWordEmbeddings);
        Assert.Empty(config.EosTokenIds);

        config = Assert.IsType<Gpt2Config>(ModelConfig.Parse(MinimalGpt2.Replace("}",
            """, "n_inner": 100, "activation_function": "gelu", "eos_token_id": [3, 4], "tie_word_embeddings": false, "scale_attn_by_inverse_layer_idx": true}""")));
        Assert.Equal(100, config.NInner);
        Assert.Equal(ActivationFunction.GeluErf, config.Activation);
        Assert.Equal([3, 4], config.EosTokenIds);
        Assert.Equal(3, config.EosTokenId);
        Assert.False(config.TieWordEmbeddings);
        Assert.True(config.ScaleAttnByInverseLayerIdx);
    }

    [Theory]
    [InlineData("gelu_new", ActivationFunction.GeluTanh)]
    [InlineData("gelu_pytorch_tanh", ActivationFunction.GeluTanh)]
    [InlineData("gelu", ActivationFunction.GeluErf)]
    [InlineData("relu", ActivationFunction.Relu)]
    [InlineData("silu", ActivationFunction.Silu)]
    [InlineData("swish", ActivationFunction.Silu)]
    public void Activations(string name, ActivationFunction expected)
    {
        var config = (Gpt2Config)ModelConfig.Parse(MinimalGpt2.Replace("}", $", \"activation_function\": \"{name}\"}}"));
        Assert.Equal(expected, config.Activation);
    }

    [Fact]
    public void UnsupportedActivation()
    {
        var e = Assert.Throws<UnsupportedModelException>(() =>
            ModelConfig.Parse(MinimalGpt2.Replace("}", ", \"activation_function\": \"quick_gelu\"}"), "/m/config.json"));
        Assert.Contains("/m/config.json", e.Message);
        Assert.Contains("activation_function 'quick_gelu' is not supported", e.Message);
    }

    [Fact]
    public void UnsupportedModelTypeNamesTheTypeAndFile()
    {
        using var dir = new TempDirectory();
        dir.Write("config.json", """{"model_type": "bart", "d_model": 64}""");
        var e = Assert.Throws<UnsupportedModelException>(() => ModelConfig.Load(dir.Path));
        Assert.Equal(dir.File("config.json"), e.FilePath);
        Assert.Contains(dir.File("config.json"), e.Message);
        Assert.Contains("model_type 'bart' is not supported yet (supported: gpt2, llama, m2m_100, marian, mistral, mt5, qwen2, t5)", e.Message);
    }

    [Fact]
    public void MissingModelType()
    {
        var e = Assert.Throws<ModelLoadException>(() => ModelConfig.Parse("""{"n_layer": 2}""", "/m/config.json"));
        Assert.Contains("no 'model_type' field", e.Message);
    }

    [Fact]
    public void InvalidJson()
    {
        using var dir = new TempDirectory();
        string path = dir.Write("config.json", "{\"model_type\": \"gpt2\",");
        var e = Assert.Throws<ModelLoadException>(() => ModelConfig.Load(dir.Path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message);
        Assert.Contains("invalid JSON", e.Message);
    }

    [Fact]
    public void MissingConfig()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<MissingModelFileException>(() => ModelConfig.Load(dir.Path));
        Assert.Contains(dir.File("config.json"), e.Message);
        Assert.Contains("config.json not found", e.Message);
    }

    [Theory]
    [InlineData("\"n_head\": 4", "\"n_head\": 0", "field 'n_head' must be a positive integer, got 0")]
    [InlineData("\"n_head\": 4", "\"n_head\": 5", "n_embd 64 is not divisible by n_head 5")]
    [InlineData("\"n_layer\": 2, ", "", "required field 'n_layer'")]
    [InlineData("\"vocab_size\": 100", "\"vocab_size\": \"big\"", "field 'vocab_size' must be an integer, got \"big\"")]
    [InlineData("\"vocab_size\": 100", "\"vocab_size\": 100, \"eos_token_id\": 100", "eos_token_id 100 is outside the vocabulary (vocab_size 100)")]
    [InlineData("\"vocab_size\": 100", "\"vocab_size\": 100, \"scale_attn_weights\": 1", "field 'scale_attn_weights' must be true or false")]
    [InlineData("\"vocab_size\": 100", "\"vocab_size\": 100, \"layer_norm_epsilon\": -1", "layer_norm_epsilon")]
    public void InvalidFieldsAreNamed(string from, string to, string expected)
    {
        var e = Assert.Throws<ModelLoadException>(() => ModelConfig.Parse(MinimalGpt2.Replace(from, to), "/m/config.json"));
        Assert.Contains("/m/config.json", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ForGpt2BuildsAValidatedShape()
    {
        Gpt2Config config = ModelConfig.ForGpt2(layers: 2, heads: 2, hidden: 16, vocab: 37, positions: 24, activation: "relu");
        Assert.Equal(ActivationFunction.Relu, config.Activation);
        Assert.Equal(64, config.NInner);
        Assert.Equal(24, config.MaxPositions);
        var e = Assert.Throws<InvalidInputException>(() => ModelConfig.ForGpt2(2, 3, 16, 37, 24));
        Assert.Contains("n_embd 16 is not divisible by n_head 3", e.Message);
        Assert.Throws<InvalidInputException>(() => ModelConfig.ForGpt2(2, 2, 16, 37, 24, activation: "tanh"));
    }
}
