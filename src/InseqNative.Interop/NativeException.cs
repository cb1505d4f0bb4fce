using InseqNative.Interop;

namespace InseqNative;

/// <summary>A native call that returned a non-zero status; <see cref="Status"/> is the code,
/// the message is the native library's own (file:line: cause) prefixed with the call.</summary>
public class NativeException : InseqException
{
    public NativeStatus Status { get; }
    public string NativeMessage { get; }

    public NativeException(NativeStatus status, string call, string nativeMessage)
        : base($"{call} failed ({status}): {nativeMessage}")
    {
        Status = status;
        NativeMessage = nativeMessage;
    }
}

/// <summary>Invalid argument, null pointer or shape mismatch detected by the native library.</summary>
public sealed class NativeArgumentException(NativeStatus status, string call, string nativeMessage)
    : NativeException(status, call, nativeMessage);

/// <summary>A batch, sequence or cotangent count beyond what the context was created for.</summary>
public sealed class CapacityExceededException(string call, string nativeMessage)
    : NativeException(NativeStatus.Capacity, call, nativeMessage);

/// <summary>Host or device memory could not be allocated; the message names requested (and free) bytes.
/// The process keeps working: retry with a smaller batch.</summary>
public sealed class DeviceOutOfMemoryException(string call, string nativeMessage)
    : NativeException(NativeStatus.OutOfMemory, call, nativeMessage);

/// <summary>A feature this native build or backend lacks.</summary>
public sealed class NativeUnsupportedException(string call, string nativeMessage)
    : NativeException(NativeStatus.Unsupported, call, nativeMessage);

/// <summary>A device fault (CUDA error). The context that raised it is unusable afterwards.</summary>
public sealed class DeviceFaultException(string call, string nativeMessage)
    : NativeException(NativeStatus.Device, call, nativeMessage);

/// <summary>A call out of order, e.g. a backward without a kept forward.</summary>
public sealed class NativeStateException(string call, string nativeMessage)
    : NativeException(NativeStatus.State, call, nativeMessage);

/// <summary>An internal error of the native library (a bug); please report it with the message.</summary>
public sealed class NativeInternalException(NativeStatus status, string call, string nativeMessage)
    : NativeException(status, call, nativeMessage);
