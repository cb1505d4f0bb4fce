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
    public void Attributing_an_encoder_decoder_model_is_a_clear_unsupported_error_for_now()
    {
        var e = Assert.Throws<UnsupportedModelException>(() =>
            InseqNative.Inseq.LoadModel(InseqNative.Tests.Loading.FixturePaths.Models("tiny-marian"), "saliency", Device.Cpu));
        Assert.Contains("encoder-decoder", e.Message);
    }
}
