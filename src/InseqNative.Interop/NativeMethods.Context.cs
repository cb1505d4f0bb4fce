using System.Runtime.InteropServices;

namespace InseqNative.Interop;

public static unsafe partial class NativeMethods
{
    public const int ContextKeepAttention = 1;
    /// <summary>INQ_CTX_TF32: CUDA GEMMs on TF32 tensor cores (opt-in fast mode, ~1e-3 relative); ignored on the CPU.</summary>
    public const int ContextTf32 = 2;
    /// <summary>INQ_CTX_BF16: CUDA GEMMs on BF16 tensor cores (fp32 in memory, bf16 operands, fp32 accumulation;
    /// ~1e-2 relative); ignored on the CPU; not with <see cref="ContextTf32"/>.</summary>
    public const int ContextBf16 = 4;

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_context_memory_size")]
    public static partial int ContextMemorySize(ModelHandle model, int maxBatch, int maxSeq, int maxCotangents,
        int flags, out long bytes);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_context_create")]
    public static partial int ContextCreate(ModelHandle model, int maxBatch, int maxSeq, int maxCotangents,
        int flags, out IntPtr context);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_context_destroy")]
    public static partial int ContextDestroy(IntPtr context);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_embed_tokens")]
    public static partial int EmbedTokens(ContextHandle ctx, int* ids, int n, float* output);
}
