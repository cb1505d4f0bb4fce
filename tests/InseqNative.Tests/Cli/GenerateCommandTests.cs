using System.Text.Json;
using InseqNative.Cli;
using InseqNative.Tests.Fixtures;
using InseqNative.Tests.Loading;
using InseqNative.Tests.Model;

namespace InseqNative.Tests.Cli;

public class GenerateCommandTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void Json_output_has_the_generated_ids_text_and_log_probabilities()
    {
        var reference = HfReference.Load("tiny-gpt2")[0];
        var (code, output, err) = Run("generate", "--model", FixturePaths.Models("tiny-gpt2"), "--input", reference.Prompt,
            "--max-new-tokens", "10", "--json");
        Assert.True(code == 0, err);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(reference.InputIds, HfReference.Ints(root.GetProperty("input_ids")));
        Assert.Equal(reference.GreedyNewIds, HfReference.Ints(root.GetProperty("output_ids")));
        Assert.Equal(reference.GreedyText[reference.Prompt.Length..], root.GetProperty("text").GetString());
        var logprobs = root.GetProperty("token_logprobs").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(10, logprobs.Length);
        Assert.All(logprobs, lp => Assert.True(lp < 0 && lp > -20));
        // Greedy picks the argmax, so its probability is that of the HF logits' row maximum.
        var v = reference.Logits.Dim(1);
        var firstRow = reference.Logits.Slice(reference.InputIds.Length - 1);
        var expected = Math.Log(FixtureParityTests.Softmax(firstRow).Max());
        // reference.Logits are over the forced target, whose prefix equals the prompt: row prompt_len−1 is the prompt's last.
        Assert.Equal(expected, logprobs[0], 4);
    }

    [Fact]
    public void Text_output_shows_decoded_tokens_and_probabilities()
    {
        var (code, output, err) = Run("generate", "-m", FixturePaths.Models("tiny-gpt2"), "-i", "Hello world, this is",
            "--max-new-tokens", "3");
        Assert.True(code == 0, err);
        Assert.StartsWith("Hello world, this is Priv cxshared", output);
        Assert.Contains("\" Priv\"", output);       // Ġ shown as a space
    }

    [Fact]
    public void Sampling_with_a_seed_is_repeatable_and_valid()
    {
        string[] args = ["generate", "-m", FixturePaths.Models("tiny-gpt2"), "-i", "The quick brown fox",
            "--max-new-tokens", "8", "--do-sample", "--temperature", "0.9", "--top-k", "40", "--top-p", "0.95",
            "--seed", "3", "--json"];
        var a = Run(args);
        var b = Run(args);
        Assert.True(a.Code == 0, a.Err);
        Assert.Equal(a.Out, b.Out);
    }

    [Theory]
    [InlineData("a missing folder", "generate --model /nonexistent/model --input hi", "/nonexistent/model")]
    [InlineData("empty input", "generate --model {tiny} --input \"\"", "empty")]
    [InlineData("a bad device", "generate --model {tiny} --input hi --device tpu", "tpu")]
    public void Bad_input_is_a_clear_error_on_stderr_with_a_nonzero_exit(string what, string commandLine, string mention)
    {
        var args = System.CommandLine.Parsing.CommandLineParser.SplitCommandLine(
            commandLine.Replace("{tiny}", FixturePaths.Models("tiny-gpt2"))).ToArray();
        var (code, _, err) = Run(args);
        Assert.True(code != 0, what);
        Assert.Contains(mention, err);
        Assert.DoesNotContain("   at ", err); // a message, not a stack trace
    }

    [Fact]
    public void Cuda_without_a_gpu_is_a_clear_error()
    {
        Assert.SkipWhen(InseqNative.Interop.NativeInfo.CudaDeviceCount() > 0, "a GPU is present");
        var (code, _, err) = Run("generate", "-m", FixturePaths.Models("tiny-gpt2"), "-i", "hi", "--device", "cuda");
        Assert.Equal(2, code);
        Assert.Contains("CUDA", err);
    }
}
