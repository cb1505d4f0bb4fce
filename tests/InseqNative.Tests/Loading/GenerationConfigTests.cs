using Xunit;
using InseqNative.Loading;

namespace InseqNative.Tests.Loading;

public sealed class GenerationConfigTests
{
    [Fact]
    public void Gpt2FixtureGenerationConfig()
    {
        GenerationConfig config = GenerationConfig.Load(Path.Combine(FixturePaths.Models("tiny-gpt2"), "generation_config.json"));
        Assert.Equal(50256, config.BosTokenId);
        Assert.Equal([50256], config.EosTokenIds);
        Assert.Null(config.PadTokenId);
        Assert.Equal(20, config.MaxLength);
        Assert.Null(config.MaxNewTokens);
        Assert.False(config.DoSample);
        Assert.Equal(1.0, config.Temperature);
        Assert.Equal(50, config.TopK);
        Assert.Equal(1.0, config.TopP);
        Assert.Empty(config.BadWordsIds);
    }

    [Fact]
    public void MarianFixtureGenerationConfig()
    {
        GenerationConfig config = GenerationConfig.Load(Path.Combine(FixturePaths.Models("tiny-marian"), "generation_config.json"));
        Assert.Equal([[209]], config.BadWordsIds.Select(w => w.ToArray()).ToArray());
        Assert.Equal(209, config.DecoderStartTokenId);
        Assert.Equal(0, config.ForcedEosTokenId);
        Assert.Equal(64, config.MaxLength);
        Assert.Equal(209, config.PadTokenId);
        Assert.Equal(0, config.EosTokenId);
    }

    [Fact]
    public void AllFieldsParse()
    {
        GenerationConfig config = GenerationConfig.Parse("""
            {"bos_token_id": 1, "eos_token_id": [2, 3], "pad_token_id": 0, "max_new_tokens": 7, "max_length": 30,
             "do_sample": true, "temperature": 0.7, "top_k": 5, "top_p": 0.9, "bad_words_ids": [[4], [5, 6]],
             "forced_eos_token_id": 2, "forced_bos_token_id": 9, "decoder_start_token_id": 0, "num_beams": 1,
             "repetition_penalty": 1.2, "no_repeat_ngram_size": 3}
            """);
        Assert.Equal([2, 3], config.EosTokenIds);
        Assert.Equal(7, config.MaxNewTokens);
        Assert.Equal(30, config.MaxLength);
        Assert.True(config.DoSample);
        Assert.Equal(0.7, config.Temperature);
        Assert.Equal(5, config.TopK);
        Assert.Equal(0.9, config.TopP);
        Assert.Equal(2, config.BadWordsIds.Count);
        Assert.Equal([5, 6], config.BadWordsIds[1]);
        Assert.Equal(9, config.ForcedBosTokenId);
        Assert.Equal(1.2, config.RepetitionPenalty);
        Assert.Equal(3, config.NoRepeatNgramSize);
    }

    [Fact]
    public void AbsentFileFallsBackToModelConfigIds()
    {
        using var dir = new TempDirectory();
        var model = ModelConfig.Parse("""
            {"model_type": "gpt2", "n_layer": 1, "n_head": 1, "n_embd": 8, "n_positions": 8, "vocab_size": 10,
             "bos_token_id": 1, "eos_token_id": 2}
            """);
        GenerationConfig config = GenerationConfig.LoadOrDefault(dir.Path, model);
        Assert.Null(config.FilePath);
        Assert.Equal(1, config.BosTokenId);
        Assert.Equal(2, config.EosTokenId);
        Assert.Equal(20, config.MaxLength);
        Assert.Same(GenerationConfig.Default, GenerationConfig.LoadOrDefault(dir.Path));
    }

    [Theory]
    [InlineData("""{"top_p": 0}""", "top_p")]
    [InlineData("""{"eos_token_id": "x"}""", "field 'eos_token_id' must be an integer or a list of integers")]
    [InlineData("""{"bad_words_ids": [4]}""", "bad_words_ids")]
    [InlineData("""{"max_new_tokens": -1}""", "max_new_tokens")]
    public void InvalidFields(string json, string expected)
    {
        var e = Assert.Throws<ModelLoadException>(() => GenerationConfig.Parse(json, "/m/generation_config.json"));
        Assert.Contains("/m/generation_config.json", e.Message);
        Assert.Contains(expected, e.Message);
    }
}
