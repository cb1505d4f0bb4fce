using System.Runtime.InteropServices;

namespace InseqNative.Interop;

public static unsafe partial class NativeMethods
{
    public const int LogitsNone = 0, LogitsAll = 1, LogitsLast = 2;
    public const int ForwardKeepForBackward = 1, ForwardKeepAttention = 2, ForwardFillCache = 4;
    public const int AttentionEncoder = 0, AttentionDecoder = 1, AttentionCross = 2;

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_forward")]
    public static partial int Forward(ContextHandle ctx, int batch, int seq, int* inputIds, float* inputEmbeds,
        int* attentionMask, int logitsMode, float* logits, int flags);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_seq2seq_forward")]
    public static partial int Seq2SeqForward(ContextHandle ctx, int batch, int srcLen, int tgtLen, int* srcIds,
        float* srcEmbeds, int* srcMask, int* tgtIds, float* tgtEmbeds, int* tgtMask, int logitsMode, float* logits,
        int flags);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_seq2seq_backward")]
    public static partial int Seq2SeqBackward(ContextHandle ctx, int batch, int nCot, int* positions, float* dlogits,
        float* dSrc, float* dTgt);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_seq2seq_get_attention")]
    public static partial int Seq2SeqGetAttention(ContextHandle ctx, int kind, int layer, float* output);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_seq2seq_embed_tokens")]
    public static partial int Seq2SeqEmbedTokens(ContextHandle ctx, int* ids, int n, float* output);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_seq2seq_cache_step")]
    public static partial int Seq2SeqCacheStep(ContextHandle ctx, int batch, int* nextIds, float* logits);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_get_attention")]
    public static partial int GetAttention(ContextHandle ctx, int layer, float* output);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_backward_embeds")]
    public static partial int BackwardEmbeds(ContextHandle ctx, int batch, int nCot, int* positions, float* dlogits,
        float* dEmbeds);
}
