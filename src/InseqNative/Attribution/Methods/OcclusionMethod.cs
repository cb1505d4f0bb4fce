namespace InseqNative.Attribution.Methods;

/// <summary>
/// occlusion (Captum's Occlusion with a (1, hidden) window, as Inseq configures it): per token j and step k,
/// |f_k(x) − f_k(x with token j's embedding replaced by its baseline embedding)|. Each occluded sequence is one
/// forward that yields every step's score (DESIGN §5.4); they run as batches.
/// </summary>
public sealed class OcclusionMethod : AttributionMethod
{
    public override string Id => "occlusion";
    public override AttributionGranularity Granularity => AttributionGranularity.Coarse;

    public override MethodResult Attribute(MethodInput input)
    {
        var plan = input.Plan;
        int t = plan.InputLength, c = input.Model.Config.HiddenSize, k = plan.Steps;
        // Only attributed rows some step can see need occluding: the source (encoder-decoder), then the target up to
        // the last logits position (with attribute_target, or always for decoder-only models).
        var occluded = Math.Min(plan.VisibleRows(k - 1), plan.AttributedRows);
        var rows = new float[(occluded + 1) * t * c];
        var x = input.InputEmbeddings.Data;
        var b = input.BaselineEmbeddings.Data;
        for (var r = 0; r <= occluded; r++)
        {
            Array.Copy(x, 0, rows, (long)r * t * c, t * c);
            if (r > 0) Array.Copy(b, (r - 1) * c, rows, ((long)r * t + (r - 1)) * c, c);
        }
        var scores = input.Runner.Scores(new Tensor(rows, occluded + 1, t, c), input.Objective);
        var output = Tensor.Zeros(t, k);
        for (var s = 0; s < k; s++)
            for (var j = 0; j < t; j++)
                output[j, s] = j < occluded ? (float)Math.Abs(scores[0, s] - scores[j + 1, s]) : 0f;
        return MethodResult.Of(output);
    }
}

/// <summary>dummy: no attributions; step scores only.</summary>
public sealed class DummyMethod : AttributionMethod
{
    public override string Id => "dummy";
    public override AttributionGranularity Granularity => AttributionGranularity.None;
    public override bool UsesAttributedFunction => false;
    public override MethodResult Attribute(MethodInput input) => MethodResult.Of(null);
}
