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
        },
        MarianConfig m => ToNativeMarian(m),
        _ => throw new UnsupportedModelException(config.FilePath,
            $"model_type '{config.ModelType}' has no native implementation yet (supported: gpt2, llama, mistral, qwen2, marian)"),
    };

    static unsafe NativeModelConfig ToNativeMarian(MarianConfig m)
    {
        // The native block shares head count and MLP width between the stacks, and one embedding table.
        if (m.EncoderAttentionHeads != m.DecoderAttentionHeads || m.EncoderFfnDim != m.DecoderFfnDim)
            throw new UnsupportedModelException(m.FilePath,
                $"encoder and decoder differ in heads ({m.EncoderAttentionHeads} vs {m.DecoderAttentionHeads}) or ffn " +
                $"width ({m.EncoderFfnDim} vs {m.DecoderFfnDim}); the native Marian graph needs them equal");
        if (!m.ShareEncoderDecoderEmbeddings || m.DecoderVocabSize != m.VocabSize)
            throw new UnsupportedModelException(m.FilePath,
                "separate encoder/decoder vocabularies (share_encoder_decoder_embeddings false) are not supported");
        if (m.HeadDim * m.DecoderAttentionHeads != m.DModel)
            throw new UnsupportedModelException(m.FilePath, $"head_dim {m.HeadDim} × heads ≠ d_model {m.DModel}");
        return new NativeModelConfig
        {
            StructSize = sizeof(NativeModelConfig),
            Arch = (int)NativeArch.Marian,
            NLayer = m.DecoderLayers,
            NEncoderLayer = m.EncoderLayers,
            NHead = m.DecoderAttentionHeads,
            NEmbd = m.DModel,
            NInner = m.DecoderFfnDim,
            NPositions = m.MaxPositionEmbeddings ?? 1024,
            VocabSize = m.VocabSize,
            Activation = Activation(m.Activation, m.FilePath),
            NormEps = (float)m.LayerNormEpsilon,
            TieWordEmbeddings = 1,
            ScaleAttnWeights = 1,
            EmbedScale = (float)m.EmbeddingScale,
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
        MarianConfig when canonical == "model.shared.weight" =>
            [canonical, "model.encoder.embed_tokens.weight", "model.decoder.embed_tokens.weight"],
        _ => [canonical],
    };

    /// <summary>The config fields a shape error should mention.</summary>
    public static string Describe(ModelConfig config) => config switch
    {
        Gpt2Config g => $"n_layer {g.NLayer}, n_head {g.NHead}, n_embd {g.NEmbd}, n_inner {g.NInner}, " +
                        $"n_positions {g.NPositions}, vocab_size {g.VocabSize}",
        LlamaConfig l => $"num_hidden_layers {l.NumHiddenLayers}, num_attention_heads {l.NumAttentionHeads}, " +
                         $"num_key_value_heads {l.NumKeyValueHeads}, hidden_size {l.HiddenSizeValue}, " +
                         $"intermediate_size {l.IntermediateSize}, vocab_size {l.VocabSize}",
        MarianConfig m => $"d_model {m.DModel}, encoder_layers {m.EncoderLayers}, decoder_layers {m.DecoderLayers}, " +
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
