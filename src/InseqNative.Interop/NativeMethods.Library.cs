using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace InseqNative.Interop;

/// <summary>Declarations of native/include/inseq_native.h, one partial file per area of the header.</summary>
public static unsafe partial class NativeMethods
{
    /// <summary>The ABI version these declarations were written against (INQ_ABI_VERSION).</summary>
    public const int ExpectedAbiVersion = 6;
    public const int DeviceCpu = -1;

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_abi_version")]
    public static partial int AbiVersion();

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_last_error")]
    private static partial IntPtr LastErrorPtr();

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_cuda_device_count")]
    public static partial int CudaDeviceCount(out int count);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_cuda_device_info")]
    public static partial int CudaDeviceInfo(int ordinal, NativeDeviceInfo* info);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_build_info")]
    public static partial int BuildInfo(byte* buffer, int capacity);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_set_num_threads")]
    public static partial int SetNumThreads(int n);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_get_num_threads")]
    public static partial int GetNumThreads(out int n);

    public static string LastErrorMessage() => Marshal.PtrToStringUTF8(LastErrorPtr()) ?? "";

    // A library registering its own DllImport resolver is the use CA2255 allows for: it must run before any call.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void RegisterResolver() => NativeLibraryResolver.Register();
}
