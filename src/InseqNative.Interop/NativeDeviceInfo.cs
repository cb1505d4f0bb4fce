using System.Runtime.InteropServices;

namespace InseqNative.Interop;

/// <summary>inq_device_info (ABI 6): the layout of the C struct, filled by inq_cuda_device_info.</summary>
[StructLayout(LayoutKind.Sequential)]
public unsafe struct NativeDeviceInfo
{
    public int StructSize;
    public fixed byte Name[256];
    public int CcMajor, CcMinor;
    public int Multiprocessors;
    public int ClockKhz;
    public long TotalBytes;
    public long FreeBytes;
    public int DriverVersion;
    public int RuntimeVersion;
}
