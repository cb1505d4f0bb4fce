using Xunit;
using System.Text.Json;
using System.Text.Json.Nodes;
using InseqNative.Loading;
using InseqNative.Tests.Loading;
using InseqNative.Tokenization;

namespace InseqNative.Tests.Tokenization;

public sealed class TokenizerLoaderTests
{
    private static TempDirectory CopyBpe(Func<string, bool> include) =>
        new TempDirectory().CopyFrom(FixturePaths.Models("tiny-gpt2-bpe"), name => name != "model.safetensors" && include(name));

    [Fact]
    public void MissingTokenizerFilesListWhatWasLookedFor()
    {
        using TempDirectory dir = CopyBpe(name => name == "config.json");
        var e = Assert.Throws<MissingModelFileException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Equal(dir.Path, e.FilePath);
        Assert.Contains(dir.Path, e.Message);
        Assert.Contains("no tokenizer files", e.Message);
        Assert.Contains("vocab.json + merges.txt", e.Message);
        Assert.Contains("tokenizer.json", e.Message);
    }

    [Fact]
    public void VocabWithoutMergesIsNamed()
    {
        using TempDirectory dir = CopyBpe(name => name is "config.json" or "vocab.json");
        var e = Assert.Throws<MissingModelFileException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains("vocab.json is present but merges.txt is missing", e.Message);
    }

    [Fact]
    public void SentencePieceEncoderDecoderFoldersLoadTheirTokenizers()
    {
        Assert.IsType<T5Tokenizer>(TokenizerLoader.Load(FixturePaths.Models("tiny-t5")));
        Assert.IsType<MarianTokenizer>(TokenizerLoader.Load(FixturePaths.Models("tiny-marian")));
        Assert.IsType<M2M100Tokenizer>(TokenizerLoader.Load(FixturePaths.Models("tiny-m2m100")));
    }

    [Fact]
    public void MissingFolder()
    {
        string path = Path.Combine(Path.GetTempPath(), "inseq-missing-" + Guid.NewGuid());
        Assert.Throws<MissingModelFileException>(() => TokenizerLoader.Load(path));
    }

    [Fact]
    public void TokenizerJsonWithPairMergesGivesTheSameIds()
    {
        using TempDirectory dir = CopyBpe(name => name is not ("vocab.json" or "merges.txt"));
        JsonNode root = JsonNode.Parse(File.ReadAllText(dir.File("tokenizer.json")))!;
        var pairs = new JsonArray();
        foreach (JsonNode? merge in root["model"]!["merges"]!.AsArray())
        {
            string[] parts = merge!.GetValue<string>().Split(' ');
            pairs.Add(new JsonArray(parts[0], parts[1]));
        }
        root["model"]!["merges"] = pairs;
        File.WriteAllText(dir.File("tokenizer.json"), root.ToJsonString());

        TextTokenizer fromPairs = TokenizerLoader.Load(dir.Path);
        TextTokenizer reference = TokenizerLoader.Load(FixturePaths.Models("tiny-gpt2-bpe"));
        TokenizerFixtureTests.Item item = TokenizerFixtureTests.LoadItem("tiny-gpt2-bpe", 2);
        Assert.Equal(item.TargetIds, fromPairs.Encode(item.Target));
        Assert.Equal(reference.Encode("Hello world, this is a test."), fromPairs.Encode("Hello world, this is a test."));
    }

    [Fact]
    public void TokenizerJsonWithAnotherPipelineIsRejected()
    {
        using TempDirectory dir = CopyBpe(name => name is not ("vocab.json" or "merges.txt"));
        JsonNode root = JsonNode.Parse(File.ReadAllText(dir.File("tokenizer.json")))!;
        root["pre_tokenizer"] = new JsonObject { ["type"] = "Metaspace" };
        string path = dir.File("tokenizer.json");
        File.WriteAllText(path, root.ToJsonString());
        var e = Assert.Throws<UnsupportedModelException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains(path, e.Message);
        Assert.Contains("pre_tokenizer 'Metaspace' is not supported yet", e.Message);

        root["pre_tokenizer"] = JsonNode.Parse("""{"type": "ByteLevel", "add_prefix_space": false}""");
        root["model"]!["type"] = "Unigram";
        File.WriteAllText(path, root.ToJsonString());
        e = Assert.Throws<UnsupportedModelException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains("tokenizer model type 'Unigram' is not supported yet", e.Message);
    }

    [Fact]
    public void InvalidTokenizerConfigJsonNamesTheFile()
    {
        using TempDirectory dir = CopyBpe(_ => true);
        string path = dir.Write("tokenizer_config.json", "{\"bos_token\": ");
        var e = Assert.Throws<ModelLoadException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("invalid JSON", e.Message);
    }

    [Fact]
    public void WithoutTokenizerSettingsSpecialTokensComeFromConfigIds()
    {
        using TempDirectory dir = CopyBpe(name => name is "config.json" or "vocab.json" or "merges.txt");
        TextTokenizer tokenizer = TokenizerLoader.Load(dir.Path, ModelConfig.Load(dir.Path));
        Assert.Equal(628, tokenizer.BosTokenId);
        Assert.Equal(628, tokenizer.EosTokenId);
        Assert.Equal(628, tokenizer.UnkTokenId);
        Assert.Equal([628], tokenizer.Encode("<|endoftext|>"));
    }

    [Fact]
    public void AddedTokensFromTokenizerConfig()
    {
        using TempDirectory dir = CopyBpe(_ => true);
        JsonNode config = JsonNode.Parse(File.ReadAllText(dir.File("tokenizer_config.json")))!;
        config["added_tokens_decoder"]!["629"] = JsonNode.Parse(
            """{"content": "<extra>", "special": false, "lstrip": false, "rstrip": true}""");
        config["added_tokens_decoder"]!["630"] = JsonNode.Parse("""{"content": "<sep>", "special": true}""");
        config["pad_token"] = "<sep>";
        File.WriteAllText(dir.File("tokenizer_config.json"), config.ToJsonString());

        TextTokenizer tokenizer = TokenizerLoader.Load(dir.Path);
        Assert.Equal(631, tokenizer.VocabSize);
        Assert.Equal(630, tokenizer.PadTokenId);
        Assert.True(tokenizer.IsSpecial(630));
        Assert.False(tokenizer.IsSpecial(629));

        int[] a = tokenizer.Encode("a"), b = tokenizer.Encode("b");
        // rstrip: the spaces after <extra> are dropped, as transformers does.
        int[] ids = tokenizer.Encode("a<extra>   b<sep>");
        Assert.Equal([.. a, 629, .. b, 630], ids);
        // transformers' slow decode puts spaces around non-special added tokens.
        Assert.Equal("a <extra> b<sep>", tokenizer.Decode(ids));
        Assert.Equal("a <extra> b", tokenizer.Decode(ids, skipSpecialTokens: true));
        Assert.Equal(["a", "<extra>", "b", "<sep>"], tokenizer.ConvertIdsToDisplayTokens(ids));
    }

    [Fact]
    public void SpecialTokensMapOverridesTokenizerConfig()
    {
        using TempDirectory dir = CopyBpe(_ => true);
        JsonNode map = JsonNode.Parse(File.ReadAllText(dir.File("special_tokens_map.json")))!;
        map["pad_token"] = JsonNode.Parse("""{"content": "<|endoftext|>", "lstrip": false}""");
        File.WriteAllText(dir.File("special_tokens_map.json"), map.ToJsonString());
        TextTokenizer tokenizer = TokenizerLoader.Load(dir.Path);
        Assert.Equal(628, tokenizer.PadTokenId);
    }
}
