namespace InseqNative.Outputs;

/// <summary>Which Inseq sequence-output class an output is; decides its default aggregation and its JSON class name.</summary>
public enum SequenceOutputKind
{
    /// <summary><c>FeatureAttributionSequenceOutput</c>: already aggregated, [tokens, steps]; default aggregation is none.</summary>
    Base,

    /// <summary><c>GranularFeatureAttributionSequenceOutput</c> (gradient methods): [tokens, steps, hidden].</summary>
    Granular,

    /// <summary><c>MultiDimensionalFeatureAttributionSequenceOutput</c> (attention): [tokens, steps, layers, heads].</summary>
    MultiDimensional,

    /// <summary><c>CoarseFeatureAttributionSequenceOutput</c> (occlusion and other token-level methods): [tokens, steps].</summary>
    Coarse,
}

/// <summary>Inseq's module and class names for the output classes.</summary>
public static class InseqClassNames
{
    public const string AttributionModule = "inseq.data.attribution";
    public const string TypingModule = "inseq.utils.typing";
    public const string Output = "FeatureAttributionOutput";
    public const string StepOutput = "FeatureAttributionStepOutput";
    public const string Token = "TokenWithId";

    public static string Of(SequenceOutputKind kind) => kind switch
    {
        SequenceOutputKind.Granular => "GranularFeatureAttributionSequenceOutput",
        SequenceOutputKind.MultiDimensional => "MultiDimensionalFeatureAttributionSequenceOutput",
        SequenceOutputKind.Coarse => "CoarseFeatureAttributionSequenceOutput",
        _ => "FeatureAttributionSequenceOutput",
    };

    public static bool TryParse(string className, out SequenceOutputKind kind)
    {
        foreach (var k in Enum.GetValues<SequenceOutputKind>())
            if (Of(k) == className)
            {
                kind = k;
                return true;
            }
        kind = default;
        return false;
    }

    public static IEnumerable<string> SequenceClasses => Enum.GetValues<SequenceOutputKind>().Select(Of);
}
