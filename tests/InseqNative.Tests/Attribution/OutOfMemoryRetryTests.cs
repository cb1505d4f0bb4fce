using InseqNative.Attribution;
using InseqNative.Interop;
using InseqNative.Loading;

namespace InseqNative.Tests.Attribution;

/// <summary>
/// A device that runs out of memory mid-call (less free than the budget assumed) gets a typed
/// <see cref="DeviceOutOfMemoryException"/>; the engine then re-runs that sequence with half the chunk until it fits,
/// with results identical to an unconstrained run, and says so in the output's timings. The limit is simulated here
/// (<see cref="TransformerModel.SimulatedFreeBytes"/>); tests/Cuda exhausts a real GPU.
/// </summary>
public class OutOfMemoryRetryTests
{
    static AttributionModel Model() =>
        new(TransformerModel.CreateRandom(
            ModelConfig.ForGpt2(layers: 2, heads: 2, hidden: 32, vocab: 60, positions: 64) with { EosTokenIds = [59] },
            seed: 3, Device.Cpu, std: 0.2f));

    static readonly int[] Prompt = [5, 9, 13, 2, 40];
    static readonly int[] Target = [.. Prompt, .. Enumerable.Range(0, 30).Select(i => (i * 7 + 3) % 58)];

    [Theory]
    [InlineData("saliency")]
    [InlineData("integrated_gradients")]
    public void A_failed_arena_retries_with_smaller_chunks_and_gives_the_same_scores(string method)
    {
        using var model = Model();
        var options = new AttributeOptions { Method = method };
        var reference = model.AttributeIds([Prompt], [Target], options);
        var rows = reference.Info["timings"]!["row_chunk"]!.GetValue<int>();
        var cotangents = reference.Info["timings"]!["cotangent_rows"]!.GetValue<int>();
        Assert.True(cotangents > 1, "the unconstrained run must use more than one cotangent row for this test to mean anything");

        // Room for one row and one cotangent row, not for what the budget chose.
        var free = model.Model.ContextMemoryBytes(1, Target.Length, 1);
        Assert.True(model.Model.ContextMemoryBytes(rows, Target.Length, cotangents) > free);
        model.Model.SimulatedFreeBytes = free;
        var retried = model.AttributeIds([Prompt], [Target], options);

        var retries = retried.Info["timings"]!["out_of_memory_retries"]!.AsArray();
        Assert.NotEmpty(retries);
        Assert.Contains("out of device memory", retries[0]!.GetValue<string>());
        Assert.True(retried.Info["timings"]!["cotangent_rows"]!.GetValue<int>() < cotangents);
        Assert.Equal(reference.SequenceAttributions[0].TargetAttributions!.Data,
            retried.SequenceAttributions[0].TargetAttributions!.Data);
        Assert.Equal(reference.SequenceAttributions[0].StepScores.Keys, retried.SequenceAttributions[0].StepScores.Keys);
    }

    [Fact]
    public void When_not_even_one_row_fits_the_out_of_memory_error_surfaces_typed()
    {
        using var model = Model();
        model.Model.SimulatedFreeBytes = 1024;
        var e = Assert.Throws<DeviceOutOfMemoryException>(() =>
            model.AttributeIds([Prompt], [Target], new AttributeOptions { Method = "saliency" }));
        Assert.Contains("1024 bytes free", e.Message);
        // The model keeps working once memory is there again.
        model.Model.SimulatedFreeBytes = null;
        Assert.Single(model.AttributeIds([Prompt], [Target], new AttributeOptions { Method = "saliency" }).SequenceAttributions);
    }
}
