using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using InseqNative.Outputs;
using InseqNative.Outputs.Serialization;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Outputs;

public sealed class SaveLoadTests
{
    static readonly string[] Representative =
    [
        "tiny-gpt2__saliency", "tiny-marian__attention__attribute_target", "tiny-t5__attention",
        "tiny-llama__saliency__generate_batch2", "tiny-m2m100__occlusion__attribute_target",
        "tiny-gpt2__saliency__contrast",
    ];

    public static TheoryData<string, TensorEncoding, bool> RoundTripCases()
    {
        var data = new TheoryData<string, TensorEncoding, bool>();
        foreach (string name in Representative)
            foreach (var encoding in Enum.GetValues<TensorEncoding>())
                foreach (bool compress in new[] { false, true })
                    data.Add(name, encoding, compress);
        return data;
    }

    [Theory]
    [MemberData(nameof(RoundTripCases))]
    public void SaveThenLoadIsIdentical(string name, TensorEncoding encoding, bool compress)
    {
        using var dir = new TempDirectory();
        var original = FeatureAttributionOutput.Load(ReferenceCase.InseqJsonPath(name));
        var paths = original.Save(dir.File("out.json"), new AttributionSaveOptions { Encoding = encoding, Compress = compress });
        Assert.Equal([dir.File(compress ? "out.json.gz" : "out.json")], paths);
        if (compress) Assert.Equal(0x1F, File.ReadAllBytes(paths[0])[0]);
        AssertIdentical(original, FeatureAttributionOutput.Load(paths[0]));
        // The aggregated form round-trips too (written as the base class).
        var aggregated = original.Aggregate();
        aggregated.Save(dir.File("agg.json"), new AttributionSaveOptions { Encoding = encoding, Compress = compress });
        var reloaded = FeatureAttributionOutput.Load(dir.File(compress ? "agg.json.gz" : "agg.json"));
        AssertIdentical(aggregated, reloaded);
    }

    [Fact]
    public void DefaultEncodingIsInseq07Safetensors()
    {
        var output = FeatureAttributionOutput.Load(ReferenceCase.InseqJsonPath("tiny-gpt2__saliency"));
        using var doc = JsonDocument.Parse(output.ToJson());
        var seq = doc.RootElement.GetProperty("attributes").GetProperty("sequence_attributions")[0];
        Assert.Equal("GranularFeatureAttributionSequenceOutput", seq.GetProperty("__instance_type__")[1].GetString());
        var blob = Convert.FromBase64String(seq.GetProperty("attributes").GetProperty("target_attributions").GetString()!);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(blob);
        Assert.Equal(0UL, headerLength % 8);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(blob, 8, (int)headerLength).TrimEnd());
        var entry = header.RootElement.GetProperty("attribution");
        Assert.Equal("F32", entry.GetProperty("dtype").GetString());
        Assert.Equal([13, 6, 64], entry.GetProperty("shape").EnumerateArray().Select(x => x.GetInt32()));
        Assert.Equal(13 * 6 * 64 * 4, entry.GetProperty("data_offsets")[1].GetInt64());
        Assert.Equal(8 + (long)headerLength + 13 * 6 * 64 * 4, blob.Length);
        var tokens = seq.GetProperty("attributes").GetProperty("source")[1];
        Assert.Equal("TokenWithId", tokens.GetProperty("__instance_type__")[1].GetString());
        Assert.Equal("Ġquick", tokens.GetProperty("attributes").GetProperty("token").GetString());
    }

    [Fact]
    public void Float16PrecisionRoundsLikeHalf()
    {
        using var dir = new TempDirectory();
        var original = FeatureAttributionOutput.Load(ReferenceCase.InseqJsonPath("tiny-marian__saliency__attribute_target"));
        foreach (var encoding in Enum.GetValues<TensorEncoding>())
        {
            string path = dir.File($"half-{encoding}.json");
            original.Save(path, new AttributionSaveOptions { Precision = ScoresPrecision.Float16, Encoding = encoding });
            var loaded = FeatureAttributionOutput.Load(path);
            var (a, b) = (original[0], loaded[0]);
            foreach (var (x, y) in new[] { (a.SourceAttributions!, b.SourceAttributions!), (a.TargetAttributions!, b.TargetAttributions!), (a.StepScores["probability"], b.StepScores["probability"]) })
            {
                Assert.Equal(x.Shape, y.Shape);
                for (long i = 0; i < x.Length; i++)
                {
                    if (float.IsNaN(x.Data[i])) { Assert.True(float.IsNaN(y.Data[i])); continue; }
                    Assert.Equal((float)(Half)x.Data[i], y.Data[i]);
                    Assert.True(Math.Abs(x.Data[i] - y.Data[i]) <= Math.Max(Math.Abs(x.Data[i]) / 2048, Math.Pow(2, -25)));
                }
            }
            Assert.True(new FileInfo(path).Length < new FileInfo(ReferenceCase.InseqJsonPath("tiny-marian__saliency__attribute_target")).Length);
        }
    }

    [Fact]
    public void SplitSequencesWritesOneFilePerSequenceWithInseqNames()
    {
        using var dir = new TempDirectory();
        var original = FeatureAttributionOutput.Load(ReferenceCase.InseqJsonPath("tiny-t5__saliency__batch2__attribute_target"));
        var paths = original.Save(dir.File("attr.json"), new AttributionSaveOptions { SplitSequences = true, Compress = true });
        Assert.Equal([dir.File("attr_0.json.gz"), dir.File("attr_1.json.gz")], paths);
        for (int i = 0; i < 2; i++)
        {
            var part = FeatureAttributionOutput.Load(paths[i]);
            Assert.Single(part.SequenceAttributions);
            Assert.Equal([original.Info.InputTexts![i]], part.Info.InputTexts);
            Assert.Equal([original.Info.GeneratedTexts![i]], part.Info.GeneratedTexts);
            AssertIdentical(original[i], part[0], $"sequence {i}");
        }
        var merged = FeatureAttributionOutput.Load(paths);
        Assert.Equal(original.Info.InputTexts, merged.Info.InputTexts);
        for (int i = 0; i < 2; i++) AssertIdentical(original[i], merged[i], $"merged {i}");
    }

    [Fact]
    public void ExistingFileNeedsOverwriteAndGzipIsDetectedByMagicBytes()
    {
        using var dir = new TempDirectory();
        var output = FeatureAttributionOutput.Load(ReferenceCase.InseqJsonPath("tiny-gpt2__occlusion"));
        string path = output.Save(dir.File("a.json.gz"))[0];
        Assert.Equal(dir.File("a.json.gz"), path);
        var ex = Assert.Throws<InvalidInputException>(() => output.Save(path));
        Assert.Contains("already exists", ex.Message);
        output.Save(path, new AttributionSaveOptions { Overwrite = true });
        File.Copy(path, dir.File("renamed.json"));
        AssertIdentical(output, FeatureAttributionOutput.Load(dir.File("renamed.json")));
    }

    [Fact]
    public void InfoRoundTripsArbitraryJsonAndNonFiniteNumbers()
    {
        using var dir = new TempDirectory();
        var output = FeatureAttributionOutput.Load(ReferenceCase.InseqJsonPath("tiny-gpt2__saliency"));
        output.Info.ExecTime = double.NaN;
        output.Info["nested"] = JsonNode.Parse("""{"b": [1, 2.5, "x", null, true], "a": {"z": -3}}""");
        output.Info["inf"] = JsonValue.Create(1.0);
        string json = output.ToJson();
        Assert.Contains("\"exec_time\": NaN", json);
        var loaded = FeatureAttributionOutput.FromJson(json.Replace("\"inf\": 1", "\"inf\": -Infinity"));
        Assert.True(double.IsNaN(loaded.Info.ExecTime!.Value));
        Assert.Equal(output.Info["nested"]!.ToJsonString(), loaded.Info["nested"]!.ToJsonString());
        Assert.Contains("\"inf\": -Infinity", loaded.ToJson());
        Assert.Equal(output.Info.Keys, loaded.Info.Keys);
        Assert.Equal("saliency", loaded.Info.Method);
        Assert.Equal("models/tiny-gpt2", loaded.Info.ModelName);
        Assert.Equal(["probability"], loaded.Info.StepScores);
        Assert.Equal(7, loaded.Info.AttrPosStart);
    }

    [Fact]
    public void UnknownClassIsAClearError()
    {
        using var dir = new TempDirectory();
        string json = File.ReadAllText(ReferenceCase.InseqJsonPath("tiny-gpt2__saliency"))
            .Replace("GranularFeatureAttributionSequenceOutput", "FancyFeatureAttributionSequenceOutput");
        string path = dir.Write("bad.json", json);
        var ex = Assert.Throws<AttributionFileException>(() => FeatureAttributionOutput.Load(path));
        Assert.Contains("inseq.data.attribution.FancyFeatureAttributionSequenceOutput", ex.Message);
        Assert.Contains("sequence_attributions[0]", ex.Message);
        Assert.Equal(path, ex.FilePath);
        Assert.Throws<AttributionFileException>(() => FeatureAttributionOutput.Load(dir.Write("x.json", "{not json")));
        Assert.Throws<AttributionFileException>(() => FeatureAttributionOutput.Load(dir.File("missing.json")));
    }

    [Fact]
    public void ReadsNestedListArraysWithBareNaNAndEnvelopeFreeFiles()
    {
        const string json = """
            {"info": {"attribution_method": "dummy"},
             "sequence_attributions": [{
                "source": [{"token": "a", "id": 1}], "target": [{"token": "a", "id": 1}, {"token": "b", "id": 2}],
                "source_attributions": null,
                "target_attributions": {"__ndarray__": [[0.5], [NaN]], "dtype": "float32", "shape": [2, 1], "Corder": true},
                "step_scores": {"probability": [Infinity]}, "sequence_scores": null,
                "attr_pos_start": 1, "attr_pos_end": 2}],
             "step_attributions": null}
            """;
        var output = FeatureAttributionOutput.FromJson(json);
        var s = output[0];
        Assert.Equal(SequenceOutputKind.Base, s.Kind);
        Assert.Equal([0.5f, float.NaN], s.TargetAttributions!.Data);
        Assert.Equal(float.PositiveInfinity, s.StepScores["probability"].Data[0]);
        Assert.Equal(new TokenWithId("b", 2), s.GeneratedTokens[0]);
    }

    [Fact]
    public void StepAttributionsRoundTrip()
    {
        var token = new TokenWithId("x", 7);
        var step = new FeatureAttributionStepOutput(
            sourceAttributions: new Tensor([1, 2, 3, 4, 5, 6], 1, 3, 2),
            targetAttributions: new Tensor([0.5f, float.NaN], 1, 2),
            stepScores: [KeyValuePair.Create("probability", new Tensor([0.25f], 1))],
            source: [[token, token, token]], prefix: [[token, token]], target: [[token]]);
        var seq = new FeatureAttributionSequenceOutput([token, token, token], [token, token, token], new Tensor([1, 2, 3], 3, 1),
            new Tensor([0.5f, float.NaN, float.NaN], 3, 1), 2, 3, SequenceOutputKind.Coarse,
            [KeyValuePair.Create("probability", new Tensor([0.25f], 1))]);
        var output = new FeatureAttributionOutput([seq], [step], AttributionInfo.FromValues(new Dictionary<string, object?>
        {
            ["attribution_method"] = "occlusion", ["input_texts"] = new[] { "x x x" }, ["exec_time"] = 0.5,
        }));
        foreach (var encoding in Enum.GetValues<TensorEncoding>())
        {
            var loaded = FeatureAttributionOutput.FromJson(output.ToJson(new AttributionSaveOptions { Encoding = encoding }));
            var s = Assert.Single(loaded.StepAttributions!);
            Assert.Equal(step.SourceAttributions!.Data, s.SourceAttributions!.Data);
            Assert.Equal(step.SourceAttributions.Shape, s.SourceAttributions.Shape);
            Assert.Equal(step.TargetAttributions!.Data, s.TargetAttributions!.Data);
            Assert.Equal([0.25f], s.StepScores["probability"].Data);
            Assert.Equal([token], s.Target![0]);
            Assert.Equal(2, s.Prefix![0].Count);
            AssertIdentical(output, loaded);
            Assert.Equal(0.5, loaded.Info.ExecTime);
        }
    }

    internal static void AssertIdentical(FeatureAttributionOutput expected, FeatureAttributionOutput actual)
    {
        Assert.Equal(expected.SequenceAttributions.Count, actual.SequenceAttributions.Count);
        Assert.Equal(expected.Info.ToJsonObject().ToJsonString(), actual.Info.ToJsonObject().ToJsonString());
        for (int i = 0; i < expected.SequenceAttributions.Count; i++)
            AssertIdentical(expected[i], actual[i], $"sequence {i}");
    }

    internal static void AssertIdentical(FeatureAttributionSequenceOutput e, FeatureAttributionSequenceOutput a, string what)
    {
        Assert.Equal(e.Kind, a.Kind);
        Assert.Equal(e.Source, a.Source);
        Assert.Equal(e.Target, a.Target);
        Assert.Equal(e.AttrPosStart, a.AttrPosStart);
        Assert.Equal(e.AttrPosEnd, a.AttrPosEnd);
        AssertBits(e.SourceAttributions, a.SourceAttributions, what);
        AssertBits(e.TargetAttributions, a.TargetAttributions, what);
        Assert.Equal(e.StepScores.Keys.Order(), a.StepScores.Keys.Order());
        foreach (var (k, t) in e.StepScores) AssertBits(t, a.StepScores[k], $"{what} {k}");
        Assert.Equal(e.SequenceScores.Keys.Order(), a.SequenceScores.Keys.Order());
        foreach (var (k, t) in e.SequenceScores) AssertBits(t, a.SequenceScores[k], $"{what} {k}");
    }

    static void AssertBits(Tensor? e, Tensor? a, string what)
    {
        Assert.True((e is null) == (a is null), what);
        if (e is null) return;
        Assert.Equal(e.Shape, a!.Shape);
        for (long i = 0; i < e.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(e.Data[i]) == BitConverter.SingleToInt32Bits(a.Data[i])
                        || float.IsNaN(e.Data[i]) && float.IsNaN(a.Data[i]), $"{what}: element {i} {e.Data[i]} vs {a.Data[i]}");
    }
}
