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
            Activation = Activation(g.Activation, g.FilePath),
            NormEps = (float)g.LayerNormEpsilon,
            TieWordEmbeddings = g.TieWordEmbeddings ? 1 : 0,
            ScaleAttnWeights = g.ScaleAttnWeights ? 1 : 0,
            ScaleAttnByInverseLayerIdx = g.ScaleAttnByInverseLayerIdx ? 1 : 0,
        },
        LlamaConfig l => new NativeModelConfig
        {
            StructSize = sizeof(NativeModelConfig),
            Arch = (int)NativeArch.Llama,
            NLayer = l.NumHiddenLayers,
            NHead = l.NumAttentionHeads,
            NKvHead = l.NumKeyValueHeads,
            NEmbd = l.HiddenSizeValue,
            NInner = l.IntermediateSize,
            // No position table: this only bounds the sequences the native side accepts.
            NPositions = l.MaxPositions ?? l.MaxPositionEmbeddings,
            VocabSize = l.VocabSize,
            Activation = (int)NativeActivation.Silu,
            NormEps = (float)l.RmsNormEps,
            TieWordEmbeddings = l.TieWordEmbeddings ? 1 : 0,
            ScaleAttnWeights = 1,
            RopeTheta = (float)l.RopeTheta,
            AttnQkvBias = l.QkvBias ? 1 : 0,
            AttnOutBias = l.OutputBias ? 1 : 0,
            MlpBias = l.MlpBias ? 1 : 0,
            SlidingWindow = l.SlidingWindow ?? 0,
            RopeInvFreqTable = l.RopeScaling is null ? 0 : 1,
        },
        EncoderDecoderConfig e => ToNativeEncoderDecoder(e),
        _ => throw new UnsupportedModelException(config.FilePath,
            $"model_type '{config.ModelType}' has no native implementation yet (supported: gpt2, llama, mistral, qwen2, marian, m2m_100, t5)"),
    };

    static unsafe NativeModelConfig ToNativeEncoderDecoder(EncoderDecoderConfig m)
    {
        // The native blocks share head count and MLP width between the stacks, and one embedding table.
        if (m.EncoderAttentionHeads != m.DecoderAttentionHeads || m.EncoderFfnDim != m.DecoderFfnDim)
            throw new UnsupportedModelException(m.FilePath,
                $"encoder and decoder differ in heads ({m.EncoderAttentionHeads} vs {m.DecoderAttentionHeads}) or ffn " +
                $"width ({m.EncoderFfnDim} vs {m.DecoderFfnDim}); the native encoder-decoder graph needs them equal");
        if (!m.ShareEncoderDecoderEmbeddings || m.DecoderVocabSize != m.VocabSize)
            throw new UnsupportedModelException(m.FilePath,
                "separate encoder/decoder vocabularies (share_encoder_decoder_embeddings false) are not supported");
        var t5 = m as T5Config;
        if (t5 is null && m.HeadDim * m.DecoderAttentionHeads != m.DModel)
            throw new UnsupportedModelException(m.FilePath, $"head_dim {m.HeadDim} × heads ≠ d_model {m.DModel}");
        var arch = m switch
        {
            MarianConfig => NativeArch.Marian,
            M2M100Config => NativeArch.M2M100,
            T5Config => NativeArch.T5,
            _ => throw new UnsupportedModelException(m.FilePath, $"model_type '{m.ModelType}' has no native encoder-decoder graph"),
        };
        return new NativeModelConfig
        {
            StructSize = sizeof(NativeModelConfig),
            Arch = (int)arch,
            NLayer = m.DecoderLayers,
            NEncoderLayer = m.EncoderLayers,
            NHead = m.DecoderAttentionHeads,
            NEmbd = m.DModel,
            NInner = m.DecoderFfnDim,
            // T5 has no position table: this only bounds the sequences the native side accepts.
            NPositions = m.MaxPositionEmbeddings ?? (t5 is not null ? 65536 : 1024),
            VocabSize = m.VocabSize,
            Activation = Activation(m.Activation, m.FilePath),
            NormEps = (float)m.LayerNormEpsilon,
            TieWordEmbeddings = t5 is null || t5.TieWordEmbeddings ? 1 : 0,
            ScaleAttnWeights = t5 is null ? 1 : 0,
            EmbedScale = (float)m.EmbeddingScale,
            HeadDim = t5?.DKv ?? 0,
            RelNumBuckets = t5?.RelativeAttentionNumBuckets ?? 0,
            RelMaxDistance = t5?.RelativeAttentionMaxDistance ?? 0,
            GatedMlp = m.GatedFeedForward ? 1 : 0,
        };
    }

    /// <summary>Checkpoint names to try for a canonical native tensor name, most likely first.
    /// GPT2LMHeadModel saves "transformer.h.0..."; a bare GPT2Model saves "h.0...". LlamaForCausalLM (and
    /// Mistral/Qwen2) save the canonical "model.layers.0..."; a bare LlamaModel saves "layers.0...".</summary>
    public static string[] CheckpointNames(ModelConfig config, string canonical) => config switch
    {
        Gpt2Config when canonical.StartsWith("lm_head.") => [canonical],
        Gpt2Config => ["transformer." + canonical, canonical],
        LlamaConfig when canonical.StartsWith("model.") => [canonical, canonical["model.".Length..]],
        // MarianMTModel saves "model.shared.weight"; some checkpoints keep only the tied copies.
        EncoderDecoderConfig when canonical == "model.shared.weight" =>
            [canonical, "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"],
        T5Config when canonical == "shared.weight" => [canonical, "encoder.embed_tokens.weight", "decoder.embed_tokens.weight"],
        _ => [canonical],
    };

    /// <summary>Name of the tensor that is not in a checkpoint but computed from the config (rope_scaling's rotary
    /// frequencies, [head_dim / 2]).</summary>
    public const string RopeInvFreq = "rope.inv_freq";

    /// <summary>The data of a tensor computed from the config rather than read from a checkpoint, or null.</summary>
    public static float[]? ComputedTensor(ModelConfig config, string canonical) =>
        canonical == RopeInvFreq && config is LlamaConfig { RopeScaling: { } scaling } l
            ? scaling.InverseFrequencies((float)l.RopeTheta, l.HeadDim)
            : null;

    /// <summary>The config fields a shape error should mention.</summary>
    public static string Describe(ModelConfig config) => config switch
    {
        Gpt2Config g => $"n_layer {g.NLayer}, n_head {g.NHead}, n_embd {g.NEmbd}, n_inner {g.NInner}, " +
                        $"n_positions {g.NPositions}, vocab_size {g.VocabSize}",
        LlamaConfig l => $"num_hidden_layers {l.NumHiddenLayers}, num_attention_heads {l.NumAttentionHeads}, " +
                         $"num_key_value_heads {l.NumKeyValueHeads}, hidden_size {l.HiddenSizeValue}, " +
                         $"intermediate_size {l.IntermediateSize}, vocab_size {l.VocabSize}",
        EncoderDecoderConfig m => $"d_model {m.DModel}, encoder_layers {m.EncoderLayers}, decoder_layers {m.DecoderLayers}, " +
                          $"attention heads {m.DecoderAttentionHeads}, ffn_dim {m.DecoderFfnDim}, vocab_size {m.VocabSize}",
        _ => $"hidden {config.HiddenSize}, vocab_size {config.VocabSize}",
    };

    /// <summary>Our activation enum → the native one; one kernel per value, or a clear refusal naming the config.</summary>
    static int Activation(ActivationFunction activation, string? configPath) => (int)(activation switch
    {
        ActivationFunction.GeluTanh => NativeActivation.GeluTanh,
        ActivationFunction.GeluErf => NativeActivation.GeluErf,
        ActivationFunction.Relu => NativeActivation.Relu,
        ActivationFunction.Silu => NativeActivation.Silu,
        _ => throw new UnsupportedModelException(configPath, $"activation {activation} has no native kernel"),
    });
}
