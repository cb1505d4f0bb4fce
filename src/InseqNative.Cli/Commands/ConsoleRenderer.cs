using InseqNative.Outputs;
using InseqNative.Outputs.Rendering;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace InseqNative.Cli.Commands;

/// <summary>Renders aggregated attributions as colour-scaled Spectre.Console tables (tokens decoded, not `Ġ`).</summary>
static class ConsoleRenderer
{
    public static void Render(FeatureAttributionOutput output, TextWriter writer)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = writer == Console.Out && !Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = ColorSystemSupport.Detect,
        });
        // Off a terminal (pipes, files, tests) there is no width to fit: give tables room instead of wrapping tokens.
        if (writer != Console.Out || Console.IsOutputRedirected) console.Profile.Width = 240;
        var views = output.ToTableViews();
        for (var i = 0; i < views.Count; i++)
        {
            console.Write(new Rule($"[bold]sequence {i}[/]") { Justification = Justify.Left });
            foreach (var view in views[i]) console.Write(Table(view));
        }
    }

    static Table Table(AttributionTableView view)
    {
        var table = new Table { Title = new TableTitle(Markup.Escape(view.Title)), Border = TableBorder.Rounded };
        table.AddColumn(new TableColumn(""));
        foreach (var c in view.ColumnLabels) table.AddColumn(new TableColumn(Markup.Escape(c)).RightAligned());
        for (var r = 0; r < view.RowLabels.Count; r++)
        {
            var cells = new List<IRenderable> { new Text(view.RowLabels[r]) };
            for (var c = 0; c < view.ColumnLabels.Count; c++) cells.Add(Cell(view.Values[r, c], view.Scale));
            table.AddRow(cells);
        }
        foreach (var row in view.ScoreRows)
        {
            var cells = new List<IRenderable> { new Markup($"[italic]{Markup.Escape(row.Name)}[/]") };
            cells.AddRange(row.Values.Select(v => Cell(v, row.Scale)));
            table.AddRow(cells);
        }
        return table;
    }

    static IRenderable Cell(float value, ColorScale scale)
    {
        if (float.IsNaN(value)) return new Text("");
        var text = value.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);
        if (scale.ColorOf(value) is not { } bg) return new Text(text);
        var fg = bg.Contrasting;
        return new Text(text, new Style(new Color(fg.R, fg.G, fg.B), new Color(bg.R, bg.G, bg.B)));
    }
}
