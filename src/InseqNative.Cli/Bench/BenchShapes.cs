using System.Text.Json.Nodes;
using InseqNative.Loading;

namespace InseqNative.Bench;

/// <summary>
/// Model shapes the benchmark builds in memory with random weights: GPT-2 and Llama decoders, Marian and T5
/// encoder-decoders (each with a tiny variant for smoke tests). Encoder-decoder shapes are parsed from the
/// config.json their Hugging Face checkpoint ships (the shape fields and special token ids), so they take exactly
/// the loader's path.
/// </summary>
public static class BenchShapes
{
    public static IReadOnlyList<string> Names =>
        ["gpt2-small", "gpt2-medium", "tiny-gpt2", "marian-base", "flan-t5-base", "llama-1b", "tiny-marian", "tiny-t5", "tiny-llama"];

    public static ModelConfig Get(string name) => name switch
    {
        // EOS is GPT-2's (the last id), which the engine's UNK/EOS baseline needs.
        "gpt2-small" => ModelConfig.ForGpt2(layers: 12, heads: 12, hidden: 768, vocab: 50257, positions: 1024) with { EosTokenIds = [50256] },
        "gpt2-medium" => ModelConfig.ForGpt2(layers: 24, heads: 16, hidden: 1024, vocab: 50257, positions: 1024) with { EosTokenIds = [50256] },
        "tiny-gpt2" => ModelConfig.ForGpt2(layers: 2, heads: 4, hidden: 64, vocab: 50257, positions: 128) with { EosTokenIds = [50256] },
        // Helsinki-NLP/opus-mt-en-de (MarianMTModel): 6+6 post-norm layers, swish, √d_model-scaled embeddings.
        "marian-base" => Marian(layers: 6, heads: 8, dModel: 512, ffn: 2048, vocab: 58101, positions: 512),
        "tiny-marian" => Marian(layers: 2, heads: 4, dModel: 64, ffn: 128, vocab: 1000, positions: 128),
        // google/flan-t5-base (T5ForConditionalGeneration): 12+12 layers, gated-gelu, relative buckets, untied head.
        "flan-t5-base" => T5(layers: 12, heads: 12, dModel: 768, dKv: 64, dFf: 2048, vocab: 32128),
        "tiny-t5" => T5(layers: 2, heads: 4, dModel: 64, dKv: 16, dFf: 128, vocab: 1000),
        // A Llama ~1.1B decoder (TinyLlama-like width, 16 layers): grouped-query attention, untied head.
        "llama-1b" => ModelConfig.ForLlama(layers: 16, heads: 32, hidden: 2048, intermediate: 8192, vocab: 32000,
            positions: 2048, kvHeads: 8, rmsNormEpsilon: 1e-5, ropeTheta: 10000, bosTokenId: 1, eosTokenId: 2),
        "tiny-llama" => ModelConfig.ForLlama(layers: 2, heads: 4, hidden: 64, intermediate: 128, vocab: 1000,
            positions: 128, kvHeads: 2, bosTokenId: 1, eosTokenId: 2),
        _ => throw new InvalidInputException($"unknown bench shape '{name}' (known: {string.Join(", ", Names)})"),
    };

    /// <summary>The header's shape summary, e.g. "6+6 layers (encoder+decoder), 8 heads, 512 wide, ffn 2048, vocab 58101".</summary>
    public static string Describe(ModelConfig c) => c switch
    {
        EncoderDecoderConfig e => $"{e.EncoderLayers}+{e.DecoderLayers} layers (encoder+decoder), {e.NumHeads} heads, " +
                                  $"{e.HiddenSize} wide, ffn {e.DecoderFfnDim}{(e.GatedFeedForward ? " gated" : "")}, vocab {e.VocabSize}",
        LlamaConfig l => $"{l.NumLayers} layers, {l.NumHeads} heads ({l.NumKeyValueHeads} KV), {l.HiddenSize} wide, " +
                         $"ffn {l.IntermediateSize}, vocab {l.VocabSize}",
        _ => $"{c.NumLayers} layers, {c.NumHeads} heads, {c.HiddenSize} wide, vocab {c.VocabSize}",
    };

    /// <summary>Ids a random sequence never draws: EOS (the UNK/EOS baseline), pad, BOS and the decoder start.</summary>
    public static IReadOnlySet<int> SpecialIds(ModelConfig c) =>
        new HashSet<int>(c.EosTokenIds.Concat(new[] { c.PadTokenId, c.BosTokenId, c.DecoderStartTokenId }.OfType<int>()));

    static ModelConfig Marian(int layers, int heads, int dModel, int ffn, int vocab, int positions) => Parse(new JsonObject
    {
        ["model_type"] = "marian", ["vocab_size"] = vocab, ["d_model"] = dModel,
        ["encoder_layers"] = layers, ["decoder_layers"] = layers,
        ["encoder_attention_heads"] = heads, ["decoder_attention_heads"] = heads,
        ["encoder_ffn_dim"] = ffn, ["decoder_ffn_dim"] = ffn, ["activation_function"] = "swish",
        ["max_position_embeddings"] = positions, ["scale_embedding"] = true, ["normalize_before"] = false,
        ["pad_token_id"] = vocab - 1, ["eos_token_id"] = 0, ["bos_token_id"] = 0, ["decoder_start_token_id"] = vocab - 1,
    });

    static ModelConfig T5(int layers, int heads, int dModel, int dKv, int dFf, int vocab) => Parse(new JsonObject
    {
        ["model_type"] = "t5", ["vocab_size"] = vocab, ["d_model"] = dModel, ["d_kv"] = dKv, ["d_ff"] = dFf,
        ["num_layers"] = layers, ["num_decoder_layers"] = layers, ["num_heads"] = heads,
        ["relative_attention_num_buckets"] = 32, ["relative_attention_max_distance"] = 128,
        ["feed_forward_proj"] = "gated-gelu", ["tie_word_embeddings"] = false, ["layer_norm_epsilon"] = 1e-6,
        ["pad_token_id"] = 0, ["eos_token_id"] = 1, ["decoder_start_token_id"] = 0,
    });

    static ModelConfig Parse(JsonObject json) => ModelConfig.Parse(json.ToJsonString(), $"<bench shape {json["model_type"]}>");
}
