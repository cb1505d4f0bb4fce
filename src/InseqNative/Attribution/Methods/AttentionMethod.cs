namespace InseqNative.Attribution.Methods;

/// <summary>
/// attention: the attention weights of the query that predicts each step, over every key, for every layer and
/// head — [T, steps, layers, heads]. A final-step method: one forward over the full forced sequence gives every
/// step (exactly what Inseq reads). Weights that are exactly 0 become NaN, as in Inseq's output.
/// </summary>
public sealed class AttentionMethod : AttributionMethod
{
    public override string Id => "attention";
    public override AttributionGranularity Granularity => AttributionGranularity.MultiDimensional;
    public override bool IsFinalStep => true;
    public override bool UsesAttributedFunction => false;

    public override MethodResult Attribute(MethodInput input)
    {
        var plan = input.Plan;
        int layers = input.Model.Config.NumLayers, heads = input.Model.Config.NumHeads, t = plan.Length, k = plan.Steps;
        var rows = input.Runner.StepAttention(input.InputEmbeddings, plan.StepPositions()); // [k][L*H*T]
        var output = Tensor.Zeros(t, k, layers, heads);
        for (var s = 0; s < k; s++)
            for (var l = 0; l < layers; l++)
                for (var h = 0; h < heads; h++)
                    for (var j = 0; j < t; j++)
                    {
                        var w = rows[s][(l * heads + h) * t + j];
                        output[j, s, l, h] = w == 0f ? float.NaN : w;
                    }
        return MethodResult.Of(output);
    }
}
