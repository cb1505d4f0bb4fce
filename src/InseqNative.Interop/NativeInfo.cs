namespace InseqNative.Interop;

/// <summary>Facts about the loaded native library, for output metadata and benchmark headers.</summary>
public static unsafe class NativeInfo
{
    public static string BuildInfo()
    {
        var buffer = stackalloc byte[1024];
        NativeCheck.Ok(NativeMethods.BuildInfo(buffer, 1024), "inq_build_info");
        return System.Runtime.InteropServices.Marshal.PtrToStringUTF8((IntPtr)buffer) ?? "";
    }

    public static int CudaDeviceCount()
    {
        NativeCheck.Ok(NativeMethods.CudaDeviceCount(out var n), "inq_cuda_device_count");
        return n;
    }
}
