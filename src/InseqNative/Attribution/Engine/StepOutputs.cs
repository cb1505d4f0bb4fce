using InseqNative.Outputs;

namespace InseqNative.Attribution;

/// <summary>
/// Per-step outputs (Inseq's output_step_attributions): for every sequence and step, the step's attributions over
/// the prefix it saw ([1, prefix, ...extra]), its step scores, prefix and predicted token. Inseq batches a step
/// across sequences; our sequences have their own step counts, so each step output holds one sequence (batch 1),
/// sequences in order.
/// </summary>
static class StepOutputs
{
    public static IReadOnlyList<FeatureAttributionStepOutput> From(IReadOnlyList<FeatureAttributionSequenceOutput> sequences)
    {
        var result = new List<FeatureAttributionStepOutput>();
        foreach (var seq in sequences)
        {
            for (var k = 0; k < seq.StepCount; k++)
            {
                var position = seq.AttrPosStart + k;
                var attributions = seq.TargetAttributions is { } a ? StepSlice(a, k, position) : null;
                var scores = seq.StepScores.Select(p => new KeyValuePair<string, Tensor>(p.Key, new Tensor([p.Value.Data[k]], 1)));
                result.Add(new FeatureAttributionStepOutput(null, attributions, scores, null,
                    [seq.Source], [seq.Target.Take(position).ToArray()], [[seq.Target[position]]]));
            }
        }
        return result;
    }

    /// <summary>[T, steps, ...inner] → [1, prefix, ...inner] for one step.</summary>
    static Tensor StepSlice(Tensor a, int step, int prefix)
    {
        var inner = 1;
        for (var d = 2; d < a.Rank; d++) inner *= a.Shape[d];
        var k = a.Dim(1);
        var data = new float[prefix * inner];
        for (var j = 0; j < prefix; j++) Array.Copy(a.Data, (j * k + step) * inner, data, j * inner, inner);
        return new Tensor(data, [1, prefix, .. a.Shape[2..]]);
    }
}
