namespace InseqNative.Attribution;

/// <summary>
/// How the engine computes the per-step quantities (DESIGN §5). Both give the same numbers (tested to 1e-5).
/// </summary>
public enum AttributionStrategy
{
    /// <summary>Fused where the case allows it, else Stepwise; the output's info says which ran and why.</summary>
    Auto,
    /// <summary>One teacher-forced forward shared by all steps, every step's backward as one batch of cotangents.</summary>
    Fused,
    /// <summary>Inseq's algorithm: one forward (and backward) over the prefix for every generated token.</summary>
    Stepwise,
}
