using InseqNative.Interop;
using InseqNative.Loading;

namespace InseqNative;

/// <summary>
/// Moves a checkpoint's tensors into the native model: asks the native side which tensors (canonical names,
/// shapes derived from the config) it expects, finds each in the checkpoint (with or without the architecture's
/// prefix, e.g. "transformer."), checks the shape against the config before copying, converts to fp32. Tensors the
/// config defines (rope_scaling's frequency table) are computed, not read.
/// </summary>
static unsafe class WeightUploader
{
    public readonly record struct Expected(string Name, long[] Shape);

    public static IReadOnlyList<Expected> ExpectedTensors(ModelHandle model)
    {
        NativeCheck.Ok(NativeMethods.ModelTensorCount(model, out var count), "inq_model_tensor_count");
        var result = new List<Expected>(count);
        var name = stackalloc byte[512];
        var shape = stackalloc long[4];
        for (var i = 0; i < count; i++)
        {
            NativeCheck.Ok(NativeMethods.ModelTensorInfo(model, i, name, 512, shape, out var ndim), "inq_model_tensor_info");
            var s = new long[ndim];
            for (var d = 0; d < ndim; d++) s[d] = shape[d];
            result.Add(new Expected(System.Runtime.InteropServices.Marshal.PtrToStringUTF8((IntPtr)name)!, s));
        }
        return result;
    }

    public static void Upload(ModelHandle model, CheckpointReader checkpoint, ModelConfig config)
    {
        foreach (var expected in ExpectedTensors(model))
        {
            if (NativeConfigMapper.ComputedTensor(config, expected.Name) is { } computed)
            {
                Set(model, expected, computed);
                continue;
            }
            var candidates = NativeConfigMapper.CheckpointNames(config, expected.Name);
            string? found = null;
            foreach (var c in candidates)
                if (checkpoint.Contains(c)) { found = c; break; }
            if (found is null)
                throw new ModelLoadException(checkpoint.DescribeLocation(candidates[0]),
                    $"missing tensor '{candidates[0]}' (also looked for {string.Join(", ", candidates.Skip(1).Select(c => $"'{c}'"))})");
            var info = checkpoint.GetInfo(found);
            var actual = info.Shape.ToArray();
            if (!actual.SequenceEqual(expected.Shape))
                throw new ModelLoadException(checkpoint.FileOf(found),
                    $"tensor '{found}' has shape [{string.Join(", ", actual)}] but config.json ({NativeConfigMapper.Describe(config)}) " +
                    $"requires [{string.Join(", ", expected.Shape)}]");
            Set(model, expected, checkpoint.ReadAsFloat32(found));
        }
        NativeCheck.Ok(NativeMethods.ModelFinalize(model), "inq_model_finalize");
    }

    static void Set(ModelHandle model, Expected expected, float[] data)
    {
        fixed (float* p = data)
        fixed (long* s = expected.Shape)
            NativeCheck.Ok(NativeMethods.ModelSetTensor(model, expected.Name, p, s, expected.Shape.Length),
                $"inq_model_set_tensor({expected.Name})");
    }

    /// <summary>Deterministic random weights: normal(0, std) matrices (and T5's relative_attention_bias table), norm
    /// weights 1 (ln_*, *norm*), biases 0 (*.bias, Marian's final_logits_bias); tensors the config defines computed.</summary>
    public static void UploadRandom(ModelHandle model, ModelConfig config, int seed, float std)
    {
        var rng = new Random(seed);
        foreach (var expected in ExpectedTensors(model))
        {
            if (NativeConfigMapper.ComputedTensor(config, expected.Name) is { } computed)
            {
                Set(model, expected, computed);
                continue;
            }
            long n = 1;
            foreach (var d in expected.Shape) n *= d;
            var data = new float[n];
            var isNorm = expected.Name.Contains("ln_") || expected.Name.Contains("norm");
            var isBias = expected.Name.EndsWith(".bias") || expected.Name == "final_logits_bias"; // Marian's logits bias: 0
            if (isNorm && !isBias) Array.Fill(data, 1f);
            else if (!isBias)
                for (long i = 0; i < n; i += 2)
                {
                    // Box–Muller: two normals per pair of uniforms.
                    var u1 = 1.0 - rng.NextDouble();
                    var u2 = rng.NextDouble();
                    var r = Math.Sqrt(-2 * Math.Log(u1)) * std;
                    data[i] = (float)(r * Math.Cos(2 * Math.PI * u2));
                    if (i + 1 < n) data[i + 1] = (float)(r * Math.Sin(2 * Math.PI * u2));
                }
            Set(model, expected, data);
        }
        NativeCheck.Ok(NativeMethods.ModelFinalize(model), "inq_model_finalize");
    }
}
