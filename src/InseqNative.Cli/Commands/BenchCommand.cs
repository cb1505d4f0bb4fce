using System.CommandLine;
using System.Globalization;
using InseqNative.Attribution;
using InseqNative.Bench;

namespace InseqNative.Cli.Commands;

/// <summary><c>inseq bench</c>: throughput of our native passes and of attribution (fused vs stepwise) on a model
/// shape built in memory with random weights. Prints Markdown (bench/RESULTS.md).</summary>
static class BenchCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var shape = new Option<string>("--shape") { Description = $"model shape: {string.Join(", ", BenchShapes.Names)}", DefaultValueFactory = _ => "gpt2-small" };
        var sections = new Option<string>("--sections") { Description = "what to measure: model (passes, GEMM), attribution, or both", DefaultValueFactory = _ => "model,attribution" };
        var seq = new Option<int>("--seq") { Description = "model passes: tokens per sequence", DefaultValueFactory = _ => 64 };
        var batch = new Option<int>("--batch") { Description = "model passes: sequences per forward", DefaultValueFactory = _ => 1 };
        var repeats = new Option<int>("--repeats") { Description = "model passes: timed repetitions after a warm-up (median reported)", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "CPU threads (0: all cores)", DefaultValueFactory = _ => 0 };
        var modelThreads = new Option<string>("--model-threads") { Description = "model passes: comma-separated thread counts, one table each (default: --threads)", DefaultValueFactory = _ => "" };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var precision = new Option<string>("--precision") { Description = "comma-separated GEMM modes to measure, one pass over the sections each: fp32, tf32, bf16 (tf32/bf16: CUDA only)", DefaultValueFactory = _ => "fp32" };
        var gemm = new Option<int>("--gemm-size") { Description = "square GEMM size for the GFLOP/s line (0: skip)", DefaultValueFactory = _ => 1024 };
        var methods = new Option<string>("--methods") { Description = "attribution: comma-separated method ids", DefaultValueFactory = _ => string.Join(",", AttributionBench.DefaultMethods) };
        var lengths = new Option<string>("--lengths") { Description = "attribution: comma-separated prompt+forced token counts", DefaultValueFactory = _ => "20+20,64+64" };
        var noGranular = new Option<bool>("--no-granular") { Description = "attribution: cells return aggregated attributions computed where the gradients are (AttributeOptions.GranularAttributions = false)" };
        var igSteps = new Option<int>("--ig-steps") { Description = "attribution: integrated_gradients n_steps", DefaultValueFactory = _ => 50 };
        var strategies = new Option<string>("--strategies") { Description = "attribution: fused, stepwise or both (side by side)", DefaultValueFactory = _ => "fused,stepwise" };
        var attrRepeats = new Option<int>("--attribution-repeats") { Description = "attribution: timed repetitions per cell after a short warm-up (median reported)", DefaultValueFactory = _ => 1 };
        var maxSeconds = new Option<double>("--max-seconds") { Description = "attribution: skip a cell whose estimated wall time exceeds this (0: never skip)", DefaultValueFactory = _ => 120 };

        var cmd = new Command("bench", "measure model-pass and attribution throughput (fused vs stepwise) on a random-weight model shape");
        foreach (var o in new Option[] { shape, sections, seq, batch, repeats, threads, modelThreads, device, precision, gemm, methods, lengths, noGranular, igSteps, strategies, attrRepeats, maxSeconds })
            cmd.Options.Add(o);
        cmd.SetAction(parse =>
        {
            try
            {
                var settings = new BenchSettings(parse.GetValue(shape)!, parse.GetValue(seq), parse.GetValue(batch),
                    parse.GetValue(repeats), parse.GetValue(threads), Device.Parse(parse.GetValue(device)!),
                    parse.GetValue(gemm))
                {
                    Sections = List(parse.GetValue(sections)!),
                    Precisions = List(parse.GetValue(precision)!).Select(GemmPrecisionExtensions.Parse).Distinct().ToArray(),
                    ModelThreads = List(parse.GetValue(modelThreads)!).Select(t => Int(t, "--model-threads")).ToArray(),
                    Methods = List(parse.GetValue(methods)!).Distinct().ToArray(),
                    Lengths = List(parse.GetValue(lengths)!).Select(Length).Distinct().ToArray(),
                    IgSteps = parse.GetValue(igSteps),
                    Granular = !parse.GetValue(noGranular),
                    Strategies = List(parse.GetValue(strategies)!).Select(Strategy).Distinct().ToArray(),
                    AttributionRepeats = parse.GetValue(attrRepeats),
                    MaxSeconds = parse.GetValue(maxSeconds),
                };
                BenchRunner.Run(settings, stdout, stderr);
                return 0;
            }
            catch (Exception e)
            {
                return CliErrors.Report(e, stderr);
            }
        });
        return cmd;
    }

    static string[] List(string value) =>
        value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    static int Int(string value, string option) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw new InvalidInputException($"{option}: '{value}' is not an integer");

    static (int Prompt, int Forced) Length(string value)
    {
        var parts = value.Split('+');
        if (parts.Length != 2) throw new InvalidInputException($"--lengths: '{value}' is not PROMPT+FORCED (e.g. 20+20)");
        return (Int(parts[0], "--lengths"), Int(parts[1], "--lengths"));
    }

    static AttributionStrategy Strategy(string value) => value.ToLowerInvariant() switch
    {
        "fused" => AttributionStrategy.Fused,
        "stepwise" => AttributionStrategy.Stepwise,
        _ => throw new InvalidInputException($"--strategies: unknown strategy '{value}' (known: fused, stepwise)"),
    };
}
