namespace InseqNative.Interop;

/// <summary>Turns native status codes into typed exceptions carrying the native message.</summary>
public static class NativeCheck
{
    public static void Ok(int status, string call)
    {
        if (status == 0) return;
        throw ToException(status, call, NativeMethods.LastErrorMessage());
    }

    public static NativeException ToException(int status, string call, string message)
    {
        var code = Enum.IsDefined(typeof(NativeStatus), status) ? (NativeStatus)status : NativeStatus.Internal;
        return code switch
        {
            NativeStatus.InvalidArgument or NativeStatus.NullPointer or NativeStatus.Shape
                => new NativeArgumentException(code, call, message),
            NativeStatus.Capacity => new CapacityExceededException(call, message),
            NativeStatus.OutOfMemory => new DeviceOutOfMemoryException(call, message),
            NativeStatus.Unsupported => new NativeUnsupportedException(call, message),
            NativeStatus.Device => new DeviceFaultException(call, message),
            NativeStatus.State => new NativeStateException(call, message),
            _ => new NativeInternalException(code, call, $"status {status}: {message}"),
        };
    }
}
