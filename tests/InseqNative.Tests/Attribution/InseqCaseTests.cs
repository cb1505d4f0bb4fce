using System.Text.Json;
using InseqNative.Attribution;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Attribution;

/// <summary>Every fixture case (decoder-only and encoder-decoder): our Attribute() against what Python Inseq 0.6
/// produced — tokens and ids identical, raw and default-aggregated attributions (source and target) within 1e-3 of
/// each step column's maximum (NaN layout exact), sequence scores likewise, step scores within 1e-4 relative. Run
/// with both strategies.</summary>
public class InseqCaseTests
{
    public static TheoryData<string, AttributionStrategy> DecoderOnlyCases() => Cases("tiny-gpt2*.json", "tiny-llama*.json");

    public static TheoryData<string, AttributionStrategy> EncoderDecoderCases() =>
        Cases("tiny-marian*.json", "tiny-m2m100*.json", "tiny-t5*.json");

    static TheoryData<string, AttributionStrategy> Cases(params string[] patterns)
    {
        var data = new TheoryData<string, AttributionStrategy>();
        foreach (var pattern in patterns)
            foreach (var file in Directory.GetFiles(FixturePaths.Cases, pattern).Order())
                foreach (var s in new[] { AttributionStrategy.Fused, AttributionStrategy.Stepwise })
                    data.Add(Path.GetFileNameWithoutExtension(file), s);
        return data;
    }

    internal static AttributeOptions OptionsOf(CaseArgs args, AttributionStrategy strategy)
    {
        var kwargs = new Dictionary<string, object?>
        {
            ["method"] = args.Method,
            ["step_scores"] = args.StepScores,
            ["include_eos_baseline"] = args.IncludeEosBaseline,
            ["strategy"] = strategy.ToString(),
        };
        if (args.AttributeTarget) kwargs["attribute_target"] = true;
        if (args.AttributedFn is not null) kwargs["attributed_fn"] = args.AttributedFn;
        if (args.ContrastTargets is not null) kwargs["contrast_targets"] = args.ContrastTargets;
        if (args.AttrPosStart is not null) kwargs["attr_pos_start"] = args.AttrPosStart;
        if (args.AttrPosEnd is not null) kwargs["attr_pos_end"] = args.AttrPosEnd;
        if (args.NSteps is not null) kwargs["n_steps"] = args.NSteps;
        foreach (var p in args.MethodKwargs.EnumerateObject()) kwargs[p.Name] = p.Value;
        if (args.GenerationArgs.EnumerateObject().Any())
        {
            kwargs["generation_args"] = args.GenerationArgs;
            kwargs["reproduce_inseq_round_trip"] = true; // Inseq decodes and re-tokenizes what it generated
        }
        return InseqArguments.ToOptions(kwargs);
    }

    /// <summary>Inseq 0.6's perplexity is 2^crossentropy with crossentropy in nats; ours is exp(crossentropy) = 1/p
    /// (README, "Differences from Inseq"). Its crossentropy is −ln p, as ours.</summary>
    static double InOurUnits(string stepScore, double inseqValue) =>
        stepScore == "perplexity" ? Math.Exp(Math.Log2(inseqValue)) : inseqValue;

    [Theory]
    [MemberData(nameof(DecoderOnlyCases))]
    public void Attribution_matches_python_inseq(string caseName, AttributionStrategy strategy) => Check(caseName, strategy);

    [Theory]
    [MemberData(nameof(EncoderDecoderCases))]
    public void Encoder_decoder_attribution_matches_python_inseq(string caseName, AttributionStrategy strategy) =>
        Check(caseName, strategy);

    static void Check(string caseName, AttributionStrategy strategy)
    {
        var expected = CaseFile.Load(caseName);
        var args = expected.Args;
        using var model = Inseq.LoadModel(FixturePaths.Models(args.Model), args.Method, Device.Cpu);
        var options = OptionsOf(args, strategy);
        if (expected.FinalStepMethod) options = options with { StepScores = ["probability"] }; // Inseq refuses; we compute
        var output = model.Attribute(args.Inputs, args.Targets, options);

        Assert.Equal(expected.Sequences.Count, output.SequenceAttributions.Count);
        for (var i = 0; i < expected.Sequences.Count; i++)
        {
            var e = expected.Sequences[i];
            var a = output.SequenceAttributions[i];
            Assert.Equal(e.SourceTokens, a.Source.Select(t => t.Token));
            Assert.Equal(e.SourceIds, a.Source.Select(t => t.Id));
            Assert.Equal(e.TargetTokens, a.Target.Select(t => t.Token));
            Assert.Equal(e.TargetIds, a.Target.Select(t => t.Id));
            Assert.Equal(e.AttrPosStart, a.AttrPosStart);
            Assert.Equal(e.AttrPosEnd, a.AttrPosEnd);
            if (e.Raw is { } raw)
                ColumnTolerance.Check(raw.Source, raw.Target, a.SourceAttributions, a.TargetAttributions, 1e-3, $"{caseName} raw");
            var aggregated = a.Aggregate();
            ColumnTolerance.Check(e.Aggregated!.Source, e.Aggregated.Target, aggregated.SourceAttributions,
                aggregated.TargetAttributions, 1e-3, $"{caseName} aggregated");
            foreach (var (part, ours) in new[] { (e.Raw, a), (e.Aggregated, aggregated) })
                foreach (var (name, reference) in part?.SequenceScores ?? [])
                {
                    Assert.True(ours.SequenceScores.ContainsKey(name), $"{caseName}: missing sequence score {name}");
                    ColumnTolerance.Check(null, reference, null, ours.SequenceScores[name], 1e-3, $"{caseName} {name}");
                }
            if (e.Raw is { } r) Assert.Equal(r.SequenceScores!.Keys.Order(), a.SequenceScores.Keys.Order());
            var scores = e.DummyStepScores ?? e.Aggregated.StepScores;
            foreach (var (name, values) in scores)
            {
                Assert.True(a.StepScores.ContainsKey(name), $"missing step score {name}");
                var ours = a.StepScores[name].Data;
                Assert.Equal(values.Length, ours.Length);
                // A raw logit is a dot product: its rounding error scales with the logits' magnitude, not with its own
                // value (a logit near 0 comes from cancellation), so logits are compared relative to the largest of
                // the sequence, as the hf/ logits are per row. Every other score is relative to itself.
                var scale = name == "logit" ? values.Max(Math.Abs) : 0;
                for (var k = 0; k < values.Length; k++)
                {
                    var expectedValue = InOurUnits(name, values[k]);
                    Assert.True(Math.Abs(expectedValue - ours[k]) <= 1e-4 * Math.Max(Math.Abs(expectedValue), scale) + 1e-9,
                        $"{caseName} step score {name}[{k}]: expected {expectedValue:R} (Inseq {values[k]:R}), got {ours[k]:R}");
                }
            }
        }
    }
}
