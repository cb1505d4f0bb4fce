namespace InseqNative.Outputs.Serialization;

/// <summary>Precision of saved scores (Inseq's <c>scores_precision</c>). Loading always gives float32.</summary>
public enum ScoresPrecision
{
    Float32,

    /// <summary>IEEE half: halves file size; values round to 11 significant bits (relative error ≤ 2⁻¹¹).</summary>
    Float16,
}
