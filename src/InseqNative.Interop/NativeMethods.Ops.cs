using System.Runtime.InteropServices;

namespace InseqNative.Interop;

public static unsafe partial class NativeMethods
{
    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_op_run", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OpRun(int device, string op, long* dims, int nDims, void** inputs, int nInputs,
        float** outputs, int nOutputs, float* scalars, int nScalars);

    /// <summary>inq_bench_gemm: mean seconds of <paramref name="repeats"/> GEMMs after a warm-up, copies excluded;
    /// flags 0, <see cref="ContextTf32"/> or <see cref="ContextBf16"/>.</summary>
    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_bench_gemm")]
    public static partial int BenchGemm(int device, int m, int n, int k, int flags, int repeats, float* a, float* b,
        float* c, out double seconds);
}
