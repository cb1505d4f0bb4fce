using System.Runtime.InteropServices;

namespace InseqNative.Interop;

public static unsafe partial class NativeMethods
{
    public const int LogitsNone = 0, LogitsAll = 1, LogitsLast = 2;
    public const int ForwardKeepForBackward = 1, ForwardKeepAttention = 2;

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_forward")]
    public static partial int Forward(ContextHandle ctx, int batch, int seq, int* inputIds, float* inputEmbeds,
        int* attentionMask, int logitsMode, float* logits, int flags);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_seq2seq_forward")]
    public static partial int Seq2SeqForward(ContextHandle ctx, int batch, int srcLen, int tgtLen, int* srcIds,
        float* srcEmbeds, int* srcMask, int* tgtIds, float* tgtEmbeds, int* tgtMask, int logitsMode, float* logits,
        int flags);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_get_attention")]
    public static partial int GetAttention(ContextHandle ctx, int layer, float* output);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_backward_embeds")]
    public static partial int BackwardEmbeds(ContextHandle ctx, int batch, int nCot, int* positions, float* dlogits,
        float* dEmbeds);
}
