using System.Runtime.InteropServices;
using InseqNative.Interop;

namespace InseqNative;

/// <summary>What a CUDA device is (inq_cuda_device_info): for output metadata and benchmark headers.</summary>
/// <param name="ClockMHz">Peak SM clock.</param>
/// <param name="DriverVersion">CUDA version the driver supports ("13.0"; "none" without a driver).</param>
/// <param name="RuntimeVersion">CUDA runtime the native library was built with (linked statically).</param>
public sealed record CudaDeviceInfo(int Ordinal, string Name, int ComputeMajor, int ComputeMinor, int Multiprocessors,
    double ClockMHz, long TotalBytes, long FreeBytes, string DriverVersion, string RuntimeVersion)
{
    /// <summary>Facts about CUDA device <paramref name="ordinal"/>; <see cref="DeviceUnavailableException"/> when it
    /// does not exist or the native library has no CUDA backend.</summary>
    public static unsafe CudaDeviceInfo Query(int ordinal)
    {
        var info = new NativeDeviceInfo { StructSize = sizeof(NativeDeviceInfo) };
        var status = NativeMethods.CudaDeviceInfo(ordinal, &info);
        if (status is (int)NativeStatus.Unsupported or (int)NativeStatus.InvalidArgument)
            throw new DeviceUnavailableException(NativeMethods.LastErrorMessage());
        NativeCheck.Ok(status, "inq_cuda_device_info");
        var name = Marshal.PtrToStringUTF8((IntPtr)info.Name) ?? "";
        return new CudaDeviceInfo(ordinal, name, info.CcMajor, info.CcMinor, info.Multiprocessors, info.ClockKhz / 1e3,
            info.TotalBytes, info.FreeBytes, Version(info.DriverVersion), Version(info.RuntimeVersion));
    }

    /// <summary>"sm_90".</summary>
    public string Architecture => $"sm_{ComputeMajor}{ComputeMinor}";

    /// <summary>Nominal peak TFLOP/s of a GEMM mode at the peak clock: fp32 on the CUDA cores (FMA lanes per SM ×
    /// 2 × SMs × clock), TF32 / BF16 on dense tensor cores (FLOP per SM per clock of the architecture × SMs × clock).
    /// An upper bound (datasheets quote tensor peaks at a lower boost clock on some parts, e.g. H100 SXM 495 dense
    /// TF32 TFLOP/s vs 535 here); null for architectures not in the table.</summary>
    public double? PeakTflops(GemmPrecision precision)
    {
        var perSmPerClock = precision switch
        {
            GemmPrecision.Fp32 => Fp32LanesPerSm() * 2,
            GemmPrecision.Tf32 => TensorFlopsPerSmPerClock() is { } t ? t : (int?)null,
            _ => TensorFlopsPerSmPerClock() is { } b ? b * 2 : (int?)null,
        };
        return perSmPerClock is { } f and > 0 ? f * (double)Multiprocessors * ClockMHz * 1e6 / 1e12 : null;
    }

    // FP32 FMA lanes per SM: 64 on sm_60/70/75/80, 128 on sm_86/89/90/100/120 (CUDA programming guide's throughput
    // table).
    int? Fp32LanesPerSm() => (ComputeMajor, ComputeMinor) switch
    {
        (7, _) or (8, 0) => 64,
        (8, _) or (9, 0) or (10, _) or (12, _) => 128,
        _ => null,
    };

    // Dense TF32 tensor FLOP per SM per clock (BF16 is twice that): A100 (sm_80) 156 TFLOP/s = 108 SMs × 1.41 GHz ×
    // 1024; sm_86/89 consumer parts 512; H100 (sm_90) 2048.
    int? TensorFlopsPerSmPerClock() => (ComputeMajor, ComputeMinor) switch
    {
        (8, 0) => 1024,
        (8, 6) or (8, 7) or (8, 9) => 512,
        (9, 0) => 2048,
        _ => null,
    };

    static string Version(int v) => v <= 0 ? "none" : $"{v / 1000}.{v % 1000 / 10}";

    public override string ToString() =>
        $"cuda:{Ordinal} {Name} ({Architecture}, {Multiprocessors} SMs, {ClockMHz:0} MHz, {TotalBytes / 1073741824.0:0.0} GiB), " +
        $"driver CUDA {DriverVersion}, runtime {RuntimeVersion}";
}
