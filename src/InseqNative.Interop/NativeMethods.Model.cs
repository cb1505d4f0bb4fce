using System.Runtime.InteropServices;

namespace InseqNative.Interop;

/// <summary>Mirror of <c>inq_model_config</c>; field order and types must match the header exactly.</summary>
[StructLayout(LayoutKind.Sequential)]
public struct NativeModelConfig
{
    public int StructSize;
    public int Arch;
    public int NLayer;
    public int NHead;
    public int NEmbd;
    public int NInner;
    public int NPositions;
    public int VocabSize;
    public int Activation;
    public float NormEps;
    public int TieWordEmbeddings;
    public int ScaleAttnWeights;
    public int ScaleAttnByInverseLayerIdx;
    // ABI 3
    public int NKvHead;
    public float RopeTheta;
    public int AttnQkvBias;
    public int AttnOutBias;
    public int MlpBias;
    // ABI 4 (encoder-decoder)
    public int NEncoderLayer;
    public float EmbedScale;
    // ABI 5
    public int HeadDim;
    public int RelNumBuckets;
    public int RelMaxDistance;
    public int GatedMlp;
    /// <summary>LLAMA (Mistral): keys i - j >= SlidingWindow are masked; 0 = no window, other archs 0.</summary>
    public int SlidingWindow;
    /// <summary>LLAMA: 1 = rotary frequencies from the tensor "rope.inv_freq" (rope_scaling); other archs 0.</summary>
    public int RopeInvFreqTable;
}

public enum NativeArch { Gpt2 = 1, Llama = 2, Marian = 3, M2M100 = 4, T5 = 5 }

public enum NativeActivation { GeluTanh = 1, GeluErf = 2, Relu = 3, Silu = 4 }

public static unsafe partial class NativeMethods
{
    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_model_create")]
    public static partial int ModelCreate(in NativeModelConfig config, int device, out IntPtr model);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_model_destroy")]
    public static partial int ModelDestroy(IntPtr model);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_model_tensor_count")]
    public static partial int ModelTensorCount(ModelHandle model, out int count);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_model_tensor_info")]
    public static partial int ModelTensorInfo(ModelHandle model, int index, byte* nameBuffer, int nameCapacity,
        long* shape, out int ndim);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_model_set_tensor",
        StringMarshalling = StringMarshalling.Utf8)]
    public static partial int ModelSetTensor(ModelHandle model, string name, float* data, long* shape, int ndim);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_model_finalize")]
    public static partial int ModelFinalize(ModelHandle model);

    [LibraryImport(NativeLibraryResolver.LibraryName, EntryPoint = "inq_model_weight_bytes")]
    public static partial int ModelWeightBytes(ModelHandle model, out long bytes);
}
