using System.Runtime.InteropServices;

namespace InseqNative.Interop;

/// <summary>Owns an <c>inq_model</c>. Contexts created from it AddRef it, so disposing the model first is safe.</summary>
public sealed class ModelHandle : SafeHandle
{
    public ModelHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    internal void Adopt(IntPtr raw) => SetHandle(raw);

    protected override bool ReleaseHandle() => NativeMethods.ModelDestroy(handle) == 0;
}
