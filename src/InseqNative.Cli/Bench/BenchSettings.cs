using InseqNative.Attribution;

namespace InseqNative.Bench;

/// <summary>Everything <c>inseq bench</c> was asked to measure.</summary>
/// <param name="Sequence">Tokens per sequence of the model-pass section.</param>
/// <param name="Repeats">Timed repetitions of each model pass (median reported).</param>
/// <param name="Threads">CPU threads of the attribution section (0: all cores).</param>
/// <param name="ModelThreads">Thread counts the model-pass section runs with, one table each (empty: <see cref="Threads"/>).</param>
/// <param name="Sections">"model" and/or "attribution".</param>
/// <param name="Lengths">(prompt tokens, forced tokens) per attribution cell.</param>
/// <param name="AttributionRepeats">Timed repetitions of each attribution cell (median reported).</param>
/// <param name="MaxSeconds">A cell whose estimated wall time exceeds this is skipped (0: never skip).</param>
public sealed record BenchSettings(string Shape, int Sequence, int Batch, int Repeats, int Threads, Device Device,
    int GemmSize)
{
    /// <summary>GEMM modes to measure, one pass over the sections each (CUDA: fp32, tf32, bf16; the CPU: fp32).</summary>
    public IReadOnlyList<GemmPrecision> Precisions { get; init; } = [GemmPrecision.Fp32];
    public IReadOnlyList<int> ModelThreads { get; init; } = [];
    public IReadOnlyList<string> Sections { get; init; } = ["model", "attribution"];
    public IReadOnlyList<string> Methods { get; init; } = AttributionBench.DefaultMethods;
    public IReadOnlyList<(int Prompt, int Forced)> Lengths { get; init; } = [(20, 20), (64, 64)];
    public int IgSteps { get; init; } = 50;
    /// <summary>Attribution cells return granular attributions (Inseq's default); false: --no-granular, the
    /// aggregated output computed where the gradients are.</summary>
    public bool Granular { get; init; } = true;
    public IReadOnlyList<AttributionStrategy> Strategies { get; init; } = [AttributionStrategy.Fused, AttributionStrategy.Stepwise];
    public int AttributionRepeats { get; init; } = 1;
    public double MaxSeconds { get; init; } = 120;

    public bool Runs(string section) => Sections.Contains(section);
}
