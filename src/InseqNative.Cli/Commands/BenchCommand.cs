using System.CommandLine;
using System.Diagnostics;
using InseqNative.Bench;

namespace InseqNative.Cli.Commands;

/// <summary><c>inseq bench</c>: throughput of our native passes on a model shape built in memory.</summary>
static class BenchCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var shape = new Option<string>("--shape") { Description = $"model shape: {string.Join(", ", BenchShapes.Names)}", DefaultValueFactory = _ => "gpt2-small" };
        var seq = new Option<int>("--seq") { Description = "tokens per sequence", DefaultValueFactory = _ => 64 };
        var batch = new Option<int>("--batch") { Description = "sequences per forward", DefaultValueFactory = _ => 1 };
        var repeats = new Option<int>("--repeats") { Description = "timed repetitions (median reported)", DefaultValueFactory = _ => 3 };
        var threads = new Option<int>("--threads") { Description = "CPU threads (0: all cores)", DefaultValueFactory = _ => 0 };
        var device = new Option<string>("--device") { Description = "auto, cpu, cuda or cuda:N", DefaultValueFactory = _ => "cpu" };
        var gemm = new Option<int>("--gemm-size") { Description = "square GEMM size for the GFLOP/s line (0: skip)", DefaultValueFactory = _ => 1024 };

        var cmd = new Command("bench", "measure forward and input-gradient throughput on a random-weight model shape");
        foreach (var o in new Option[] { shape, seq, batch, repeats, threads, device, gemm }) cmd.Options.Add(o);
        cmd.SetAction(parse =>
        {
            try
            {
                var settings = new BenchSettings(parse.GetValue(shape)!, parse.GetValue(seq), parse.GetValue(batch),
                    parse.GetValue(repeats), parse.GetValue(threads), Device.Parse(parse.GetValue(device)!),
                    parse.GetValue(gemm));
                ModelBench.Run(settings, stdout);
                return 0;
            }
            catch (Exception e)
            {
                return CliErrors.Report(e, stderr);
            }
        });
        return cmd;
    }
}
