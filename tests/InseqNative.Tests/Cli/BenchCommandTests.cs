namespace InseqNative.Tests.Cli;

/// <summary>Smoke tests of <c>inseq bench</c> on the tiny shape: the command runs and prints its Markdown tables.
/// No timing is asserted (bench numbers belong in bench/RESULTS.md, never in unit tests).</summary>
public class BenchCommandTests
{
    [Fact]
    public void Tiny_shape_prints_the_model_pass_and_attribution_tables()
    {
        var (code, output, err) = CliRunner.Run("bench", "--shape", "tiny-gpt2", "--seq", "6", "--repeats", "1",
            "--threads", "1", "--gemm-size", "0", "--lengths", "3+3", "--methods", "saliency,integrated_gradients,occlusion",
            "--ig-steps", "2", "--max-seconds", "0");
        Assert.True(code == 0, err);
        Assert.Contains("# inseq bench — tiny-gpt2", output);
        Assert.Contains("- precision: fp32", output);
        Assert.Contains("## Model passes — 1 thread", output);
        Assert.Contains("| input gradients, fused (1 forward + K cotangents) |", output);
        Assert.Contains("## Attribution — 1 thread", output);
        Assert.Contains("| prompt+forced | method | fused wall (s) | fused tokens/s | stepwise wall (s) | stepwise tokens/s | fused speed-up |", output);
        foreach (var method in new[] { "saliency", "integrated_gradients (2 steps)", "occlusion" })
        {
            var row = output.Split('\n').Single(l => l.StartsWith($"| 3+3 | {method} |", StringComparison.Ordinal));
            Assert.DoesNotContain("—", row); // both strategies ran: no skipped cell
            Assert.EndsWith("×", row.Split('|')[7].Trim());
        }
        Assert.DoesNotContain("\n- 3+3", output); // no notes: nothing skipped, each cell ran the strategy it asked for
    }

    [Fact]
    public void A_cell_over_the_time_limit_is_skipped_with_a_note()
    {
        var (code, output, err) = CliRunner.Run("bench", "--shape", "tiny-gpt2", "--sections", "attribution",
            "--threads", "1", "--lengths", "3+3", "--methods", "saliency", "--strategies", "stepwise",
            "--max-seconds", "0.000001");
        Assert.True(code == 0, err);
        Assert.Contains("| 3+3 | saliency | — | — |", output);
        Assert.Contains("stepwise: skipped: > ", output);
        Assert.DoesNotContain("fused wall", output);
    }

    [Theory]
    [InlineData("--lengths", "20")]
    [InlineData("--strategies", "fast")]
    [InlineData("--methods", "nope")]
    [InlineData("--sections", "gpu")]
    public void Bad_arguments_are_user_errors(string option, string value)
    {
        string[] args = ["bench", "--shape", "tiny-gpt2", option, value];
        var (code, _, err) = CliRunner.Run(option == "--sections" ? args : [.. args, "--sections", "attribution"]);
        Assert.Equal(2, code);
        Assert.StartsWith("error:", err);
    }
}
