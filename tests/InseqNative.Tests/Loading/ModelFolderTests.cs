using Xunit;
using InseqNative.Loading;

namespace InseqNative.Tests.Loading;

public sealed class ModelFolderTests
{
    [Theory]
    [InlineData("tiny-gpt2", 50257)]
    [InlineData("tiny-gpt2-bpe", 629)]
    public void OpensFixtureFolders(string name, int vocab)
    {
        using var folder = ModelFolder.Open(FixturePaths.Models(name));
        Assert.IsType<Gpt2Config>(folder.Config);
        Assert.Equal(vocab, folder.Config.VocabSize);
        Assert.Equal(vocab, folder.Tokenizer.VocabSize);
        Assert.Equal(folder.Config.EosTokenId, folder.GenerationConfig.EosTokenId);
        Assert.Equal([(long)vocab, 64L], folder.Checkpoint.GetInfo("transformer.wte.weight").Shape);
        Assert.Equal(folder.Config.EosTokenId, folder.Tokenizer.EosTokenId);
    }

    [Fact]
    public void MissingDirectory()
    {
        string path = Path.Combine(Path.GetTempPath(), "inseq-missing-" + Guid.NewGuid());
        var e = Assert.Throws<MissingModelFileException>(() => ModelFolder.Open(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("model folder does not exist", e.Message);
    }

    [Fact]
    public void FileInsteadOfDirectory()
    {
        string path = Path.Combine(FixturePaths.Models("tiny-gpt2"), "config.json");
        var e = Assert.Throws<MissingModelFileException>(() => ModelFolder.Open(path));
        Assert.Contains("is a file; expected a model folder", e.Message);
    }

    [Fact]
    public void UnsupportedArchitectureFolder()
    {
        using var dir = new TempDirectory();
        dir.CopyFrom(FixturePaths.Models("tiny-gpt2-bpe"), name => name != "config.json");
        dir.Write("config.json", """{"model_type": "bart", "d_model": 64}""");
        var e = Assert.Throws<UnsupportedModelException>(() => ModelFolder.Open(dir.Path));
        Assert.Contains("model_type 'bart' is not supported yet", e.Message);
    }

    [Fact]
    public void FolderWithoutWeights()
    {
        using var dir = new TempDirectory();
        dir.CopyFrom(FixturePaths.Models("tiny-gpt2-bpe"), name => name != "model.safetensors");
        var e = Assert.Throws<MissingModelFileException>(() => ModelFolder.Open(dir.Path));
        Assert.Contains("no weights", e.Message);
    }
}
