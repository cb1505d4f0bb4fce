namespace InseqNative.Attribution.Methods;

/// <summary>
/// gradient_shap (Captum's GradientShap): for each of n_samples draws, a noisy input x̃ = x + N(0, stdevs²) and a
/// point b + α (x̃ − b) with α ~ U(0, 1); the attribution is the mean of ∂f/∂x at the point ⊙ (x̃ − b).
/// Seeded: the same seed gives the same numbers (our generator, not torch's).
/// </summary>
public sealed class GradientShapMethod : AttributionMethod
{
    public override string Id => "gradient_shap";
    public override AttributionGranularity Granularity => AttributionGranularity.Granular;
    public override Type OptionsType => typeof(GradientShapOptions);
    public override MethodOptions DefaultOptions => new GradientShapOptions();

    public override MethodResult Attribute(MethodInput input)
    {
        var options = OptionsAs<GradientShapOptions>(input);
        if (options.Samples < 1) throw new InvalidInputException($"n_samples must be at least 1, got {options.Samples}");
        if (options.StdDev < 0) throw new InvalidInputException($"stdevs must be >= 0, got {options.StdDev}");
        var rng = new Random(options.Seed);
        var x = input.InputEmbeddings.Data;
        var b = input.BaselineEmbeddings.Data;
        var n = x.Length;
        // Rows after the attributed ones (an encoder-decoder's target without attribute_target) are fixed inputs:
        // no noise, and their baseline is the input itself.
        var noisy = input.Plan.AttributedRows * input.Model.Config.HiddenSize;
        var deltas = new float[options.Samples * n]; // x̃ − b per sample
        var points = new float[options.Samples * n];
        for (var s = 0; s < options.Samples; s++)
        {
            var alpha = (float)rng.NextDouble();
            for (var e = 0; e < n; e++)
            {
                var xt = x[e] + (options.StdDev > 0 && e < noisy ? (float)(Normal(rng) * options.StdDev) : 0f);
                deltas[s * n + e] = xt - b[e];
                points[s * n + e] = b[e] + alpha * (xt - b[e]);
            }
        }
        var c = input.Model.Config.HiddenSize;
        var scale = 1f / options.Samples;
        var length = input.Plan.InputLength;
        if (input.ReduceHidden)
            return HiddenReduced.Result(HiddenReduced.Run(input, new Tensor(points, options.Samples, length, c),
                Enumerable.Repeat(scale, options.Samples).ToArray(), new Tensor(deltas, options.Samples, length, c), null));
        var output = GranularBuffer.New(input.Plan, c);
        input.Runner.AccumulatedGradients(new Tensor(points, options.Samples, length, c), input.Objective,
            Enumerable.Repeat(scale, options.Samples).ToArray(), new Tensor(deltas, options.Samples, length, c), output);
        return MethodResult.Of(output);
    }

    static double Normal(Random rng)
    {
        var u1 = 1.0 - rng.NextDouble();
        var u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
