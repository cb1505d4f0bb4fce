using System.Runtime.InteropServices;

namespace InseqNative.Interop;

public static unsafe partial class NativeMethods
{
    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_op_run", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int OpRun(int device, string op, long* dims, int nDims, void** inputs, int nInputs,
        float** outputs, int nOutputs, float* scalars, int nScalars);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_bench_gemm")]
    public static partial int BenchGemm(int device, int m, int n, int k, float* a, float* b, float* c);
}
