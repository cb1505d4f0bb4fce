using System.Text.RegularExpressions;
using InseqNative.Aggregation;
using InseqNative.Outputs;
using static InseqNative.Tests.Aggregation.Toy;

namespace InseqNative.Tests.Aggregation;

public sealed class AggregatorTests
{
    [Fact]
    public void GranularDefaultIsVectorNormThenColumnNormalization()
    {
        // 2 source tokens, 2 target tokens (decoder start + 1 generated), 1 step, hidden 2.
        var src = new Tensor([3, 4, 0, 5], 2, 1, 2);
        var tgt = new Tensor([6, 8, N, N], 2, 1, 2);
        var output = new FeatureAttributionSequenceOutput(Tokens("a", "b"), Tokens("<pad>", "c"), src, tgt, 1, null,
            SequenceOutputKind.Granular, [Score("probability", 0.5f)]);
        var agg = output.Aggregate();
        Assert.Equal(SequenceOutputKind.Base, agg.Kind);
        // norms 5, 5, 10 → / 20
        Assert.Equal([0.25f, 0.25f], agg.SourceAttributions!.Data);
        Assert.Equal(0.5f, agg.TargetAttributions!.Data[0]);
        Assert.True(float.IsNaN(agg.TargetAttributions.Data[1]));
        Assert.Equal("FeatureAttributionSequenceOutput", agg.InseqClassName);
        // Default aggregation of an aggregated output is nothing; explicit score aggregation is an error.
        Assert.Same(agg.SourceAttributions, agg.Aggregate().SourceAttributions);
        var ex = Assert.Throws<InvalidInputException>(() => agg.Aggregate("vnorm"));
        Assert.Contains("already", ex.Message);
    }

    [Fact]
    public void MultiDimensionalDefaultIsMeanNormalizePerDimension()
    {
        // 1 source row + 1 target row (not NaN), 1 step, 2 layers × 2 heads.
        var src = new Tensor([1, 3, 2, 2], 1, 1, 2, 2);
        var tgt = new Tensor([1, 1, 6, 2], 1, 1, 2, 2);
        var output = new FeatureAttributionSequenceOutput(Tokens("a"), Tokens("<pad>", "b"), src, tgt, 1, null,
            SequenceOutputKind.MultiDimensional);
        var agg = output.Aggregate();
        // heads mean: src [2, 2], tgt [1, 4]; normalize per layer: layer0 2/3, 1/3; layer1 2/6, 4/6;
        // layers mean: src 0.5, tgt 0.5; normalize: 0.5, 0.5
        Assert.Equal(0.5f, agg.SourceAttributions!.Data[0], 6);
        Assert.Equal(0.5f, agg.TargetAttributions!.Data[0], 6);
        var heads = output.Aggregate(new ScoresAggregator(AggregationFunction.Mean, normalize: false));
        Assert.Equal(SequenceOutputKind.MultiDimensional, heads.Kind);
        Assert.Equal([2f, 2f], heads.SourceAttributions!.Data);
    }

    [Fact]
    public void ScoresSelectIndexAndOptions()
    {
        var src = new Tensor([1, 2, 3, 4, 5, 6], 1, 1, 2, 3);
        var output = new FeatureAttributionSequenceOutput(Tokens("a"), Tokens("<pad>", "b"), src, null, 1, null,
            SequenceOutputKind.MultiDimensional);
        var head2 = output.Aggregate(new ScoresAggregator(AggregationFunction.Mean, normalize: false, selectIndex: 2));
        Assert.Equal([3f, 6f], head2.SourceAttributions!.Data);
        var last = output.Aggregate(new ScoresAggregator(AggregationFunction.Sum, normalize: false, selectIndex: -1));
        Assert.Equal([3f, 6f], last.SourceAttributions!.Data);
        var some = output.Aggregate(new ScoresAggregator(AggregationFunction.Sum, normalize: false, selectIndices: [0, 2]));
        Assert.Equal([4f, 10f], some.SourceAttributions!.Data);
        var rescaled = some.Aggregate(new ScoresAggregator(AggregationFunction.Max, normalize: false, rescale: true));
        Assert.Equal([1f], rescaled.SourceAttributions!.Data);
        Assert.Throws<InvalidInputException>(() => new ScoresAggregator(AggregationFunction.Sum, normalize: true, rescale: true));
        Assert.Throws<InvalidInputException>(() => new ScoresAggregator(AggregationFunction.Sum, selectIndex: 1, selectIndices: [1]));
        Assert.Throws<InvalidInputException>(() => output.Aggregate(new ScoresAggregator(AggregationFunction.Sum, selectIndex: 3)));
    }

    [Fact]
    public void SpansMergeRowsColumnsTokensAndStepScores()
    {
        // Target: The quick brown fox | jumps over; prompt = 3 tokens, steps predict "fox", "jumps", "over".
        float[] values =
        [
            0.1f, 0.2f, 0.3f,
            -0.4f, 0.5f, 0.1f,
            0.2f, -0.6f, 0.1f,
            N, 0.3f, 0.2f,
            N, N, 0.4f,
            N, N, N,
        ];
        var output = DecoderOnly(["The", "Ġquick", "Ġbrown", "Ġfox", "Ġjumps", "Ġover"], 3, values,
            Score("probability", 0.5f, 0.4f, 0.25f), Score("entropy", 1, 2, 3));
        var agg = output.Aggregate(new SpansAggregator(targetSpans: [(1, 3), (4, 6)]));
        Assert.Equal(4, agg.Target.Count);
        Assert.Equal(new TokenWithId("ĠquickĠbrown", -1), agg.Target[1]);
        Assert.Equal(new TokenWithId("ĠjumpsĠover", -1), agg.Target[3]);
        Assert.Equal(2, agg.AttrPosStart);
        Assert.Equal(4, agg.AttrPosEnd);
        Assert.Equal([4, 2], agg.TargetAttributions!.Shape);
        // columns: step0 alone; steps 1-2 merged with absmax. rows: The; quick+brown; fox; jumps+over.
        float[] expected =
        [
            0.1f, 0.3f,
            -0.4f, -0.6f,
            N, 0.3f,
            N, N,
        ];
        for (int i = 0; i < expected.Length; i++)
            Assert.True(expected[i].Equals(agg.TargetAttributions.Data[i]), $"{i}: {agg.TargetAttributions.Data[i]}");
        Assert.Equal([0.5f, 0.1f], agg.StepScores["probability"].Data);
        Assert.Equal([1f, 5f], agg.StepScores["entropy"].Data);
        Assert.Equal(["The", "ĠquickĠbrown"], agg.Source.Select(t => t.Token));
    }

    [Fact]
    public void SpansCrossingTheAttributedBoundaryAreCut()
    {
        var output = DecoderOnly(["a", "b", "c", "d"], 2, [1, 1, 2, 2, N, 3, N, N]);
        var agg = output.Aggregate(new SpansAggregator(targetSpans: [(1, 4)]));
        Assert.Equal(["a", "b", "cd"], agg.Target.Select(t => t.Token));
        Assert.Equal(2, agg.AttrPosStart);
        Assert.Equal(3, agg.AttrPosEnd);
        Assert.Equal([1f, 2f, N], agg.TargetAttributions!.Data);
    }

    [Fact]
    public void SpanValidation()
    {
        var output = DecoderOnly(["a", "b", "c", "d"], 2, [1, 1, 2, 2, N, 3, N, N]);
        Assert.Throws<InvalidInputException>(() => output.Aggregate(new SpansAggregator(targetSpans: [(2, 2)])));
        Assert.Throws<InvalidInputException>(() => output.Aggregate(new SpansAggregator(targetSpans: [(0, 2), (1, 3)])));
        Assert.Throws<InvalidInputException>(() => output.Aggregate(new SpansAggregator(targetSpans: [(2, 5)])));
        Assert.Throws<InvalidInputException>(() => output.Aggregate(new SpansAggregator(sourceSpans: [(-1, 1)])));
        Assert.Throws<InvalidInputException>(() => output.Aggregate("spans"));
        Assert.Throws<InvalidInputException>(() => output.Aggregate("nonsense"));
    }

    [Fact]
    public void SubwordsKnowByteLevelSentencePieceNewlineSpecialTokensAndTheLastWord()
    {
        var sub = new SubwordAggregator();
        TokenSpan[] Spans(params string[] t) => sub.WordSpans(Tokens(t)).ToArray();
        Assert.Equal([new TokenSpan(1, 3), new TokenSpan(3, 5)], Spans("The", "Ġla", "zy", "Ġdo", "g"));
        Assert.Equal([new TokenSpan(0, 2), new TokenSpan(3, 5)], Spans("▁Th", "is", "▁is", "▁te", "st", "</s>"));
        Assert.Equal([new TokenSpan(2, 4)], Spans("a", "Ċ", "He", "llo"));
        Assert.Equal([new TokenSpan(1, 3)], Spans("<|endoftext|>", "Hel", "lo", "<|endoftext|>"));
        Assert.Equal([new TokenSpan(1, 3)], Spans("__en__", "▁Ci", "ao", "</s>"));
        Assert.Equal([new TokenSpan(0, 3)], Spans("▁caf", "<0xC3>", "<0xA9>"));
    }

    [Fact]
    public void SubwordAggregationOfEncoderDecoderOutput()
    {
        var source = Tokens("▁Th", "is", "</s>");
        var target = Tokens("<pad>", "▁Qu", "esto", "</s>");
        var src = new Tensor([0.1f, 0.2f, 0.3f, 0.4f, 0.5f, -0.6f, 0.7f, 0.8f, 0.9f], 3, 3);
        var output = new FeatureAttributionSequenceOutput(source, target, src, null, 1, null, SequenceOutputKind.Coarse,
            [Score("probability", 0.5f, 0.5f, 0.9f)]);
        var agg = output.Aggregate("subwords");
        Assert.Equal(["▁This", "</s>"], agg.Source.Select(t => t.Token));
        Assert.Equal(["<pad>", "▁Questo", "</s>"], agg.Target.Select(t => t.Token));
        Assert.Equal((1, 3), (agg.AttrPosStart, agg.AttrPosEnd));
        Assert.Equal([0.5f, -0.6f, 0.8f, 0.9f], agg.SourceAttributions!.Data);
        Assert.Equal([0.25f, 0.9f], agg.StepScores["probability"].Data);
        Assert.Equal(SequenceOutputKind.Coarse, agg.Kind);
    }

    [Fact]
    public void SubwordsApplyDefaultAggregationFirstToGranularOutputs()
    {
        var src = new Tensor([3, 4, 0, 5, 6, 8], 3, 1, 2);
        var output = new FeatureAttributionSequenceOutput(Tokens("▁a", "b", "▁c"), Tokens("<pad>", "▁d"), src, null, 1,
            null, SequenceOutputKind.Granular);
        var agg = output.Aggregate(new SubwordAggregator());
        // norms 5, 5, 10 → normalized .25 .25 .5 → merge first two with absmax.
        Assert.Equal([0.25f, 0.5f], agg.SourceAttributions!.Data);
    }

    [Fact]
    public void SplitBySeparatorToken()
    {
        var tokens = Tokens("Hello", "Ġworld", ".", "ĠHow", "Ġare", "Ġyou", "?");
        Assert.Equal([new TokenSpan(0, 2), new TokenSpan(3, 7)], SplitAggregator.OnToken(".").Spans(tokens));
        Assert.Equal([new TokenSpan(0, 3), new TokenSpan(3, 7)], SplitAggregator.OnToken(".", SplitMode.End).Spans(tokens));
        Assert.Equal([new TokenSpan(0, 2), new TokenSpan(2, 7)], SplitAggregator.OnToken(".", SplitMode.Start).Spans(tokens));
        var lines = Tokens("a", "Ġb", "Ċ", "c", "Ġd");
        Assert.Equal([new TokenSpan(0, 2), new TokenSpan(3, 5)], SplitAggregator.OnToken("\n").Spans(lines));
        var regex = new SplitAggregator(new Regex(@"^\s*(are|you)\s*$"));
        Assert.Equal([new TokenSpan(0, 4)], regex.Spans(tokens));
        Assert.Throws<InvalidInputException>(() => SplitAggregator.OnToken(""));

        var output = DecoderOnly(["A", "Ġb", ".", "C", "Ġd"], 3, [1, 2, -3, 1, 1, 5, N, 4, N, N]);
        var agg = output.Aggregate(SplitAggregator.OnToken(".", splitTarget: true));
        Assert.Equal(["AĠb", ".", "CĠd"], agg.Target.Select(t => t.Token));
        Assert.Equal((2, 3), (agg.AttrPosStart, agg.AttrPosEnd));
        Assert.Equal([-3f, 5f, N], agg.TargetAttributions!.Data);
        Assert.Equal(["AĠb", "."], agg.Source.Select(t => t.Token));
    }

    [Fact]
    public void PairIsThisMinusOther()
    {
        var a = DecoderOnly(["x", "Ġdog"], 1, [0.75f, N], Score("probability", 0.5f));
        var b = DecoderOnly(["x", "Ġcat"], 1, [0.25f, N], Score("probability", 0.125f));
        var diff = a.Minus(b);
        Assert.Equal(0.5f, diff.TargetAttributions!.Data[0]);
        Assert.True(float.IsNaN(diff.TargetAttributions.Data[1]));
        Assert.Equal([0.375f], diff.StepScores["probability"].Data);
        Assert.Equal(new TokenWithId("Ġdog → Ġcat", -1), diff.Target[1]);
        Assert.Equal(new TokenWithId("x", 100), diff.Target[0]);
        Assert.Equal(diff.TargetAttributions.Data[0], (a - b).TargetAttributions!.Data[0]);
        Assert.Equal(-0.5f, b.Aggregate(new PairAggregator(a)).TargetAttributions!.Data[0]);
        var longer = DecoderOnly(["x", "y", "z"], 1, [1, 1, N, 1, N, N]);
        Assert.Throws<InvalidInputException>(() => a.Minus(longer));
    }

    [Fact]
    public void SlicesKeepPartOfThePromptOrSource()
    {
        // Decoder-only: prompt "a b c", generated "d e".
        var output = DecoderOnly(["a", "b", "c", "d", "e"], 3,
            [1, 2, 3, 4, 5, 6, N, 7, N, N], Score("probability", 0.5f, 0.25f));
        var sliced = output.Aggregate(new SliceAggregator(targetSlice: (1, 3)));
        Assert.Equal(["b", "c", "d", "e"], sliced.Target.Select(t => t.Token));
        Assert.Equal(["b", "c"], sliced.Source.Select(t => t.Token));
        Assert.Equal((2, 4), (sliced.AttrPosStart, sliced.AttrPosEnd));
        Assert.Equal([3f, 4f, 5f, 6f, N, 7f, N, N], sliced.TargetAttributions!.Data);
        Assert.Equal(["d", "e"], sliced.GeneratedTokens.Select(t => t.Token));
        Assert.Throws<InvalidInputException>(() => output.Aggregate(new SliceAggregator(targetSlice: (2, 4))));
        Assert.Throws<InvalidInputException>(() => output.Aggregate(new SliceAggregator()));

        var encDec = new FeatureAttributionSequenceOutput(Tokens("s0", "s1", "s2"), Tokens("<pad>", "t"),
            new Tensor([1, 2, 3], 3, 1), null, 1, null, SequenceOutputKind.Coarse);
        var s = encDec.Aggregate(new SliceAggregator(sourceSlice: (1, 3)));
        Assert.Equal(["s1", "s2"], s.Source.Select(t => t.Token));
        Assert.Equal([2f, 3f], s.SourceAttributions!.Data);
        Assert.Throws<InvalidInputException>(() => encDec.Aggregate(new SliceAggregator(targetSlice: (0, 1))));
    }

    [Fact]
    public void PipelinesRunStagesInOrder()
    {
        var src = new Tensor([1, 3, 2, 2, 4, 4, 1, 1], 2, 1, 2, 2);
        var output = new FeatureAttributionSequenceOutput(Tokens("▁a", "b"), Tokens("<pad>", "▁c"), src, null, 1, null,
            SequenceOutputKind.MultiDimensional);
        var pipeline = new AggregatorPipeline(
            new ScoresAggregator(AggregationFunction.Max, normalize: false),
            new ScoresAggregator(AggregationFunction.Sum, normalize: false),
            new SubwordAggregator(function: AggregationFunction.Sum));
        var agg = output.Aggregate(pipeline);
        // max over heads: [3, 2], [4, 1]; sum over layers: 5, 5; merge "▁a"+"b" with sum: 10.
        Assert.Equal([10f], agg.SourceAttributions!.Data);
        Assert.Equal("▁ab", agg.Source[0].Token);
        // A pipeline that starts with subwords applies the default aggregation first.
        var defaultFirst = output.Aggregate(new AggregatorPipeline(new SubwordAggregator()));
        Assert.Equal([0.5f], defaultFirst.SourceAttributions!.Data);
    }

    [Fact]
    public void WeightingScoresDictsAndConstructionErrors()
    {
        var output = DecoderOnly(["a", "b", "c"], 1, [0.5f, 0.25f, N, 0.75f, N, N], Score("probability", 0.5f, 2f));
        var weighted = output.WeightAttributions("probability");
        Assert.Equal([0.25f, 0.5f, N, 1.5f, N, N], weighted.TargetAttributions!.Data);
        Assert.Throws<InvalidInputException>(() => output.WeightAttributions("entropy"));
        var dict = output.GetScoresDict();
        Assert.Equal(2, dict.Steps.Count);
        Assert.Equal("c", dict.Steps[1].Token);
        Assert.Equal([("a", 0.25f), ("b", 0.75f)], dict.Steps[1].TargetAttributions.Select(s => (s.Token, s.Score)));
        Assert.Equal(2f, dict.Steps[1].StepScores["probability"]);
        Assert.Equal(0.75f, output.Maximum);
        Assert.Equal(0f, output.Minimum);

        var t = Tokens("a", "b");
        Assert.Throws<InvalidInputException>(() => new FeatureAttributionSequenceOutput(t, t, null, new Tensor(new float[4], 2, 2), 1));
        Assert.Throws<InvalidInputException>(() => new FeatureAttributionSequenceOutput(t, t, new Tensor(new float[1], 1, 1), null, 1));
        Assert.Throws<InvalidInputException>(() => new FeatureAttributionSequenceOutput(t, t, null, new Tensor(new float[2], 2, 1), 1, null, SequenceOutputKind.Granular));
        Assert.Throws<InvalidInputException>(() => new FeatureAttributionSequenceOutput(t, t, null, new Tensor(new float[2], 2, 1), 1, null, SequenceOutputKind.Base, [Score("p", 1, 2)]));
        Assert.Throws<InvalidInputException>(() => new FeatureAttributionSequenceOutput(t, t, null, null, 3, 1));
    }

    [Fact]
    public void MergeConcatenatesSequencesAndInfo()
    {
        var a = new FeatureAttributionOutput([DecoderOnly(["a", "b"], 1, [1, N])], null, AttributionInfo.FromValues(
            new Dictionary<string, object?> { ["attribution_method"] = "saliency", ["input_texts"] = new[] { "a" }, ["exec_time"] = 1.5, ["attr_pos_start"] = 1 }));
        var b = new FeatureAttributionOutput([DecoderOnly(["c", "d", "e"], 2, [1, 1, N])], null, AttributionInfo.FromValues(
            new Dictionary<string, object?> { ["attribution_method"] = "saliency", ["input_texts"] = new[] { "c d" }, ["exec_time"] = 0.5, ["attr_pos_start"] = 2 }));
        var merged = FeatureAttributionOutput.Merge([a, b]);
        Assert.Equal(2, merged.SequenceAttributions.Count);
        Assert.Equal(["a", "c d"], merged.Info.InputTexts);
        Assert.Equal(2.0, merged.Info.ExecTime);
        Assert.Equal(1, merged.Info.AttrPosStart);
        var c = new FeatureAttributionOutput([DecoderOnly(["a", "b"], 1, [1, N])], null, AttributionInfo.FromValues(
            new Dictionary<string, object?> { ["attribution_method"] = "occlusion" }));
        var ex = Assert.Throws<InvalidInputException>(() => FeatureAttributionOutput.Merge([a, c]));
        Assert.Contains("attribution_method", ex.Message);
        Assert.Throws<InvalidInputException>(() => FeatureAttributionOutput.Merge([]));
    }
}
