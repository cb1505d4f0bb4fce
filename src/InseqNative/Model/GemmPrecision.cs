namespace InseqNative;

/// <summary>
/// The arithmetic of a model's matrix products. <see cref="Fp32"/> is the reference every tolerance is stated against;
/// <see cref="Tf32"/> and <see cref="Bf16"/> are opt-in CUDA tensor-core modes: weights and activations stay fp32 in
/// memory, the GEMM rounds its operands to TF32 (10-bit mantissa, ~1e-3 relative) or bf16 (7-bit mantissa, ~1e-2
/// relative) and accumulates in fp32. Everything outside the GEMMs (norms, softmax, attention, step functions) stays
/// fp32. The CPU backend always computes fp32.
/// </summary>
public enum GemmPrecision { Fp32, Tf32, Bf16 }

public static class GemmPrecisionExtensions
{
    /// <summary>Parses "fp32", "tf32" or "bf16" (case-insensitive).</summary>
    public static GemmPrecision Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "fp32" or "float32" => GemmPrecision.Fp32,
        "tf32" => GemmPrecision.Tf32,
        "bf16" or "bfloat16" => GemmPrecision.Bf16,
        _ => throw new InvalidInputException($"unknown precision '{text}' (expected fp32, tf32 or bf16)"),
    };

    /// <summary>"fp32", "tf32", "bf16".</summary>
    public static string Id(this GemmPrecision p) => p.ToString().ToLowerInvariant();

    /// <summary>The INQ_CTX_* bit of the mode (0 for fp32).</summary>
    public static int ContextFlagValue(this GemmPrecision p) => p switch
    {
        GemmPrecision.Tf32 => Interop.NativeMethods.ContextTf32,
        GemmPrecision.Bf16 => Interop.NativeMethods.ContextBf16,
        _ => 0,
    };
}
