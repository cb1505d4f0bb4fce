namespace InseqNative.Interop;

/// <summary>Mirror of <c>inq_status</c> in native/include/inseq_native.h.</summary>
public enum NativeStatus
{
    Ok = 0,
    InvalidArgument = 1,
    NullPointer = 2,
    Shape = 3,
    Capacity = 4,
    OutOfMemory = 5,
    Unsupported = 6,
    Device = 7,
    State = 8,
    Internal = 9,
}
