namespace InseqNative.Tests.Cli;

/// <summary>Smoke tests of <c>inseq bench</c> on the tiny shapes (GPT-2, Marian, T5, Llama): the command runs and prints its Markdown tables.
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

    [Theory]
    [InlineData("tiny-marian", "2+2 layers (encoder+decoder)")]
    [InlineData("tiny-t5", "2+2 layers (encoder+decoder)")]
    public void Encoder_decoder_shapes_print_seq2seq_passes_and_source_target_attribution(string shape, string layers)
    {
        var (code, output, err) = CliRunner.Run("bench", "--shape", shape, "--seq", "5", "--repeats", "1",
            "--threads", "1", "--gemm-size", "0", "--lengths", "3+2", "--methods", "saliency,input_x_gradient,integrated_gradients",
            "--ig-steps", "2", "--max-seconds", "0");
        Assert.True(code == 0, err);
        Assert.Contains($"# inseq bench — {shape}: {layers}", output);
        Assert.Contains("## Model passes — 1 thread, batch 1 × 5 source + 5 target tokens", output);
        Assert.Contains("| forward (encoder over 5 + teacher-forced decoder over 5 tokens) |", output);
        Assert.Contains("| input gradients, fused (1 forward + K cotangents to source and target) |", output);
        Assert.Contains("source+target 3+2, median of 1, attribute_target", output);
        Assert.Contains("| source+target | method | fused wall (s) | fused tokens/s | stepwise wall (s) | stepwise tokens/s | fused speed-up |", output);
        foreach (var method in new[] { "saliency", "input_x_gradient", "integrated_gradients (2 steps)" })
        {
            var row = output.Split('\n').Single(l => l.StartsWith($"| 3+2 | {method} |", StringComparison.Ordinal));
            Assert.DoesNotContain("—", row);
            Assert.EndsWith("×", row.Split('|')[7].Trim());
        }
        Assert.DoesNotContain("\n- 3+2", output); // nothing skipped, no strategy fell back
    }

    [Fact]
    public void Llama_shape_runs_the_decoder_tables()
    {
        var (code, output, err) = CliRunner.Run("bench", "--shape", "tiny-llama", "--seq", "5", "--repeats", "1",
            "--threads", "1", "--gemm-size", "0", "--lengths", "2+2", "--methods", "saliency", "--max-seconds", "0");
        Assert.True(code == 0, err);
        Assert.Contains("# inseq bench — tiny-llama: 2 layers, 4 heads (2 KV)", output);
        Assert.Contains("| forward (logits at every position) |", output);
        Assert.Contains("| 2+2 | saliency |", output);
    }

    [Fact]
    public void Help_lists_every_shape()
    {
        var (code, output, err) = CliRunner.Run("bench", "--help");
        Assert.True(code == 0, err);
        foreach (var shape in new[] { "gpt2-small", "marian-base", "flan-t5-base", "llama-1b", "tiny-marian", "tiny-t5" })
            Assert.Contains(shape, output);
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
