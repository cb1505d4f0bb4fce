using InseqNative.Loading;

namespace InseqNative.Bench;

/// <summary>Model shapes the benchmark builds in memory with random weights.</summary>
public static class BenchShapes
{
    public static IReadOnlyList<string> Names => ["gpt2-small", "gpt2-medium", "tiny-gpt2"];

    /// <summary>The shape's config; EOS is GPT-2's (the last id), which the engine's UNK/EOS baseline needs.</summary>
    public static ModelConfig Get(string name) => Shape(name) with { EosTokenIds = [50256] };

    static ModelConfig Shape(string name) => name switch
    {
        "gpt2-small" => ModelConfig.ForGpt2(layers: 12, heads: 12, hidden: 768, vocab: 50257, positions: 1024),
        "gpt2-medium" => ModelConfig.ForGpt2(layers: 24, heads: 16, hidden: 1024, vocab: 50257, positions: 1024),
        "tiny-gpt2" => ModelConfig.ForGpt2(layers: 2, heads: 4, hidden: 64, vocab: 50257, positions: 128),
        _ => throw new InvalidInputException($"unknown bench shape '{name}' (known: {string.Join(", ", Names)})"),
    };
}
