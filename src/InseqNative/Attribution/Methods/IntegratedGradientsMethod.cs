namespace InseqNative.Attribution.Methods;

/// <summary>
/// integrated_gradients (Captum's IntegratedGradients, multiply_by_inputs): (x − b) ⊙ Σ_i w_i ∂f/∂x(b + α_i (x − b)).
/// The n_steps interpolated inputs are one batch of forwards, each shared by all steps (DESIGN §5.3); the whole
/// prefix (prompt and generated tokens) is interpolated together, as Inseq does.
/// </summary>
public sealed class IntegratedGradientsMethod : AttributionMethod
{
    public override string Id => "integrated_gradients";
    public override AttributionGranularity Granularity => AttributionGranularity.Granular;
    public override Type OptionsType => typeof(IntegratedGradientsOptions);
    public override MethodOptions DefaultOptions => new IntegratedGradientsOptions();

    public override MethodResult Attribute(MethodInput input)
    {
        var options = OptionsAs<IntegratedGradientsOptions>(input);
        var (alphas, weights) = QuadratureRule.NodesAndWeights(options.Rule, options.Steps);
        var x = input.InputEmbeddings;
        var b = input.BaselineEmbeddings;
        var path = Interpolate(x, b, alphas);
        var c = input.Model.Config.HiddenSize;
        if (input.ReduceHidden)
        {
            var reduction = HiddenReduced.Run(input, path, GranularBuffer.RowWeights(weights), null,
                GranularBuffer.Difference(x, b), withSums: options.ReturnConvergenceDelta);
            var reducedExtra = new Dictionary<string, float[]>();
            if (options.ReturnConvergenceDelta)
                reducedExtra["deltas"] = ConvergenceDeltas(input, (j, s) => reduction.Sums![j * input.Plan.Steps + s]);
            return HiddenReduced.Result(reduction, reducedExtra);
        }
        var accumulated = GranularBuffer.New(input.Plan, c);
        // Σ_i w_i ∂f/∂x(path_i), summed where the gradients are computed (DESIGN §5.6).
        input.Runner.AccumulatedGradients(path, input.Objective, GranularBuffer.RowWeights(weights), null, accumulated);
        // multiply_by_inputs: scale the path integral by (x − b).
        GranularBuffer.MultiplyRows(accumulated, GranularBuffer.Difference(x, b));
        var extra = new Dictionary<string, float[]>();
        if (options.ReturnConvergenceDelta)
            extra["deltas"] = ConvergenceDeltas(input, accumulated);
        return new MethodResult(accumulated, extra);
    }

    /// <summary>Σ attributions − (f(x) − f(b)) per step: how far the Riemann/Gauss sum is from completeness.</summary>
    internal static float[] ConvergenceDeltas(MethodInput input, Tensor attributions)
    {
        var c = attributions.Dim(2);
        return ConvergenceDeltas(input, (j, s) =>
        {
            double sum = 0;
            foreach (var v in attributions.Slice(j, s)[..c]) sum += v;
            return sum;
        });
    }

    /// <summary>The same from each (row, step) cell's sum over the hidden units.</summary>
    internal static float[] ConvergenceDeltas(MethodInput input, Func<int, int, double> cellSum)
    {
        var ends = Concat(input.InputEmbeddings, input.BaselineEmbeddings);
        var scores = input.Runner.Scores(ends, input.Objective);
        var k = input.Plan.Steps;
        var deltas = new float[k];
        for (var s = 0; s < k; s++)
        {
            double sum = 0;
            var prefix = input.Plan.VisibleRows(s);
            for (var j = 0; j < prefix; j++) sum += cellSum(j, s);
            deltas[s] = (float)(sum - (scores[0, s] - scores[1, s]));
        }
        return deltas;
    }

    internal static Tensor Interpolate(Tensor x, Tensor b, double[] alphas)
    {
        var n = x.Data.Length;
        var data = new float[alphas.Length * n];
        for (var i = 0; i < alphas.Length; i++)
        {
            var a = (float)alphas[i];
            for (var e = 0; e < n; e++) data[i * n + e] = b.Data[e] + a * (x.Data[e] - b.Data[e]);
        }
        return new Tensor(data, alphas.Length, x.Dim(1), x.Dim(2));
    }

    internal static Tensor Concat(Tensor a, Tensor b) =>
        new([.. a.Data, .. b.Data], a.Dim(0) + b.Dim(0), a.Dim(1), a.Dim(2));
}
