namespace InseqNative.Attribution.Methods;

/// <summary>Where a Hugging Face module name lands in our graph: point 0 = the token embedding layer's output
/// ("transformer.wte"; Llama: "model.embed_tokens"), point l + 1 = the output of block l ("transformer.h.l";
/// Llama: "model.layers.l").</summary>
public static class LayerPoints
{
    public static int Resolve(TransformerModel model, string layer)
    {
        var name = layer.StartsWith("transformer.", StringComparison.Ordinal) ? layer["transformer.".Length..]
            : layer.StartsWith("model.", StringComparison.Ordinal) ? layer["model.".Length..] : layer;
        if (name is "wte" or "embed_tokens") return 0;
        var index = name.StartsWith("h.", StringComparison.Ordinal) ? name[2..]
            : name.StartsWith("layers.", StringComparison.Ordinal) ? name["layers.".Length..] : null;
        if (index is not null && int.TryParse(index, out var l) && l >= 0 && l < model.Config.NumLayers)
            return l + 1;
        throw new InvalidInputException(
            $"unknown or unsupported layer '{layer}': use transformer.wte / model.embed_tokens (token embeddings) or " +
            $"transformer.h.N / model.layers.N with 0 <= N < {model.Config.NumLayers} (block outputs)");
    }

    /// <summary>Activations at a point for one input row of token embeddings: [1, T, hidden].</summary>
    public static Tensor Activations(TransformerModel model, Tensor embeddings, int point)
    {
        if (point == 0) return embeddings;
        using var ctx = model.CreateContext(1, embeddings.Dim(1), 1);
        ctx.ForwardEmbeddings(embeddings, null, LogitsMode.None, keepForBackward: true);
        return ctx.HiddenState(point);
    }
}

/// <summary>Layer methods: granular attributions at a layer's output, configured by <see cref="LayerOptions"/>.</summary>
public abstract class LayerMethod : AttributionMethod
{
    public override AttributionGranularity Granularity => AttributionGranularity.Granular;
    public override Type OptionsType => typeof(LayerOptions);
    public override MethodOptions DefaultOptions => new LayerOptions();

    /// <summary>The options and the point of the layer they name.</summary>
    protected static (LayerOptions Options, int Point) Layer(MethodInput input)
    {
        var options = OptionsAs<LayerOptions>(input);
        if (input.Plan.IsEncoderDecoder)
            throw new InvalidInputException(
                "layer methods (layer_gradient_x_activation, layer_integrated_gradients) are not supported for " +
                "encoder-decoder models yet: use a method on the input embeddings");
        return (options, LayerPoints.Resolve(input.Model, options.Layer));
    }
}

/// <summary>layer_gradient_x_activation (Captum's LayerGradientXActivation): a ⊙ ∂f/∂a at the layer's output.</summary>
public sealed class LayerGradientXActivationMethod : LayerMethod
{
    public override string Id => "layer_gradient_x_activation";

    public override MethodResult Attribute(MethodInput input)
    {
        var (_, point) = Layer(input);
        var a = LayerPoints.Activations(input.Model, input.InputEmbeddings, point);
        var c = input.Model.Config.HiddenSize;
        var output = GranularBuffer.New(input.Plan, c);
        input.Runner.Gradients(a, input.Objective, (_, step, grad, prefix, _) =>
            GranularBuffer.Product(output, step, grad, prefix, a.Data), point);
        return MethodResult.Of(output);
    }
}

/// <summary>layer_integrated_gradients (Captum's LayerIntegratedGradients): integrated gradients along the straight
/// path between the layer outputs of the baseline and of the input.</summary>
public sealed class LayerIntegratedGradientsMethod : LayerMethod
{
    public override string Id => "layer_integrated_gradients";

    public override MethodResult Attribute(MethodInput input)
    {
        var (options, point) = Layer(input);
        var ig = options.Integration;
        var (alphas, weights) = QuadratureRule.NodesAndWeights(ig.Rule, ig.Steps);
        var a = LayerPoints.Activations(input.Model, input.InputEmbeddings, point);
        var ab = LayerPoints.Activations(input.Model, input.BaselineEmbeddings, point);
        var path = IntegratedGradientsMethod.Interpolate(a, ab, alphas);
        var c = input.Model.Config.HiddenSize;
        var output = GranularBuffer.New(input.Plan, c);
        input.Runner.AccumulatedGradients(path, input.Objective, GranularBuffer.RowWeights(weights), null, output, point);
        GranularBuffer.MultiplyRows(output, GranularBuffer.Difference(a, ab));
        return MethodResult.Of(output);
    }
}
