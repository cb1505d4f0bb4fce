using InseqNative.Interop;

namespace InseqNative;

/// <summary>Where a model runs: <see cref="Auto"/> (CUDA when the CUDA library and a device are present, else CPU),
/// <see cref="Cpu"/>, or <see cref="Cuda"/>(ordinal).</summary>
public readonly record struct Device
{
    public DeviceKind Kind { get; }
    public int Ordinal { get; }

    Device(DeviceKind kind, int ordinal) { Kind = kind; Ordinal = ordinal; }

    public static Device Auto => new(DeviceKind.Auto, 0);
    public static Device Cpu => new(DeviceKind.Cpu, 0);
    public static Device Cuda(int ordinal = 0) =>
        ordinal < 0 ? throw new InvalidInputException($"CUDA device ordinal must be >= 0, got {ordinal}") : new(DeviceKind.Cuda, ordinal);

    /// <summary>Parses "auto", "cpu", "cuda" or "cuda:N" (case-insensitive).</summary>
    public static Device Parse(string text)
    {
        var t = text.Trim().ToLowerInvariant();
        if (t == "auto") return Auto;
        if (t == "cpu") return Cpu;
        if (t == "cuda" || t == "gpu") return Cuda(0);
        if (t.StartsWith("cuda:") && int.TryParse(t[5..], out var n)) return Cuda(n);
        throw new InvalidInputException($"unknown device '{text}' (expected auto, cpu, cuda or cuda:N)");
    }

    /// <summary>The native device id: INQ_DEVICE_CPU or a CUDA ordinal. Auto resolves here; a CUDA request without
    /// a usable device raises <see cref="DeviceUnavailableException"/>.</summary>
    public int Resolve()
    {
        if (Kind == DeviceKind.Cpu) return NativeMethods.DeviceCpu;
        NativeCheck.Ok(NativeMethods.CudaDeviceCount(out var count), "inq_cuda_device_count");
        if (Kind == DeviceKind.Auto) return count > 0 ? 0 : NativeMethods.DeviceCpu;
        if (count == 0)
            throw new DeviceUnavailableException(
                "CUDA was requested but no CUDA device is usable: the loaded native library " +
                $"({NativeLibraryResolver.LoadedPath ?? "not loaded"}) reports 0 CUDA devices " +
                "(CPU-only build, no GPU, or no driver). Use Device.Cpu or Device.Auto.");
        if (Ordinal >= count)
            throw new DeviceUnavailableException($"CUDA device {Ordinal} requested but only {count} device(s) exist");
        return Ordinal;
    }

    public override string ToString() => Kind switch
    {
        DeviceKind.Auto => "auto",
        DeviceKind.Cpu => "cpu",
        _ => $"cuda:{Ordinal}",
    };
}

public enum DeviceKind { Auto, Cpu, Cuda }
