using System.Runtime.InteropServices;

namespace InseqNative.Interop;

/// <summary><c>inq_sampling</c> (ABI 6): the layout is checked against the native side (struct_size).</summary>
[StructLayout(LayoutKind.Sequential)]
public struct NativeSampling
{
    public int StructSize;
    public int DoSample;
    public float Temperature;
    public int TopK;
    public float TopP;

    public static readonly int Size = Marshal.SizeOf<NativeSampling>();

    public NativeSampling(bool doSample, float temperature, int topK, float topP)
    {
        StructSize = Size;
        DoSample = doSample ? 1 : 0;
        Temperature = temperature;
        TopK = topK;
        TopP = topP;
    }
}

// Device sampling (inseq_native.h, "ABI 6 (device sampling)").
public static unsafe partial class NativeMethods
{
    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_sample_next")]
    public static partial int SampleNext(ContextHandle ctx, NativeSampling* args, double* uniforms, int* forcedIds,
        int* bannedOffsets, int* bannedIds, int* outIds, float* outLogProbs);
}
