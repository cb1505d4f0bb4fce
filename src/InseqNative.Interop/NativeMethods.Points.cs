using System.Runtime.InteropServices;

namespace InseqNative.Interop;

// Points of the residual stream (inseq_native.h, "points"): 0 = token embeddings, l + 1 = output of block l.
public static unsafe partial class NativeMethods
{
    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_get_hidden")]
    public static partial int GetHidden(ContextHandle ctx, int point, float* output);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_forward_from_hidden")]
    public static partial int ForwardFromHidden(ContextHandle ctx, int point, int batch, int seq, float* hidden,
        int* attentionMask, int logitsMode, float* logits, int flags);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_backward")]
    public static partial int Backward(ContextHandle ctx, int point, int batch, int nCot, int* positions,
        float* dlogits, float* dOut);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_last_forward")]
    public static partial int LastForward(ContextHandle ctx, out int batch, out int seq, out int point, out int kept,
        out int scorable);
}
