namespace InseqNative.Attribution.Methods;

/// <summary>Shared plumbing of the methods that read one gradient per step: writes or accumulates a step's
/// gradient rows [prefix, hidden] into the [T, steps, hidden] output, with tight span loops.</summary>
static class GranularBuffer
{
    public static Tensor New(SequencePlan plan, int hidden) => Tensor.Zeros(plan.InputLength, plan.Steps, hidden);

    static Span<float> Cell(Tensor output, int j, int step)
    {
        int k = output.Dim(1), c = output.Dim(2);
        return output.Data.AsSpan((j * k + step) * c, c);
    }

    /// <summary>out[j, k] = |g[j]|.</summary>
    public static void Abs(Tensor output, int step, ReadOnlySpan<float> grad, int prefix)
    {
        var c = output.Dim(2);
        for (var j = 0; j < prefix; j++)
        {
            var dst = Cell(output, j, step);
            var src = grad.Slice(j * c, c);
            for (var h = 0; h < c; h++) dst[h] = Math.Abs(src[h]);
        }
    }

    /// <summary>out[j, k] = m[j] ⊙ g[j] (m: [T, hidden], e.g. the input or input − baseline).</summary>
    public static void Product(Tensor output, int step, ReadOnlySpan<float> grad, int prefix, ReadOnlySpan<float> m)
    {
        var c = output.Dim(2);
        for (var j = 0; j < prefix; j++)
        {
            var dst = Cell(output, j, step);
            var src = grad.Slice(j * c, c);
            var mul = m.Slice(j * c, c);
            for (var h = 0; h < c; h++) dst[h] = mul[h] * src[h];
        }
    }

    /// <summary>out[j, k] += w · g[j] (· m[j] when given).</summary>
    public static void Accumulate(Tensor output, int step, ReadOnlySpan<float> grad, int prefix, float w,
        ReadOnlySpan<float> m = default)
    {
        var c = output.Dim(2);
        for (var j = 0; j < prefix; j++)
        {
            var dst = Cell(output, j, step);
            var src = grad.Slice(j * c, c);
            if (m.IsEmpty)
                for (var h = 0; h < c; h++) dst[h] += w * src[h];
            else
            {
                var mul = m.Slice(j * c, c);
                for (var h = 0; h < c; h++) dst[h] += w * src[h] * mul[h];
            }
        }
    }

    /// <summary>Quadrature weights as the float row weights of StepRunner.AccumulatedGradients (rounded as the
    /// host loop always rounded them).</summary>
    public static float[] RowWeights(double[] weights) => Array.ConvertAll(weights, w => (float)w);

    /// <summary>Multiplies every step's rows by m[j] (IG's multiply_by_inputs).</summary>
    public static void MultiplyRows(Tensor output, ReadOnlySpan<float> m)
    {
        int t = output.Dim(0), k = output.Dim(1), c = output.Dim(2);
        for (var j = 0; j < t; j++)
            for (var s = 0; s < k; s++)
            {
                var dst = Cell(output, j, s);
                var mul = m.Slice(j * c, c);
                for (var h = 0; h < c; h++) dst[h] *= mul[h];
            }
    }

    public static float[] Difference(Tensor a, Tensor b)
    {
        var d = new float[a.Data.Length];
        for (var i = 0; i < d.Length; i++) d[i] = a.Data[i] - b.Data[i];
        return d;
    }
}

/// <summary>saliency: |∂f/∂x| (Captum's Saliency with abs=True).</summary>
public sealed class SaliencyMethod : AttributionMethod
{
    public override string Id => "saliency";
    public override AttributionGranularity Granularity => AttributionGranularity.Granular;

    public override MethodResult Attribute(MethodInput input)
    {
        // ‖|g|‖₂ = ‖g‖₂: the aggregated path needs no abs.
        if (input.ReduceHidden) return HiddenReduced.Result(HiddenReduced.Run(input, input.InputEmbeddings, [1f], null, null));
        var output = GranularBuffer.New(input.Plan, input.Model.Config.HiddenSize);
        input.Runner.Gradients(input.InputEmbeddings, input.Objective, (_, step, grad, prefix, _) =>
            GranularBuffer.Abs(output, step, grad, prefix));
        return MethodResult.Of(output);
    }
}

/// <summary>input_x_gradient: x ⊙ ∂f/∂x (signed).</summary>
public sealed class InputXGradientMethod : AttributionMethod
{
    public override string Id => "input_x_gradient";
    public override AttributionGranularity Granularity => AttributionGranularity.Granular;

    public override MethodResult Attribute(MethodInput input)
    {
        var x = input.InputEmbeddings.Data;
        if (input.ReduceHidden) return HiddenReduced.Result(HiddenReduced.Run(input, input.InputEmbeddings, [1f], null, x));
        var output = GranularBuffer.New(input.Plan, input.Model.Config.HiddenSize);
        input.Runner.Gradients(input.InputEmbeddings, input.Objective, (_, step, grad, prefix, _) =>
            GranularBuffer.Product(output, step, grad, prefix, x));
        return MethodResult.Of(output);
    }
}

/// <summary>
/// deeplift as Captum computes it on a Hugging Face GPT-2: Captum's DeepLift overrides the gradient only of the
/// nn.Module non-linearities it supports (ReLU, ELU, Sigmoid, Tanh, Softmax modules, ...); GPT-2's GELU
/// (NewGELUActivation), LayerNorm and functional softmax are not among them, so the multipliers are plain
/// gradients at the input and the attribution is (x − baseline) ⊙ ∂f/∂x.
/// </summary>
public sealed class DeepLiftMethod : AttributionMethod
{
    public override string Id => "deeplift";
    public override AttributionGranularity Granularity => AttributionGranularity.Granular;

    public override MethodResult Attribute(MethodInput input)
    {
        var delta = GranularBuffer.Difference(input.InputEmbeddings, input.BaselineEmbeddings);
        if (input.ReduceHidden) return HiddenReduced.Result(HiddenReduced.Run(input, input.InputEmbeddings, [1f], null, delta));
        var output = GranularBuffer.New(input.Plan, input.Model.Config.HiddenSize);
        input.Runner.Gradients(input.InputEmbeddings, input.Objective, (_, step, grad, prefix, _) =>
            GranularBuffer.Product(output, step, grad, prefix, delta));
        return MethodResult.Of(output);
    }
}
