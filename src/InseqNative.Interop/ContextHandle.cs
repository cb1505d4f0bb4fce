using System.Runtime.InteropServices;

namespace InseqNative.Interop;

/// <summary>Owns an <c>inq_context</c> and keeps its model's handle alive until the context is released.</summary>
public sealed class ContextHandle : SafeHandle
{
    ModelHandle? _model;

    public ContextHandle() : base(IntPtr.Zero, ownsHandle: true) { }

    public override bool IsInvalid => handle == IntPtr.Zero;

    internal void Adopt(IntPtr raw, ModelHandle model)
    {
        var added = false;
        model.DangerousAddRef(ref added);
        _model = model;
        SetHandle(raw);
    }

    protected override bool ReleaseHandle()
    {
        var ok = NativeMethods.ContextDestroy(handle) == 0;
        _model?.DangerousRelease();
        _model = null;
        return ok;
    }
}
