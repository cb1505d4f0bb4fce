using System.Runtime.InteropServices;

namespace InseqNative.Interop;

public static unsafe partial class NativeMethods
{
    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_cache_prefill")]
    public static partial int CachePrefill(ContextHandle ctx, int batch, int seq, int* inputIds, int* attentionMask,
        float* lastLogits);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_cache_step")]
    public static partial int CacheStep(ContextHandle ctx, int batch, int* nextIds, float* logits);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_cache_length")]
    public static partial int CacheLength(ContextHandle ctx, out int length);
}
