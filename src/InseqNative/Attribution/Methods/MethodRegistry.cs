namespace InseqNative.Attribution.Methods;

/// <summary>Attribution methods by Inseq id.</summary>
public static class MethodRegistry
{
    static readonly Func<AttributionMethod>[] Factories =
    [
        () => new SaliencyMethod(), () => new InputXGradientMethod(), () => new IntegratedGradientsMethod(),
        () => new GradientShapMethod(), () => new DeepLiftMethod(), () => new AttentionMethod(),
        () => new OcclusionMethod(), () => new LayerGradientXActivationMethod(),
        () => new LayerIntegratedGradientsMethod(), () => new DummyMethod(),
    ];

    public static IReadOnlyList<string> Ids { get; } = Factories.Select(f => f().Id).ToArray();

    public static AttributionMethod Get(string id)
    {
        foreach (var f in Factories)
        {
            var m = f();
            if (m.Id == id) return m;
        }
        throw new InvalidInputException($"unknown attribution method '{id}'; known: {string.Join(", ", Ids)}");
    }
}
