using Xunit;
using InseqNative.Loading;

namespace InseqNative.Tests.Loading;

public sealed class CheckpointReaderTests
{
    [Fact]
    public void SingleFileFixture()
    {
        using var checkpoint = CheckpointReader.Open(FixturePaths.Models("tiny-gpt2"));
        Assert.False(checkpoint.IsSharded);
        Assert.Equal(28, checkpoint.Count);
        Assert.Equal([128L, 64L], checkpoint.GetInfo("transformer.wpe.weight").Shape);
        Assert.Equal(64, checkpoint.ReadAsFloat32("transformer.ln_f.bias").Length);
    }

    [Fact]
    public void TryFindToleratesPrefixes()
    {
        using var checkpoint = CheckpointReader.Open(FixturePaths.Models("tiny-gpt2"));
        Assert.True(checkpoint.TryFind("wte.weight", out CheckpointTensor added));
        Assert.Equal("transformer.wte.weight", added.Name);
        Assert.True(checkpoint.TryFind("model.transformer.h.1.ln_2.bias", out CheckpointTensor stripped));
        Assert.Equal("transformer.h.1.ln_2.bias", stripped.Name);
        Assert.False(checkpoint.TryFind("lm_head.weight", out _));
        var e = Assert.Throws<ModelLoadException>(() => checkpoint.Get("lm_head.weight"));
        Assert.Contains("tensor 'lm_head.weight' not found", e.Message);
        Assert.Contains("model.safetensors", e.Message);
    }

    [Fact]
    public void AmbiguousSuffixThrowsNamingCandidates()
    {
        using var dir = new TempDirectory();
        new SafetensorsTestWriter().AddF32("encoder.norm.weight", [1], [1]).AddF32("decoder.norm.weight", [1], [2])
            .Write(dir.File("model.safetensors"));
        using var checkpoint = CheckpointReader.Open(dir.Path);
        var e = Assert.Throws<ModelLoadException>(() => checkpoint.TryFind("norm.weight", out _));
        Assert.Contains("'encoder.norm.weight'", e.Message);
        Assert.Contains("'decoder.norm.weight'", e.Message);
    }

    private static void WriteShards(TempDirectory dir)
    {
        new SafetensorsTestWriter().AddF32("a.weight", [2], [1, 2]).AddF32("b.weight", [1], [3])
            .Write(dir.File("model-00001-of-00002.safetensors"));
        new SafetensorsTestWriter().AddU16("c.weight", "BF16", [2], [0x3F80, 0xC020])
            .Write(dir.File("model-00002-of-00002.safetensors"));
    }

    private const string Index = """
        {"metadata": {"total_size": 16},
         "weight_map": {"a.weight": "model-00001-of-00002.safetensors",
                        "b.weight": "model-00001-of-00002.safetensors",
                        "c.weight": "model-00002-of-00002.safetensors"}}
        """;

    [Fact]
    public void ShardedCheckpointReadsAcrossShards()
    {
        using var dir = new TempDirectory();
        WriteShards(dir);
        dir.Write("model.safetensors.index.json", Index);
        using var checkpoint = CheckpointReader.Open(dir.Path);
        Assert.True(checkpoint.IsSharded);
        Assert.Equal(2, checkpoint.Files.Count);
        Assert.Equal(["a.weight", "b.weight", "c.weight"], checkpoint.TensorNames);
        Assert.Equal([1f, 2f], checkpoint.ReadAsFloat32("a.weight"));
        Assert.Equal([1f, -2.5f], checkpoint.ReadAsFloat32("c.weight"));
        Assert.True(checkpoint.TryFind("model.c.weight", out CheckpointTensor c));
        Assert.EndsWith("model-00002-of-00002.safetensors", c.File.FilePath);
        Assert.Equal(c.File.FilePath, checkpoint.FileOf("c.weight"));
        Assert.Equal(c.File.FilePath, checkpoint.DescribeLocation("c.weight"));
        Assert.Equal(dir.File("model.safetensors.index.json"), checkpoint.DescribeLocation("missing.weight"));
    }

    [Fact]
    public void ShardedIndexWithMissingShard()
    {
        using var dir = new TempDirectory();
        WriteShards(dir);
        File.Delete(dir.File("model-00002-of-00002.safetensors"));
        dir.Write("model.safetensors.index.json", Index);
        var e = Assert.Throws<MissingModelFileException>(() => CheckpointReader.Open(dir.Path));
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
        Assert.Contains("'c.weight'", e.Message);
        Assert.Contains("does not exist", e.Message);
    }

    [Fact]
    public void ShardedIndexWithTensorMissingFromShard()
    {
        using var dir = new TempDirectory();
        WriteShards(dir);
        dir.Write("model.safetensors.index.json", Index.Replace("\"b.weight\": \"model-00001", "\"d.weight\": \"model-00001"));
        var e = Assert.Throws<MalformedCheckpointException>(() => CheckpointReader.Open(dir.Path));
        Assert.Contains("model-00001-of-00002.safetensors", e.Message);
        Assert.Contains("tensor 'd.weight' is listed in model.safetensors.index.json", e.Message);
    }

    [Fact]
    public void ShardedIndexWithoutWeightMapOrWithEscapingPath()
    {
        using var dir = new TempDirectory();
        WriteShards(dir);
        string index = dir.Write("model.safetensors.index.json", """{"metadata": {}}""");
        var e = Assert.Throws<MalformedCheckpointException>(() => CheckpointReader.Open(dir.Path));
        Assert.Contains(index, e.Message);
        Assert.Contains("weight_map", e.Message);

        dir.Write("model.safetensors.index.json", """{"weight_map": {"a.weight": "../model-00001-of-00002.safetensors"}}""");
        e = Assert.Throws<MalformedCheckpointException>(() => CheckpointReader.Open(dir.Path));
        Assert.Contains("plain file names", e.Message);
    }

    [Fact]
    public void InvalidIndexJson()
    {
        using var dir = new TempDirectory();
        string index = dir.Write("model.safetensors.index.json", "{\"weight_map\": ");
        var e = Assert.Throws<ModelLoadException>(() => CheckpointReader.Open(dir.Path));
        Assert.Contains(index, e.Message);
        Assert.Contains("invalid JSON", e.Message);
    }

    [Fact]
    public void NoSafetensorsAtAll()
    {
        using var dir = new TempDirectory();
        var e = Assert.Throws<MissingModelFileException>(() => CheckpointReader.Open(dir.Path));
        Assert.Contains(dir.Path, e.Message);
        Assert.Contains("looked for model.safetensors and model.safetensors.index.json", e.Message);
        Assert.DoesNotContain("pytorch_model.bin", e.Message);
    }

    [Fact]
    public void PytorchBinIsNamedAsUnsupported()
    {
        using var dir = new TempDirectory();
        dir.Write("pytorch_model.bin", "not really a pickle");
        var e = Assert.Throws<MissingModelFileException>(() => CheckpointReader.Open(dir.Path));
        Assert.Contains("found pytorch_model.bin", e.Message);
        Assert.Contains("not supported", e.Message);
    }

    [Fact]
    public void MissingFolder()
    {
        string path = Path.Combine(Path.GetTempPath(), "inseq-no-such-folder-" + Guid.NewGuid());
        var e = Assert.Throws<MissingModelFileException>(() => CheckpointReader.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("does not exist", e.Message);
    }
}
