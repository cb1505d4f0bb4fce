using InseqNative.Interop;
using InseqNative.Loading;

namespace InseqNative;

/// <summary>The one place that knows how a typed config becomes the native <c>inq_model_config</c> and how the
/// native side's canonical tensor names map to a checkpoint's names.</summary>
static class NativeConfigMapper
{
    public static unsafe NativeModelConfig ToNative(ModelConfig config) => config switch
    {
        Gpt2Config g => new NativeModelConfig
        {
            StructSize = sizeof(NativeModelConfig),
            Arch = (int)NativeArch.Gpt2,
            NLayer = g.NLayer,
            NHead = g.NHead,
            NEmbd = g.NEmbd,
            NInner = g.NInner,
            NPositions = g.NPositions,
            VocabSize = g.VocabSize,
            Activation = (int)(g.Activation switch
            {
                ActivationFunction.GeluTanh => NativeActivation.GeluTanh,
                ActivationFunction.GeluErf => NativeActivation.GeluErf,
                ActivationFunction.Relu => NativeActivation.Relu,
                ActivationFunction.Silu => NativeActivation.Silu,
                _ => throw new UnsupportedModelException(g.FilePath, $"activation {g.Activation} has no native kernel"),
            }),
            NormEps = (float)g.LayerNormEpsilon,
            TieWordEmbeddings = g.TieWordEmbeddings ? 1 : 0,
            ScaleAttnWeights = g.ScaleAttnWeights ? 1 : 0,
            ScaleAttnByInverseLayerIdx = g.ScaleAttnByInverseLayerIdx ? 1 : 0,
        },
        _ => throw new UnsupportedModelException(config.FilePath,
            $"model_type '{config.ModelType}' has no native implementation yet (supported: gpt2)"),
    };

    /// <summary>Checkpoint names to try for a canonical native tensor name, most likely first.
    /// GPT2LMHeadModel saves "transformer.h.0..."; a bare GPT2Model saves "h.0...".</summary>
    public static string[] CheckpointNames(ModelConfig config, string canonical) => config switch
    {
        Gpt2Config when canonical.StartsWith("lm_head.") => [canonical],
        Gpt2Config => ["transformer." + canonical, canonical],
        _ => [canonical],
    };

    /// <summary>The config fields a shape error should mention.</summary>
    public static string Describe(ModelConfig config) => config switch
    {
        Gpt2Config g => $"n_layer {g.NLayer}, n_head {g.NHead}, n_embd {g.NEmbd}, n_inner {g.NInner}, " +
                        $"n_positions {g.NPositions}, vocab_size {g.VocabSize}",
        _ => $"hidden {config.HiddenSize}, vocab_size {config.VocabSize}",
    };
}
