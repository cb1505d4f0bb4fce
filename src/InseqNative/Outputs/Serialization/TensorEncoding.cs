namespace InseqNative.Outputs.Serialization;

/// <summary>How tensors are stored in attribution JSON files. Both are read back.</summary>
public enum TensorEncoding
{
    /// <summary>Inseq ≥ 0.7: a sequence output's tensor attributes are base64 strings of a safetensors blob holding one
    /// tensor named "attribution" (F32, or F16 with <see cref="ScoresPrecision.Float16"/>).</summary>
    Safetensors,

    /// <summary>Inseq 0.6: <c>{"__ndarray__": "b64:…" | "b64.gz:…", "dtype", "shape", "Corder"}</c> with the raw
    /// little-endian row-major bytes (gzip'd when that saves at least 10%).</summary>
    NumpyBase64,
}
