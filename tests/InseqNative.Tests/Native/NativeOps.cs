using System.Runtime.InteropServices;
using InseqNative.Interop;

namespace InseqNative.Tests.Native;

/// <summary>Calls one op of a backend's ops table through inq_op_run on managed arrays.</summary>
public static unsafe class NativeOps
{
    /// <summary>Inputs are float[] or int[] (null allowed); outputs are float[] the op fills (poisoned first).</summary>
    public static void Run(string op, long[] dims, object?[] inputs, float[][] outputs, float[]? scalars = null,
        int device = NativeMethods.DeviceCpu)
    {
        foreach (var o in outputs) Array.Fill(o, float.NaN); // every element must be written
        var handles = new List<GCHandle>();
        try
        {
            var inPtrs = new void*[inputs.Length];
            for (var i = 0; i < inputs.Length; i++)
            {
                if (inputs[i] is null) continue;
                var h = GCHandle.Alloc(inputs[i], GCHandleType.Pinned);
                handles.Add(h);
                inPtrs[i] = (void*)h.AddrOfPinnedObject();
            }
            var outPtrs = new float*[outputs.Length];
            for (var i = 0; i < outputs.Length; i++)
            {
                var h = GCHandle.Alloc(outputs[i], GCHandleType.Pinned);
                handles.Add(h);
                outPtrs[i] = (float*)h.AddrOfPinnedObject();
            }
            scalars ??= [];
            fixed (long* d = dims)
            fixed (void** ip = inPtrs)
            fixed (float** op2 = outPtrs)
            fixed (float* s = scalars)
                NativeCheck.Ok(NativeMethods.OpRun(device, op, d, dims.Length, ip, inputs.Length, op2, outputs.Length,
                    s, scalars.Length), $"inq_op_run({op})");
        }
        finally
        {
            foreach (var h in handles) h.Free();
        }
    }

    public static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (var i = 0; i < n; i++) a[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return a;
    }
}
