using System.CommandLine;
using InseqNative.Outputs;

namespace InseqNative.Cli.Commands;

/// <summary><c>inseq show FILE.json</c>: renders a saved attribution file (ours or Python Inseq's).</summary>
static class ShowCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var file = new Argument<string[]>("files") { Description = "saved attribution file(s) (.json or .json.gz); several are merged", Arity = ArgumentArity.OneOrMore };
        var viz = new Option<string?>("--viz") { Description = "also write an HTML heatmap" };
        var aggregate = new Option<string?>("--aggregate") { Description = "aggregator to apply instead of the default (e.g. subwords, spans)" };
        var cmd = new Command("show", "render a saved attribution file");
        cmd.Arguments.Add(file);
        cmd.Options.Add(viz);
        cmd.Options.Add(aggregate);
        cmd.SetAction(parse =>
        {
            try
            {
                var paths = parse.GetValue(file)!;
                foreach (var p in paths)
                    if (!File.Exists(p)) throw new InvalidInputException($"no such file: {p}");
                var output = FeatureAttributionOutput.Load(paths);
                var aggregated = output.Aggregate();
                if (parse.GetValue(aggregate) is { } name) aggregated = aggregated.Aggregate(name);
                if (parse.GetValue(viz) is { } html)
                {
                    File.WriteAllText(html, aggregated.ToHtml(Path.GetFileName(paths[0])));
                    stderr.WriteLine($"wrote {html}");
                }
                ConsoleRenderer.Render(aggregated, stdout);
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
