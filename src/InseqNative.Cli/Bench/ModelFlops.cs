using InseqNative.Loading;

namespace InseqNative.Bench;

/// <summary>
/// Analytic FLOP counts of our decoder-only passes, for achieved-TFLOP/s lines: 2·in·out per token per weight
/// matrix (the backward's input gradient costs the same; no weight gradients are computed), 4·A·keys per query in the
/// attention forward (QKᵀ and PV) and 8·A·keys in its backward (dP, dQ, dK, dV), 2·C·V per LM-head row. Norms,
/// activations and softmax are left out (a few percent). Null for encoder-decoders (not modelled).
/// </summary>
public static class ModelFlops
{
    /// <summary>FLOPs of the bench's fused pass: a forward over batch × seq tokens with logits at every position,
    /// then seq − 1 cotangents per row, cotangent j back through positions 0..j.</summary>
    public static double? FusedPass(ModelConfig config, int batch, int seq)
    {
        if (PerTokenLayerGemm(config) is not { } g) return null;
        double c = config.HiddenSize, a = AttentionWidth(config), v = config.VocabSize, l = config.NumLayers;
        double T = seq;
        var forward = l * (T * g + 4 * a * T * (T + 1) / 2) + T * 2 * c * v;
        double backward = 0;
        for (var j = 0; j < seq - 1; j++)
        {
            double rows = j + 1;
            backward += l * (rows * g + 8 * a * rows * (rows + 1) / 2) + 2 * c * v;
        }
        return batch * (forward + backward);
    }

    /// <summary>FLOPs of a forward over batch × seq tokens with logits at every position.</summary>
    public static double? Forward(ModelConfig config, int batch, int seq)
    {
        if (PerTokenLayerGemm(config) is not { } g) return null;
        double c = config.HiddenSize, a = AttentionWidth(config), v = config.VocabSize, T = seq;
        return batch * (config.NumLayers * (T * g + 4 * a * T * (T + 1) / 2) + T * 2 * c * v);
    }

    // GEMM FLOPs of one token through one block.
    static double? PerTokenLayerGemm(ModelConfig config)
    {
        double c = config.HiddenSize;
        switch (config)
        {
            case Gpt2Config g:
                return 2 * c * 3 * c + 2 * c * c + 2 * 2 * c * g.NInner;
            case LlamaConfig l:
                var headDim = c / l.NumAttentionHeads;
                var kv = l.NumKeyValueHeads * headDim;
                return 2 * c * c + 2 * 2 * c * kv + 2 * c * c + 3 * 2 * c * l.IntermediateSize;
            default:
                return null;
        }
    }

    static double AttentionWidth(ModelConfig config) => config.HiddenSize;
}
