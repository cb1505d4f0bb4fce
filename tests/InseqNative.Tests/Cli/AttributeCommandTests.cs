using InseqNative.Cli;
using InseqNative.Outputs;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Cli;

public class AttributeCommandTests
{
    static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void Attribute_saves_inseq_json_and_html_and_show_renders_the_file()
    {
        var dir = Directory.CreateTempSubdirectory("inseq-cli").FullName;
        try
        {
            var json = Path.Combine(dir, "out.json");
            var html = Path.Combine(dir, "out.html");
            var (code, output, err) = Run("attribute", "--model", FixturePaths.Models("tiny-gpt2"), "--method",
                "integrated_gradients", "--input", "The quick brown fox jumps over the",
                "--generated", "The quick brown fox jumps over the lazy dog", "--step_scores", "probability,entropy",
                "--method-args", "{\"n_steps\": 8, \"method\": \"riemann_trapezoid\"}", "--save", json, "--viz", html);
            Assert.True(code == 0, err);
            Assert.Contains("lazy", output);                      // decoded column label
            Assert.Contains("entropy", output);
            var saved = FeatureAttributionOutput.Load(json);
            var seq = saved.SequenceAttributions[0];
            Assert.Equal(SequenceOutputKind.Granular, seq.Kind); // raw, un-aggregated, as Inseq's CLI saves
            Assert.Equal([9, 2, 64], seq.TargetAttributions!.Shape);
            Assert.Equal("integrated_gradients", saved.Info.Method);
            Assert.Contains("<table", File.ReadAllText(html));

            var shown = Run("show", json);
            Assert.True(shown.Code == 0, shown.Err);
            Assert.Contains("dog", shown.Out);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Attribute_generates_when_no_target_is_given()
    {
        var (code, output, err) = Run("attribute", "-m", FixturePaths.Models("tiny-gpt2"), "-i", "Hello world, this is",
            "--max-new-tokens", "3", "--method", "attention", "--step-scores", "probability");
        Assert.True(code == 0, err);
        Assert.Contains("Priv", output);
        Assert.Contains("3 tokens attributed", err);
    }

    [Fact]
    public void Attribute_works_unchanged_on_an_encoder_decoder_folder()
    {
        var dir = Directory.CreateTempSubdirectory("inseq-cli").FullName;
        try
        {
            var json = Path.Combine(dir, "out.json");
            var (code, output, err) = Run("attribute", "--model", FixturePaths.Models("tiny-marian"), "--input",
                "The house is small.", "--generated", "Das Haus ist klein.", "--attribute-target",
                "--step-scores", "probability", "--save", json);
            Assert.True(code == 0, err);
            Assert.DoesNotContain("no effect", err);
            Assert.Contains("Source attributions", output);
            var seq = FeatureAttributionOutput.Load(json).SequenceAttributions[0];
            Assert.Equal("▁Th", seq.Source[0].Token);
            Assert.Equal("<pad>", seq.Target[0].Token); // the decoder start token
            Assert.Equal(seq.Source.Count, seq.SourceAttributions!.Dim(0));
            Assert.Equal(seq.Target.Count, seq.TargetAttributions!.Dim(0));

            var generated = Run("attribute", "-m", FixturePaths.Models("tiny-t5"), "-i", "translate English to German: Hi",
                "--max-new-tokens", "3", "--method", "attention");
            Assert.True(generated.Code == 0, generated.Err);
            Assert.Contains("3 tokens attributed", generated.Err);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Theory]
    [InlineData("--method lime2", "saliency")]                              // unknown method lists the known ones
    [InlineData("--step-scores probabilty", "probability")]
    [InlineData("--method-args {\"n_stepz\":3} --method integrated_gradients", "n_steps")]
    [InlineData("--method-args [1,2]", "JSON object")]
    [InlineData("--attr-pos-start 30", "nothing to attribute")]
    public void Bad_arguments_are_clear_errors(string extra, string mention)
    {
        var args = new List<string> { "attribute", "-m", FixturePaths.Models("tiny-gpt2"), "-i", "The quick", "--generated", "The quick brown fox" };
        args.AddRange(extra.Split(' ')); // plain split: the JSON values here contain no spaces
        var (code, _, err) = Run(args.ToArray());
        Assert.NotEqual(0, code);
        Assert.Contains(mention, err);
    }

    [Fact]
    public void Show_of_a_missing_or_corrupt_file_is_a_clear_error()
    {
        var missing = Run("show", "/nonexistent/file.json");
        Assert.NotEqual(0, missing.Code);
        Assert.Contains("no such file", missing.Err);
        var bad = Path.GetTempFileName();
        File.WriteAllText(bad, "{\"__instance_type__\": [\"x\", \"Nope\"], \"attributes\": {}}");
        var corrupt = Run("show", bad);
        File.Delete(bad);
        Assert.NotEqual(0, corrupt.Code);
        Assert.Contains("Nope", corrupt.Err);
    }
}
