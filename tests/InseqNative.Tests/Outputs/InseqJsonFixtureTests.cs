using InseqNative.Outputs;

namespace InseqNative.Tests.Outputs;

/// <summary>Every inseq_json fixture (saved by Python Inseq 0.6) loads, equals the case's raw output, and our default
/// aggregation equals the case's aggregated output.</summary>
public sealed class InseqJsonFixtureTests
{
    public static TheoryData<string> Cases() => ReferenceCase.All();

    [Fact]
    public void EveryFixtureHasAnInseqJsonFile()
    {
        var names = ReferenceCase.Names.ToArray();
        Assert.Equal(59, names.Length);
        foreach (string name in names) Assert.True(File.Exists(ReferenceCase.InseqJsonPath(name)), name);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LoadedFileEqualsRawReference(string name)
    {
        var output = FeatureAttributionOutput.Load(ReferenceCase.InseqJsonPath(name));
        var reference = ReferenceCase.Load(name);
        Assert.Equal(reference.Count, output.SequenceAttributions.Count);
        Assert.Null(output.StepAttributions);
        Assert.False(string.IsNullOrEmpty(output.Info.Method));
        Assert.Equal(reference.Count, output.Info.InputTexts!.Count);
        for (int i = 0; i < reference.Count; i++)
        {
            var actual = output.SequenceAttributions[i];
            var expected = reference[i].Raw ?? reference[i].Aggregated;
            if (reference[i].Raw is null) actual = actual.Aggregate();
            string what = $"{name}[{i}]";
            Assert.Equal(expected.Class, actual.InseqClassName);
            AssertSame(expected, actual, 5e-6, what);
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void DefaultAggregationEqualsAggregatedReference(string name)
    {
        var output = FeatureAttributionOutput.Load(ReferenceCase.InseqJsonPath(name)).Aggregate();
        var reference = ReferenceCase.Load(name);
        for (int i = 0; i < reference.Count; i++)
        {
            var actual = output.SequenceAttributions[i];
            Assert.Equal(2, actual.AttributionRank);
            AssertSame(reference[i].Aggregated, actual, 1e-5, $"{name}[{i}] aggregated");
        }
    }

    internal static void AssertSame(ReferenceSequence expected, FeatureAttributionSequenceOutput actual, double rel,
        string what)
    {
        Assert.Equal(expected.Source, actual.Source);
        Assert.Equal(expected.Target, actual.Target);
        Assert.Equal(expected.AttrPosStart, actual.AttrPosStart);
        Assert.Equal(expected.AttrPosEnd, actual.AttrPosEnd);
        TensorAssert.ColumnsClose(expected.SourceAttributions, expected.TargetAttributions, actual.SourceAttributions,
            actual.TargetAttributions, rel, what);
        Assert.Equal(expected.StepScores.Keys.Order(), actual.StepScores.Keys.Order());
        foreach (var (key, t) in expected.StepScores)
            TensorAssert.Relative(t, actual.StepScores[key], 1e-5, $"{what} step score {key}");
        Assert.Equal(expected.SequenceScores.Keys.Order(), actual.SequenceScores.Keys.Order());
        foreach (var (key, t) in expected.SequenceScores)
            TensorAssert.Close(t, actual.SequenceScores[key], rel, $"{what} sequence score {key}");
    }
}
