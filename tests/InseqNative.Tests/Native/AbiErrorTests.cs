using System.Runtime.CompilerServices;
using InseqNative.Interop;

namespace InseqNative.Tests.Native;

/// <summary>Bad calls across the C ABI come back as statuses with messages — never an abort.</summary>
public unsafe class AbiErrorTests
{
    [Fact]
    public void The_library_reports_the_abi_version_these_declarations_expect()
    {
        Assert.Equal(NativeMethods.ExpectedAbiVersion, NativeMethods.AbiVersion());
        Assert.Contains("cpu", NativeInfo.BuildInfo(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_null_pointer_is_an_error_status_with_a_message()
    {
        var status = NativeMethods.ModelCreate(in Unsafe.NullRef<NativeModelConfig>(), NativeMethods.DeviceCpu, out _);
        Assert.Equal((int)NativeStatus.NullPointer, status);
        Assert.Contains("config", NativeMethods.LastErrorMessage());
    }

    [Fact]
    public void An_invalid_config_is_rejected_with_the_offending_field()
    {
        var config = new NativeModelConfig
        {
            StructSize = sizeof(NativeModelConfig), Arch = (int)NativeArch.Gpt2, NLayer = 2, NHead = 3, NEmbd = 16,
            NInner = 64, NPositions = 8, VocabSize = 10, Activation = (int)NativeActivation.GeluTanh, NormEps = 1e-5f,
            TieWordEmbeddings = 1, ScaleAttnWeights = 1,
        };
        var status = NativeMethods.ModelCreate(in config, NativeMethods.DeviceCpu, out _);
        Assert.NotEqual(0, status);
        Assert.Contains("head", NativeMethods.LastErrorMessage(), StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void An_invalid_shape_in_an_op_is_a_shape_or_argument_error()
    {
        var e = Assert.Throws<NativeArgumentException>(() =>
            NativeOps.Run("layernorm_forward", [-1, 4], [new float[4], new float[4], new float[4]],
                [new float[4], new float[1], new float[1]], [1e-5f]));
        Assert.Contains("layernorm_forward", e.Message);
    }

    [Fact]
    public void An_unknown_op_name_is_an_argument_error()
    {
        var e = Assert.Throws<NativeArgumentException>(() => NativeOps.Run("no_such_op", [1], [], []));
        Assert.Contains("no_such_op", e.Message);
    }

    [Fact]
    public void A_tensor_with_the_wrong_shape_is_rejected_by_set_tensor()
    {
        using var model = Model.ModelInvariantTests.SmallRandom();
        float[] data = new float[10];
        long[] shape = [10];
        fixed (float* p = data)
        fixed (long* s = shape)
        {
            var status = NativeMethods.ModelSetTensor(model.Handle, "ln_f.weight", p, s, 1);
            Assert.NotEqual(0, status);
            Assert.Contains("ln_f.weight", NativeMethods.LastErrorMessage());
        }
    }

    [Fact]
    public void An_oversize_batch_is_a_capacity_error()
    {
        using var model = Model.ModelInvariantTests.SmallRandom();
        using var ctx = model.CreateContext(maxBatch: 1, maxSeq: 4);
        var e = Assert.Throws<CapacityExceededException>(() => ctx.Forward(TokenBatch.LeftPadded([[1, 2], [3, 4]], 0)));
        Assert.Contains("batch", e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Throws<CapacityExceededException>(() => ctx.Forward(TokenBatch.Single([1, 2, 3, 4, 5])));
        // The context still works after the errors.
        Assert.NotNull(ctx.Forward(TokenBatch.Single([1, 2])));
    }

    [Fact]
    public void A_backward_without_a_kept_forward_is_refused()
    {
        using var model = Model.ModelInvariantTests.SmallRandom();
        using var ctx = model.CreateContext(1, 4, 4);
        ctx.Forward(TokenBatch.Single([1, 2, 3]), LogitsMode.None);
        Assert.ThrowsAny<Exception>(() => ctx.BackwardEmbeddings([2], Tensor.Zeros(1, 1, model.Config.VocabSize)));
        int pos = 0;
        float dl = 0, de = 0;
        var status = NativeMethods.BackwardEmbeds(GetHandle(ctx), 1, 1, &pos, &dl, &de);
        Assert.NotEqual(0, status);
    }

    static ContextHandle GetHandle(InferenceContext ctx) =>
        (ContextHandle)typeof(InferenceContext).GetField("_handle", System.Reflection.BindingFlags.NonPublic |
                                                                     System.Reflection.BindingFlags.Instance)!.GetValue(ctx)!;

    [Fact]
    public void Cuda_requested_without_a_gpu_is_a_clear_error()
    {
        Assert.SkipWhen(NativeInfo.CudaDeviceCount() > 0, "a GPU is present: the CUDA tests cover device selection");
        var e = Assert.Throws<DeviceUnavailableException>(() => Device.Cuda(0).Resolve());
        Assert.Contains("CUDA", e.Message);
        Assert.Equal(Device.Cpu.Resolve(), Device.Auto.Resolve());
    }

    [Fact]
    public void Out_of_range_token_ids_are_rejected_before_the_native_call()
    {
        using var model = Model.ModelInvariantTests.SmallRandom();
        Assert.Throws<InvalidInputException>(() => model.Logits([[1, 999]]));
        Assert.Throws<InvalidInputException>(() => model.Logits([[-1]]));
        Assert.Throws<InvalidInputException>(() => model.Logits([Enumerable.Range(0, 30).Select(i => i % 37).ToArray()]));
    }
}
