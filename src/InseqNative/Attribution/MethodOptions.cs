namespace InseqNative.Attribution;

/// <summary>Base of the per-method option records (Inseq's method-specific attribution arguments).</summary>
public abstract record MethodOptions
{
    /// <summary>The arguments as Inseq names them, for the output's info["attribution_args"].</summary>
    public abstract IReadOnlyDictionary<string, object?> ToInseqArgs();
}

public sealed record NoOptions : MethodOptions
{
    public static NoOptions Instance { get; } = new();
    public override IReadOnlyDictionary<string, object?> ToInseqArgs() => new Dictionary<string, object?>();
}

/// <summary>integrated_gradients / layer_integrated_gradients (Captum's names: n_steps, method, internal_batch_size,
/// return_convergence_delta).</summary>
public sealed record IntegratedGradientsOptions : MethodOptions
{
    public int Steps { get; init; } = 50;
    public IntegrationRule Rule { get; init; } = IntegrationRule.GaussLegendre;
    /// <summary>Interpolated inputs forwarded together (null: as many as the memory budget allows).</summary>
    public int? InternalBatchSize { get; init; }
    /// <summary>Report Σ attributions − (f(x) − f(baseline)) per step as the "deltas" step score.</summary>
    public bool ReturnConvergenceDelta { get; init; }

    public override IReadOnlyDictionary<string, object?> ToInseqArgs() => new Dictionary<string, object?>
    {
        ["n_steps"] = Steps, ["method"] = QuadratureRule.Name(Rule),
        ["internal_batch_size"] = InternalBatchSize, ["return_convergence_delta"] = ReturnConvergenceDelta,
    };
}

/// <summary>gradient_shap: n_samples noisy samples (stdevs: Gaussian noise on the input), seeded.</summary>
public sealed record GradientShapOptions : MethodOptions
{
    public int Samples { get; init; } = 5;
    public float StdDev { get; init; }
    public int Seed { get; init; } = 42;

    public override IReadOnlyDictionary<string, object?> ToInseqArgs() => new Dictionary<string, object?>
    {
        ["n_samples"] = Samples, ["stdevs"] = StdDev, ["seed"] = Seed,
    };
}

/// <summary>layer_gradient_x_activation / layer_integrated_gradients: the layer by Hugging Face module name,
/// e.g. "transformer.h.3" (block output) or "transformer.wte" (the token embedding layer).</summary>
public sealed record LayerOptions : MethodOptions
{
    public string Layer { get; init; } = "transformer.wte";
    public IntegratedGradientsOptions Integration { get; init; } = new();

    public override IReadOnlyDictionary<string, object?> ToInseqArgs()
    {
        var d = new Dictionary<string, object?>(Integration.ToInseqArgs()) { ["layer"] = Layer };
        return d;
    }
}
