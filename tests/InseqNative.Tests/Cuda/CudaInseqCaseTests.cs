using InseqNative.Attribution;
using InseqNative.Tests.Attribution;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Cuda;

/// <summary>The Python Inseq fixture cases of InseqCaseTests (decoder-only and encoder-decoder) with the model on CUDA
/// device 0: the whole
/// engine (generation, fused and stepwise strategies, step functions, aggregation) on the CUDA backend, held to the
/// same tolerances as on the CPU. Skipped without a CUDA device.</summary>
public class CudaInseqCaseTests
{
    public static TheoryData<string, AttributionStrategy> DecoderOnlyCases() => InseqCaseTests.DecoderOnlyCases();

    public static TheoryData<string, AttributionStrategy> EncoderDecoderCases() => InseqCaseTests.EncoderDecoderCases();

    [Theory]
    [MemberData(nameof(DecoderOnlyCases))]
    public void Attribution_on_cuda_matches_python_inseq(string caseName, AttributionStrategy strategy) =>
        Check(caseName, strategy);

    [Theory]
    [MemberData(nameof(EncoderDecoderCases))]
    public void Encoder_decoder_attribution_on_cuda_matches_python_inseq(string caseName, AttributionStrategy strategy) =>
        Check(caseName, strategy);

    static void Check(string caseName, AttributionStrategy strategy)
    {
        CudaTest.RequireDevice();
        var expected = CaseFile.Load(caseName);
        var args = expected.Args;
        using var model = Inseq.LoadModel(FixturePaths.Models(args.Model), args.Method, Device.Cuda(0));
        var options = InseqCaseTests.OptionsOf(args, strategy);
        if (expected.FinalStepMethod) options = options with { StepScores = ["probability"] };
        var output = model.Attribute(args.Inputs, args.Targets, options);

        Assert.Equal(expected.Sequences.Count, output.SequenceAttributions.Count);
        for (var i = 0; i < expected.Sequences.Count; i++)
        {
            var e = expected.Sequences[i];
            var a = output.SequenceAttributions[i];
            Assert.Equal(e.TargetIds, a.Target.Select(t => t.Id));
            Assert.Equal(e.SourceIds, a.Source.Select(t => t.Id));
            if (e.Raw is { } raw)
                ColumnTolerance.Check(raw.Source, raw.Target, a.SourceAttributions, a.TargetAttributions, 1e-3,
                    $"{caseName} raw (cuda)");
            var aggregated = a.Aggregate();
            ColumnTolerance.Check(e.Aggregated!.Source, e.Aggregated.Target, aggregated.SourceAttributions,
                aggregated.TargetAttributions, 1e-3, $"{caseName} aggregated (cuda)");
            foreach (var (name, values) in e.DummyStepScores ?? e.Aggregated.StepScores)
            {
                var ours = a.StepScores[name].Data;
                for (var k = 0; k < values.Length; k++)
                {
                    // Inseq 0.6's perplexity is 2^crossentropy(nats); ours is exp(crossentropy) (README).
                    var want = name == "perplexity" ? Math.Exp(Math.Log2(values[k])) : values[k];
                    var scale = name == "logit" ? values.Max(Math.Abs) : 0; // see InseqCaseTests
                    Assert.True(Math.Abs(want - ours[k]) <= 1e-4 * Math.Max(Math.Abs(want), scale) + 1e-9,
                        $"{caseName} step score {name}[{k}] on cuda: expected {want:R}, got {ours[k]:R}");
                }
            }
        }
    }
}
