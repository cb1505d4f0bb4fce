using InseqNative.Attribution;

namespace InseqNative.Tests.Attribution;

public class ContrastAlignmentTests
{
    [Fact]
    public void Missing_pairs_are_filled_one_to_one()
    {
        Assert.Equal([0, 1, 2, 3], PlanBuilder.FilledAlignment(null, 4, 4, 0));
        Assert.Equal([0, 1, 3, 3], PlanBuilder.FilledAlignment([(2, 3)], 4, 5, 0));
    }

    [Fact]
    public void Several_pairs_for_one_position_prefer_an_unused_contrast_position()
    {
        // Position 2 pairs with 2 and 3; 2 is not used yet, so it wins; position 3 pairs with 2 (used) and 4.
        Assert.Equal([0, 1, 2, 4], PlanBuilder.FilledAlignment([(2, 3), (2, 2), (3, 2), (3, 4)], 4, 5, 0));
    }

    [Fact]
    public void Pairs_outside_the_sequences_are_errors()
    {
        var e = Assert.Throws<InvalidInputException>(() => PlanBuilder.FilledAlignment([(1, 9)], 4, 5, 0));
        Assert.Contains("(1, 9)", e.Message);
    }
}

public class EncoderDecoderAttributionRefusalTests
{
    [Fact]
    public void Layer_methods_on_an_encoder_decoder_model_are_a_clear_error()
    {
        using var model = InseqNative.Inseq.LoadModel(InseqNative.Tests.Loading.FixturePaths.Models("tiny-marian"),
            "layer_gradient_x_activation", Device.Cpu);
        var e = Assert.Throws<InvalidInputException>(() => model.Attribute("The house.", "Das Haus."));
        Assert.Contains("encoder-decoder", e.Message);
    }
}

/// <summary>Inseq's contrast_sources (encoder-decoder): the contrast distribution comes from a forward of the contrast
/// source with the original target prefix; as an attributed function the original forward is kept unless
/// contrast_force_inputs.</summary>
public class ContrastSourceTests
{
    const string Source = "The house is small.", Target = "Das Haus ist klein.", Other = "The garden is large.";

    [Fact]
    public void Contrast_prob_diff_reads_the_contrast_source_forward()
    {
        using var model = InseqNative.Inseq.LoadModel(InseqNative.Tests.Loading.FixturePaths.Models("tiny-marian"), "dummy", Device.Cpu);
        var options = new AttributeOptions { StepScores = ["probability", "contrast_prob_diff", "contrast_prob"], ContrastSources = [Other] };
        var seq = model.Attribute(Source, Target, options).SequenceAttributions[0];
        var other = model.Attribute(Other, Target, new AttributeOptions { StepScores = ["probability"] }).SequenceAttributions[0];
        var p = seq.StepScores["probability"].Data;
        var q = other.StepScores["probability"].Data;
        var diff = seq.StepScores["contrast_prob_diff"].Data;
        Assert.Equal(q, seq.StepScores["contrast_prob"].Data);
        for (var k = 0; k < p.Length; k++) Assert.Equal(p[k] - q[k], diff[k], 1e-6f);
        Assert.Contains(diff, d => Math.Abs(d) > 1e-4); // the sources really differ
        Assert.DoesNotContain(seq.Target, t => t.Id == -1); // same target ids: no "c → y" tokens
    }

    [Fact]
    public void As_attributed_function_the_original_forward_is_kept_unless_forced()
    {
        using var model = InseqNative.Inseq.LoadModel(InseqNative.Tests.Loading.FixturePaths.Models("tiny-marian"), "saliency", Device.Cpu);
        var kept = model.Attribute(Source, Target, new AttributeOptions { AttributedFn = "contrast_prob_diff", ContrastSources = [Other] });
        // Same forward, same target ids: p − p = 0 everywhere, so every gradient vanishes.
        Assert.All(kept.SequenceAttributions[0].SourceAttributions!.Data, v => Assert.Equal(0f, v));
        var forced = model.Attribute(Source, Target, new AttributeOptions
        {
            AttributedFn = "contrast_prob_diff", ContrastSources = [Other], ContrastForceInputs = true,
        });
        Assert.Contains(forced.SequenceAttributions[0].SourceAttributions!.Data, v => v != 0f);
        var plain = model.Attribute(Source, Target).SequenceAttributions[0].SourceAttributions!.Data;
        // The contrast term is a constant for the gradient: the same gradients as probability alone.
        Assert.Equal(plain, forced.SequenceAttributions[0].SourceAttributions!.Data);
    }

    [Fact]
    public void Contrast_sources_on_a_decoder_only_model_are_a_clear_error()
    {
        using var model = InseqNative.Inseq.LoadModel(InseqNative.Tests.Loading.FixturePaths.Models("tiny-gpt2"), "saliency", Device.Cpu);
        var e = Assert.Throws<InvalidInputException>(() =>
            model.Attribute("Hello", "Hello world", new AttributeOptions { ContrastSources = ["Bye"] }));
        Assert.Contains("encoder-decoder", e.Message);
    }
}
