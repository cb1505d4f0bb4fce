using System.Runtime.InteropServices;

namespace InseqNative.Interop;

/// <summary><c>inq_step_fn_args</c>: the layout is checked against the native side (struct_size).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct NativeStepFnArgs
{
    public int StructSize;
    public int Fn;
    public int LogProb;
    public int TopK;
    public float TopP;
    public int MinTokensToKeep;

    public static readonly int Size = Marshal.SizeOf<NativeStepFnArgs>();

    public NativeStepFnArgs(NativeStepFunction fn, bool logProb, int topK, float topP, int minTokensToKeep)
    {
        StructSize = Size;
        Fn = (int)fn;
        LogProb = logProb ? 1 : 0;
        TopK = topK;
        TopP = topP;
        MinTokensToKeep = minTokensToKeep;
    }
}

// Step functions (inseq_native.h, "step functions").
public static unsafe partial class NativeMethods
{
    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_step_scores")]
    public static partial int StepScores(ContextHandle ctx, NativeStepFnArgs* args, int nRows, int* batchIndex,
        int* positions, int* targets, int* contrastTargets, int* contrastBatchIndex, int* contrastPositions,
        float* contrastLogits, float* scores);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_backward_step")]
    public static partial int BackwardStep(ContextHandle ctx, NativeStepFnArgs* args, int point, int batch, int nCot,
        int* positions, int* targets, int* contrastTargets, float* contrastLogits, float* dOut, float* scores);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_seq2seq_step_scores")]
    public static partial int Seq2SeqStepScores(ContextHandle ctx, NativeStepFnArgs* args, int nRows, int* batchIndex,
        int* positions, int* targets, int* contrastTargets, float* contrastLogits, float* scores);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_seq2seq_backward_step")]
    public static partial int Seq2SeqBackwardStep(ContextHandle ctx, NativeStepFnArgs* args, int batch, int nCot,
        int* positions, int* targets, int* contrastTargets, float* contrastLogits, float* dSrc, float* dTgt,
        float* scores);
}
