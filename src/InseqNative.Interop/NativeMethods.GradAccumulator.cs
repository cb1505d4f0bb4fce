using System.Runtime.InteropServices;

namespace InseqNative.Interop;

// Granular gradient accumulation (inseq_native.h, "granular gradient accumulation (ABI 6)").
public static unsafe partial class NativeMethods
{
    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_grad_accumulator_reset")]
    public static partial int GradAccumulatorReset(ContextHandle ctx, int rows, int steps, int nMult, float* multipliers);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_backward_step_accumulate")]
    public static partial int BackwardStepAccumulate(ContextHandle ctx, NativeStepFnArgs* args, int point, int batch,
        int nCot, int* positions, int* targets, int* contrastTargets, float* contrastLogits, int* steps,
        float* rowWeights, int multRow0, float* scores);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_seq2seq_backward_step_accumulate")]
    public static partial int Seq2SeqBackwardStepAccumulate(ContextHandle ctx, NativeStepFnArgs* args, int batch,
        int nCot, int* positions, int* targets, int* contrastTargets, float* contrastLogits, int* steps,
        float* rowWeights, int multRow0, float* scores);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_grad_accumulator_reduce")]
    public static partial int GradAccumulatorReduce(ContextHandle ctx, float* multipliers, float* l2, float* sums);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_grad_accumulator_read")]
    public static partial int GradAccumulatorRead(ContextHandle ctx, float* output);
}
