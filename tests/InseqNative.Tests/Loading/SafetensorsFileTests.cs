using Xunit;
using InseqNative.Loading;

namespace InseqNative.Tests.Loading;

public sealed class SafetensorsFileTests
{
    private static string GptWeights => Path.Combine(FixturePaths.Models("tiny-gpt2"), "model.safetensors");

    [Fact]
    public void FixtureHeaderAndValuesReadBack()
    {
        using var file = SafetensorsFile.Open(GptWeights);
        Assert.Equal(28, file.TensorNames.Count);
        Assert.Equal("pt", file.Metadata["format"]);

        SafetensorsTensorInfo wte = file.GetInfo("transformer.wte.weight");
        Assert.Equal(SafetensorsDType.F32, wte.DType);
        Assert.Equal([50257L, 64L], wte.Shape);
        Assert.Equal(50257L * 64, wte.ElementCount);

        // Spot values read with Python's struct from the same file.
        float[] wpe = file.ReadAsFloat32("transformer.wpe.weight");
        Assert.Equal(128 * 64, wpe.Length);
        Assert.Equal([0.352783739566803f, 0.15529406070709229f, 0.4864357113838196f], wpe[..3]);
        ReadOnlySpan<float> lnF = file.GetFloat32Span("transformer.ln_f.weight");
        Assert.Equal([0.9844972491264343f, 0.9164706468582153f, 0.9770766496658325f], lnF[..3].ToArray());
        ReadOnlySpan<float> wteSpan = file.GetFloat32Span("transformer.wte.weight");
        Assert.Equal(0.08457667380571365f, wteSpan[^2]);
        Assert.Equal(-0.004305500537157059f, wteSpan[^1]);

        foreach (string name in file.TensorNames)
        {
            float[] values = file.ReadAsFloat32(name);
            Assert.True(values.All(float.IsFinite), name);
            Assert.True(values.SequenceEqual(file.GetFloat32Span(name).ToArray()), name);
        }
    }

    [Fact]
    public void F16EveryBitPatternWidensExactly()
    {
        ushort[] bits = Enumerable.Range(0, 65536).Select(i => (ushort)i).ToArray();
        using var dir = new TempDirectory();
        string path = new SafetensorsTestWriter().AddU16("h", "F16", [256, 256], bits).Write(dir.File("h.safetensors"));
        using var file = SafetensorsFile.Open(path);
        float[] values = file.ReadAsFloat32("h");
        for (int i = 0; i < bits.Length; i++)
        {
            Half half = BitConverter.UInt16BitsToHalf(bits[i]);
            if (Half.IsNaN(half))
            {
                Assert.True(float.IsNaN(values[i]));
                uint expected = ((uint)(bits[i] & 0x8000) << 16) | 0x7F800000u | ((uint)(bits[i] & 0x3FF) << 13);
                Assert.Equal(expected, BitConverter.SingleToUInt32Bits(values[i]));
            }
            else
            {
                Assert.Equal(BitConverter.SingleToUInt32Bits((float)half), BitConverter.SingleToUInt32Bits(values[i]));
            }
        }
    }

    [Fact]
    public void BF16WidensExactlyIncludingTail()
    {
        float[] expected = [1f, -2.5f, 0f, -0f, float.PositiveInfinity, float.NegativeInfinity, 3.140625f, 1e-40f,
            65280f, -0.0078125f, 1.5f, 2f, 4f, 8f, 16f, 32f, 64f, 0.5f, 0.25f];
        ushort[] bits = expected.Select(f => (ushort)(BitConverter.SingleToUInt32Bits(f) >> 16)).ToArray();
        float[] truncated = bits.Select(b => BitConverter.UInt32BitsToSingle((uint)b << 16)).ToArray();
        using var dir = new TempDirectory();
        string path = new SafetensorsTestWriter().AddU16("b", "BF16", [bits.Length], bits).Write(dir.File("b.safetensors"));
        using var file = SafetensorsFile.Open(path);
        float[] values = file.ReadAsFloat32("b");
        Assert.Equal(truncated.Select(BitConverter.SingleToUInt32Bits), values.Select(BitConverter.SingleToUInt32Bits));
        Assert.Equal(1f, values[0]);
        Assert.Equal(-2.5f, values[1]);

        var destination = new float[bits.Length];
        file.ReadAsFloat32("b", destination);
        Assert.Equal(values, destination);
    }

    [Fact]
    public void ScalarAndEmptyTensorsAreAccepted()
    {
        using var dir = new TempDirectory();
        string path = new SafetensorsTestWriter()
            .AddF32("scalar", [], [7f])
            .AddF32("empty", [0, 4], [])
            .AddF32("after", [2], [1f, 2f])
            .Write(dir.File("s.safetensors"));
        using var file = SafetensorsFile.Open(path);
        Assert.Equal([7f], file.ReadAsFloat32("scalar"));
        Assert.Equal(0, file.GetInfo("scalar").Rank);
        Assert.Empty(file.ReadAsFloat32("empty"));
        Assert.Equal([1f, 2f], file.ReadAsFloat32("after"));
    }

    [Fact]
    public void TruncatedFileNamesTheTensorPastTheEnd()
    {
        using var dir = new TempDirectory();
        byte[] bytes = new SafetensorsTestWriter().AddF32("a", [4], [1, 2, 3, 4]).AddF32("b", [4], [5, 6, 7, 8]).ToBytes();
        string path = dir.File("model.safetensors");
        File.WriteAllBytes(path, bytes[..^6]);
        var e = Assert.Throws<MalformedCheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains(path, e.Message);
        Assert.Contains("'b'", e.Message);
        Assert.Contains("past the end of the data section", e.Message);
    }

    [Fact]
    public void FileShorterThanTheLengthFieldIsRejected()
    {
        using var dir = new TempDirectory();
        string path = dir.File("tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        var e = Assert.Throws<MalformedCheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("3 bytes", e.Message);
    }

    [Fact]
    public void HeaderLengthPastEndOfFile()
    {
        using var dir = new TempDirectory();
        string path = new SafetensorsTestWriter().AddF32("a", [2], [1, 2])
            .Write(dir.File("model.safetensors"), headerLengthOverride: 1_000_000);
        var e = Assert.Throws<MalformedCheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("header length 1000000 runs past the end of the file", e.Message);
    }

    [Fact]
    public void HugeHeaderLengthDoesNotOverflow()
    {
        using var dir = new TempDirectory();
        string path = new SafetensorsTestWriter().AddF32("a", [2], [1, 2])
            .Write(dir.File("model.safetensors"), headerLengthOverride: ulong.MaxValue);
        var e = Assert.Throws<MalformedCheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains("runs past the end of the file", e.Message);
    }

    [Fact]
    public void InvalidJsonHeader()
    {
        using var dir = new TempDirectory();
        string path = new SafetensorsTestWriter().AddF32("a", [2], [1, 2])
            .Write(dir.File("model.safetensors"), headerOverride: "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], ");
        var e = Assert.Throws<MalformedCheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void OverlappingOffsetsNameBothTensors()
    {
        using var dir = new TempDirectory();
        var writer = new SafetensorsTestWriter().AddF32("first", [4], [1, 2, 3, 4]).AddF32("second", [4], [5, 6, 7, 8]);
        writer.OffsetOverrides["second"] = (8, 24);
        writer.OffsetOverrides["first"] = (0, 16);
        string path = writer.Write(dir.File("model.safetensors"));
        var e = Assert.Throws<MalformedCheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("'first'", e.Message);
        Assert.Contains("'second'", e.Message);
        Assert.Contains("overlap", e.Message);
    }

    [Fact]
    public void OutOfRangeOffsets()
    {
        using var dir = new TempDirectory();
        var writer = new SafetensorsTestWriter().AddF32("w", [4], [1, 2, 3, 4]);
        writer.OffsetOverrides["w"] = (1000, 1016);
        string path = writer.Write(dir.File("model.safetensors"));
        var e = Assert.Throws<MalformedCheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains("'w'", e.Message);
        Assert.Contains("[1000, 1016] past the end of the data section (16 bytes)", e.Message);
    }

    [Fact]
    public void EndBeforeBeginIsRejected()
    {
        using var dir = new TempDirectory();
        var writer = new SafetensorsTestWriter().AddF32("w", [0], []).AddF32("pad", [4], [1, 2, 3, 4]);
        writer.OffsetOverrides["w"] = (8, 4);
        string path = writer.Write(dir.File("model.safetensors"));
        var e = Assert.Throws<MalformedCheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains("end before begin", e.Message);
    }

    [Fact]
    public void ShapeTimesDTypeSizeMustMatchByteRange()
    {
        using var dir = new TempDirectory();
        var writer = new SafetensorsTestWriter().Add("w", "F32", [3, 2], new byte[16]);
        string path = writer.Write(dir.File("model.safetensors"));
        var e = Assert.Throws<MalformedCheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("tensor 'w' has shape [3,2] and dtype F32 (24 bytes) but data_offsets [0, 16] cover 16 bytes", e.Message);
    }

    [Fact]
    public void ShapeOverflowIsRejected()
    {
        using var dir = new TempDirectory();
        var writer = new SafetensorsTestWriter().Add("w", "F32", [long.MaxValue / 2, 4], new byte[16]);
        string path = writer.Write(dir.File("model.safetensors"));
        var e = Assert.Throws<MalformedCheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains("overflows", e.Message);
    }

    [Fact]
    public void UnsupportedDTypeOpensButCannotBeReadAsFloat()
    {
        using var dir = new TempDirectory();
        string path = new SafetensorsTestWriter()
            .Add("position_ids", "I64", [2], new byte[16])
            .AddF32("w", [2], [1, 2])
            .Write(dir.File("model.safetensors"));
        using var file = SafetensorsFile.Open(path);
        Assert.Equal([1f, 2f], file.ReadAsFloat32("w"));
        Assert.Equal(SafetensorsDType.I64, file.GetInfo("position_ids").DType);
        var e = Assert.Throws<UnsupportedModelException>(() => file.ReadAsFloat32("position_ids"));
        Assert.Contains(path, e.Message);
        Assert.Contains("tensor 'position_ids' has dtype I64; supported: F32, F16, BF16", e.Message);
    }

    [Fact]
    public void UnknownDTypeIsMalformed()
    {
        using var dir = new TempDirectory();
        string path = new SafetensorsTestWriter().Add("w", "Q7", [2], new byte[2]).Write(dir.File("model.safetensors"));
        var e = Assert.Throws<MalformedCheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains("tensor 'w' has unknown dtype 'Q7'; supported: F32, F16, BF16", e.Message);
    }

    [Fact]
    public void NegativeShapeIsRejected()
    {
        using var dir = new TempDirectory();
        string path = new SafetensorsTestWriter().Add("w", "F32", [-1], new byte[4]).Write(dir.File("model.safetensors"));
        var e = Assert.Throws<MalformedCheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains("tensor 'w' has an invalid shape", e.Message);
    }

    [Fact]
    public void HeaderThatIsNotAnObjectIsRejected()
    {
        using var dir = new TempDirectory();
        string path = new SafetensorsTestWriter().Write(dir.File("model.safetensors"), headerOverride: "[1, 2]");
        var e = Assert.Throws<MalformedCheckpointException>(() => SafetensorsFile.Open(path));
        Assert.Contains("must be a JSON object", e.Message);
    }

    [Fact]
    public void DestinationOfWrongLengthAndMissingTensor()
    {
        using var file = SafetensorsFile.Open(GptWeights);
        Assert.Throws<InvalidInputException>(() => file.ReadAsFloat32("transformer.ln_f.weight", new float[3]));
        var e = Assert.Throws<ModelLoadException>(() => file.GetInfo("nope"));
        Assert.Contains("tensor 'nope' is not in this file", e.Message);
    }

    [Fact]
    public void ReadsAfterDisposeThrow()
    {
        var file = SafetensorsFile.Open(GptWeights);
        file.Dispose();
        Assert.Throws<ObjectDisposedException>(() => file.ReadAsFloat32("transformer.ln_f.weight"));
        file.Dispose();
    }
}
