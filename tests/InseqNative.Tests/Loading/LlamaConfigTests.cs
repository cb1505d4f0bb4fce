using InseqNative.Loading;

namespace InseqNative.Tests.Loading;

/// <summary>LlamaConfig for model_type llama, mistral and qwen2: fields as transformers reads them, what each family
/// implies (biases, windows), and clear refusals of what the native graph does not implement.</summary>
public class LlamaConfigTests
{
    static string Json(string modelType, string extra = "") => $$"""
        {"model_type": "{{modelType}}", "hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 2,
         "intermediate_size": 128, "vocab_size": 100, "max_position_embeddings": 256{{extra}}}
        """;

    [Fact]
    public void Tiny_llama_config_reads_as_transformers()
    {
        var c = Assert.IsType<LlamaConfig>(ModelConfig.Load(FixturePaths.Models("tiny-llama")));
        Assert.Equal(ModelFamily.Llama, c.Family);
        Assert.False(c.IsEncoderDecoder);
        Assert.Equal((64, 2, 4, 2, 128, 640, 128), (c.HiddenSize, c.NumLayers, c.NumHeads, c.NumKeyValueHeads,
            c.IntermediateSize, c.VocabSize, c.MaxPositions!.Value));
        Assert.Equal(1e-6, c.RmsNormEps);
        Assert.Equal(10000.0, c.RopeTheta);
        Assert.False(c.TieWordEmbeddings);
        Assert.False(c.QkvBias || c.OutputBias || c.MlpBias);
        Assert.Null(c.SlidingWindow);
        Assert.Equal((1, 2), (c.BosTokenId, c.EosTokenId));
    }

    [Fact]
    public void Defaults_follow_LlamaConfig()
    {
        var c = (LlamaConfig)ModelConfig.Parse(Json("llama"));
        Assert.Equal(4, c.NumKeyValueHeads); // num_key_value_heads None: multi-head attention
        Assert.False(c.TieWordEmbeddings);
        Assert.Equal(10000.0, c.RopeTheta);
        var biased = (LlamaConfig)ModelConfig.Parse(Json("llama", ", \"attention_bias\": true, \"mlp_bias\": true"));
        Assert.True(biased.QkvBias && biased.OutputBias && biased.MlpBias);
    }

    [Fact]
    public void Qwen2_has_qkv_biases_only_and_its_enabled_window_limits_the_length()
    {
        var c = (LlamaConfig)ModelConfig.Parse(Json("qwen2", ", \"sliding_window\": 32, \"use_sliding_window\": false"));
        Assert.True(c.QkvBias);
        Assert.False(c.OutputBias || c.MlpBias);
        Assert.Null(c.SlidingWindow);
        Assert.Null(c.UnimplementedWindow);
        Assert.Equal(256, c.MaxPositions);
        // Enabled, the window covers only the layers below max_window_layers: not implemented, so sequences stop at
        // the window (plain causal attention up to it) and the reason names the fields.
        var windowed = (LlamaConfig)ModelConfig.Parse(Json("qwen2", ", \"sliding_window\": 8, \"use_sliding_window\": true"));
        Assert.Null(windowed.SlidingWindow);
        Assert.Equal(8, windowed.UnimplementedWindow);
        Assert.Equal(8, windowed.MaxPositions);
        using var model = TransformerModel.CreateRandom(windowed, seed: 1, Device.Cpu, std: 0.1f);
        model.Logits([Enumerable.Range(1, 8).ToArray()]);
        var e = Assert.Throws<InvalidInputException>(() => model.Logits([Enumerable.Range(1, 9).ToArray()]));
        Assert.Contains("sliding_window 8 with use_sliding_window true", e.Message);
        Assert.Contains("max_window_layers", e.Message);
    }

    [Fact]
    public void Mistral_sliding_window_is_implemented_and_does_not_limit_the_length()
    {
        var c = (LlamaConfig)ModelConfig.Parse(Json("mistral", ", \"num_key_value_heads\": 2, \"sliding_window\": 8"));
        Assert.False(c.QkvBias || c.OutputBias);
        Assert.Equal(8, c.SlidingWindow);
        Assert.Null(c.UnimplementedWindow);
        Assert.Equal(256, c.MaxPositions);
        Assert.Equal(8, NativeConfigMapper.ToNative(c).SlidingWindow);
        using var model = TransformerModel.CreateRandom(c, seed: 1, Device.Cpu, std: 0.1f);
        Assert.Equal(20, model.Logits([Enumerable.Range(1, 20).ToArray()]).Shape[1]);
        var unwindowed = (LlamaConfig)ModelConfig.Parse(Json("mistral", ", \"sliding_window\": null"));
        Assert.Null(unwindowed.SlidingWindow);
        Assert.Equal(0, NativeConfigMapper.ToNative(unwindowed).SlidingWindow);
        Assert.Equal(256, unwindowed.MaxPositions);
        var e = Assert.ThrowsAny<ModelLoadException>(() => ModelConfig.Parse(Json("mistral", ", \"sliding_window\": 0")));
        Assert.Contains("sliding_window", e.Message);
    }

    [Theory]
    [InlineData("{\"type\": \"dynamic\", \"factor\": 2.0}", "rope_scaling type 'dynamic' is not supported")]
    [InlineData("{\"rope_type\": \"yarn\", \"factor\": 4.0}", "rope_scaling type 'yarn' is not supported")]
    [InlineData("{\"rope_type\": \"longrope\", \"short_factor\": [1], \"long_factor\": [2]}", "rope_scaling type 'longrope' is not supported")]
    [InlineData("{\"type\": \"su\"}", "rope_scaling type 'su' is not supported")]
    [InlineData("{\"factor\": 2.0}", "rope_scaling type '(unnamed)' is not supported")]
    public void Rope_scaling_variants_are_refused_by_name(string scaling, string message)
    {
        var e = Assert.Throws<UnsupportedModelException>(() =>
            ModelConfig.Parse(Json("llama", $", \"rope_scaling\": {scaling}"), "/m/config.json"));
        Assert.Contains(message, e.Message);
        Assert.Contains("supported: default, linear, llama3", e.Message);
        Assert.Contains("/m/config.json", e.Message);
        Assert.IsType<LlamaConfig>(ModelConfig.Parse(Json("llama", ", \"rope_scaling\": null")));
        Assert.IsType<LlamaConfig>(ModelConfig.Parse(Json("llama", ", \"rope_scaling\": {\"rope_type\": \"default\"}")));
    }

    [Theory]
    [InlineData(", \"hidden_act\": \"gelu\"", "hidden_act 'gelu' is not supported", true)]
    [InlineData(", \"head_dim\": 32", "head_dim 32 differs", true)]
    [InlineData(", \"num_key_value_heads\": 3", "num_key_value_heads 3 must be a positive divisor", false)]
    [InlineData(", \"rms_norm_eps\": 0", "rms_norm_eps", false)]
    public void Unsupported_or_invalid_fields_are_named(string extra, string message, bool unsupported)
    {
        var e = Assert.ThrowsAny<ModelLoadException>(() => ModelConfig.Parse(Json("llama", extra)));
        Assert.Contains(message, e.Message);
        Assert.Equal(unsupported, e is UnsupportedModelException);
    }

    [Fact]
    public void Native_tensors_follow_the_config()
    {
        // Qwen2: q/k/v biases, no o_proj bias; tied embeddings: no lm_head.
        var qwen = (LlamaConfig)ModelConfig.Parse(Json("qwen2", ", \"num_key_value_heads\": 2, \"tie_word_embeddings\": true"));
        using var model = TransformerModel.CreateRandom(qwen, seed: 2, Device.Cpu);
        var names = WeightUploader.ExpectedTensors(model.Handle).ToDictionary(t => t.Name, t => t.Shape);
        Assert.Equal([32L, 64L], names["model.layers.1.self_attn.k_proj.weight"]);
        Assert.Equal([64L], names["model.layers.0.self_attn.q_proj.bias"]);
        Assert.True(names.ContainsKey("model.layers.0.self_attn.v_proj.bias"));
        Assert.False(names.ContainsKey("model.layers.0.self_attn.o_proj.bias"));
        Assert.False(names.ContainsKey("lm_head.weight"));
        Assert.Equal([128L, 64L], names["model.layers.0.mlp.gate_proj.weight"]);
        Assert.Equal([64L, 128L], names["model.layers.0.mlp.down_proj.weight"]);
        Assert.Equal([64L], names["model.norm.weight"]);
        Assert.DoesNotContain(names.Keys, n => n.Contains("position"));
    }
}
