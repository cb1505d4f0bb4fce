using System.CommandLine;
using InseqNative.Attribution;
using InseqNative.Outputs;
using InseqNative.Outputs.Serialization;
using Spectre.Console;

namespace InseqNative.Cli.Commands;

/// <summary><c>inseq attribute</c>: Inseq's model.attribute from the command line; snake_case aliases accepted.</summary>
static class AttributeCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Option<string>("--model", "-m") { Description = "Hugging Face model folder", Required = true };
        var method = new Option<string>("--method") { Description = $"attribution method: {string.Join(", ", Inseq.ListFeatureAttributionMethods())}", DefaultValueFactory = _ => "saliency" };
        var input = new Option<string[]>("--input", "-i") { Description = "input text (repeatable)", Required = true, AllowMultipleArgumentsPerToken = false };
        var generated = new Option<string[]>("--generated", "--generated-texts", "--generated_texts") { Description = "forced generated text, one per input (repeatable); omit to generate" };
        var stepScores = new Option<string[]>("--step-scores", "--step_scores") { Description = $"step scores (repeatable or comma-separated): {string.Join(", ", Inseq.ListStepFunctions())}" };
        var attributedFn = new Option<string?>("--attributed-fn", "--attributed_fn") { Description = "step function to attribute (default probability)" };
        var start = new Option<int?>("--attr-pos-start", "--attr_pos_start") { Description = "first attributed target position (negative: from the end)" };
        var end = new Option<int?>("--attr-pos-end", "--attr_pos_end") { Description = "end of the attributed positions (negative: from the end)" };
        var batch = new Option<int?>("--batch-size", "--batch_size") { Description = "sequences per batch" };
        var maxNew = new Option<int?>("--max-new-tokens", "--max_new_tokens") { Description = "tokens to generate when no --generated text is given" };
        var contrast = new Option<string[]>("--contrast-targets", "--contrast_targets") { Description = "contrast text, one per input (repeatable)" };
        var contrastSources = new Option<string[]>("--contrast-sources", "--contrast_sources") { Description = "contrast source text, one per input (repeatable; encoder-decoder models)" };
        var attributeTarget = new Option<bool>("--attribute-target", "--attribute_target") { Description = "also attribute the target prefix (encoder-decoder models; decoder-only always do)" };
        var includeEos = new Option<bool>("--include-eos-baseline", "--include_eos_baseline") { Description = "replace EOS with UNK in the baseline too" };
        var methodArgs = new Option<string?>("--method-args", "--method_args") { Description = "JSON object of method options with Inseq's names, e.g. {\"n_steps\": 16, \"method\": \"riemann_trapezoid\"}" };
        var save = new Option<string?>("--save") { Description = "write the raw (un-aggregated) output as Inseq JSON (.gz: gzip'd)" };
        var viz = new Option<string?>("--viz") { Description = "write an HTML heatmap of the aggregated output" };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => "auto" };
        var precision = new Option<string>("--precision") { Description = "GEMM mode on CUDA: fp32 (reference), tf32 or bf16 (tensor cores, opt-in; the CPU computes fp32)", DefaultValueFactory = _ => "fp32" };
        var strategy = new Option<string>("--strategy") { Description = "auto, fused or stepwise", DefaultValueFactory = _ => "auto" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "do not print the tables" };
        var noGranular = new Option<bool>("--no-granular") { Description = "return (and --save) attributions already aggregated (L2 over hidden units, normalized), computed where the gradients are: the per-hidden-unit scores never reach the host" };

        var cmd = new Command("attribute", "attribute generated tokens to their inputs (Inseq's model.attribute)");
        foreach (var o in new Option[] { model, method, input, generated, stepScores, attributedFn, start, end, batch, maxNew,
                     contrast, contrastSources, attributeTarget, includeEos, methodArgs, save, viz, device, precision, strategy, quiet, noGranular })
            cmd.Options.Add(o);
        cmd.SetAction(parse =>
        {
            try
            {
                var methodId = parse.GetValue(method)!;
                var kwargs = new Dictionary<string, object?>
                {
                    ["method"] = methodId,
                    ["step_scores"] = Split(parse.GetValue(stepScores)),
                    ["include_eos_baseline"] = parse.GetValue(includeEos),
                    ["strategy"] = parse.GetValue(strategy),
                };
                if (parse.GetValue(attributedFn) is { } fn) kwargs["attributed_fn"] = fn;
                if (parse.GetValue(start) is { } s) kwargs["attr_pos_start"] = s;
                if (parse.GetValue(end) is { } e) kwargs["attr_pos_end"] = e;
                if (parse.GetValue(batch) is { } b) kwargs["batch_size"] = b;
                if (parse.GetValue(contrast) is { Length: > 0 } ct) kwargs["contrast_targets"] = ct;
                if (parse.GetValue(contrastSources) is { Length: > 0 } cs) kwargs["contrast_sources"] = cs;
                if (parse.GetValue(maxNew) is { } mn)
                    kwargs["generation_args"] = new Dictionary<string, object?> { ["max_new_tokens"] = mn };
                if (parse.GetValue(methodArgs) is { } json)
                    kwargs["attribution_args"] = InseqArguments.ParseJsonObject(json, "--method-args");
                if (parse.GetValue(attributeTarget)) kwargs["attribute_target"] = true;
                var options = InseqArguments.ToOptions(kwargs) with { GranularAttributions = !parse.GetValue(noGranular) };

                using var attributionModel = Inseq.LoadModel(parse.GetValue(model)!, methodId, Device.Parse(parse.GetValue(device)!),
                    GemmPrecisionExtensions.Parse(parse.GetValue(precision)!));
                if (parse.GetValue(attributeTarget) && !attributionModel.Model.Config.IsEncoderDecoder)
                    stderr.WriteLine("note: --attribute-target has no effect on decoder-only models: their target prefix is always attributed");
                var inputs = parse.GetValue(input)!;
                var gen = parse.GetValue(generated) is { Length: > 0 } g ? g : null;
                var output = WithProgress(stderr, inputs.Length, progress =>
                    attributionModel.Attribute(inputs, gen, options with { Progress = progress }));

                if (parse.GetValue(save) is { } path)
                {
                    foreach (var written in output.Save(path, new AttributionSaveOptions { Overwrite = true }))
                        stderr.WriteLine($"saved {written}");
                }
                var aggregated = output.Aggregate();
                if (parse.GetValue(viz) is { } html)
                {
                    File.WriteAllText(html, aggregated.ToHtml($"inseq {methodId} — {Path.GetFileName(attributionModel.Model.FolderPath)}"));
                    stderr.WriteLine($"wrote {html}");
                }
                if (!parse.GetValue(quiet)) ConsoleRenderer.Render(aggregated, stdout);
                stderr.WriteLine($"{methodId}: {output.SequenceAttributions.Sum(x => x.StepCount)} tokens attributed in " +
                                 $"{output.Info.ExecTime:0.000} s ({output.Info["strategy"]} strategy, {output.Info["device"]}, {output.Info["gemm_precision"]})");
                return 0;
            }
            catch (Exception e)
            {
                return CliErrors.Report(e, stderr);
            }
        });
        return cmd;
    }

    static string[] Split(string[]? values) =>
        (values ?? []).SelectMany(v => v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();

    /// <summary>A progress bar on stderr when it is a terminal; silent otherwise (logs, tests).</summary>
    static FeatureAttributionOutput WithProgress(TextWriter stderr, int total,
        Func<IProgress<AttributionProgress>?, FeatureAttributionOutput> run)
    {
        if (stderr != Console.Error || Console.IsErrorRedirected || total < 2) return run(null);
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        FeatureAttributionOutput? result = null;
        console.Progress().Start(ctx =>
        {
            var task = ctx.AddTask("attributing", maxValue: total);
            result = run(new Progress<AttributionProgress>(p => task.Value = p.SequencesDone));
        });
        return result!;
    }
}
