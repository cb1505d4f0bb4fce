namespace InseqNative.Attribution.Methods;

/// <summary>
/// The gradient methods' aggregated-output path (<see cref="MethodInput.ReduceHidden"/>): the method's gradient sum is
/// accumulated and reduced to L2 norms over the hidden units by the runner — inside the backward where it can —
/// so the granular [rows, steps, hidden] tensor never reaches the host. The engine then normalizes as the default
/// aggregation does.
/// </summary>
static class HiddenReduced
{
    /// <summary>Σ_r w_r ∂f/∂x(inputs_r) (⊙ rowMultipliers_r), then ⊙ <paramref name="multiplier"/> [rows × hidden]
    /// (null: none), reduced per (row, step) cell.</summary>
    public static HiddenReduction Run(MethodInput input, Tensor inputs, float[] rowWeights, Tensor? rowMultipliers,
        float[]? multiplier, bool withSums = false, int point = 0)
    {
        int rows = input.Plan.InputLength, c = input.Model.Config.HiddenSize;
        var reduction = new HiddenReduction(rows, input.Plan.Steps, multiplier is null ? null : new Tensor(multiplier, rows, c), withSums);
        input.Runner.AccumulatedGradientNorms(inputs, input.Objective, rowWeights, rowMultipliers, reduction, point);
        return reduction;
    }

    public static MethodResult Result(HiddenReduction reduction, IReadOnlyDictionary<string, float[]>? extra = null) =>
        new(new Tensor(reduction.L2, reduction.Rows, reduction.Steps), extra ?? new Dictionary<string, float[]>())
        {
            HiddenReduced = true,
        };
}
