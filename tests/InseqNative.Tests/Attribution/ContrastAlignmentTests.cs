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
