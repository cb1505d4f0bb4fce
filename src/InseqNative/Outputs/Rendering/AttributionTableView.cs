using System.Globalization;
using System.Text;

namespace InseqNative.Outputs.Rendering;

/// <summary>A row of values under a heatmap (a step score), one per column.</summary>
public sealed record ScoreRow(string Name, IReadOnlyList<float> Values, ColorScale Scale);

/// <summary>
/// A renderer-agnostic heatmap: rows are attributed tokens, columns generated tokens, <see cref="Values"/> is
/// [rows, columns] with NaN for empty cells, <see cref="Scale"/> colours them. Step scores come as extra rows below.
/// The CLI renders it with Spectre.Console; <see cref="ToText"/> gives a plain-text table; HTML uses the same view.
/// </summary>
public sealed record AttributionTableView(
    string Title,
    IReadOnlyList<string> RowLabels,
    IReadOnlyList<string> ColumnLabels,
    float[,] Values,
    ColorScale Scale,
    IReadOnlyList<ScoreRow> ScoreRows)
{
    /// <summary>Views of one aggregated sequence: source heatmap (if any), then target heatmap (if any); step scores go
    /// under the last one. Token labels are decoded for display.</summary>
    public static IReadOnlyList<AttributionTableView> From(FeatureAttributionSequenceOutput output, ColorScale? scale = null)
    {
        if (output.AttributionRank != 2)
            output = output.Aggregate();
        var display = TokenDisplay.For(output.Source.Concat(output.Target));
        var columns = output.GeneratedTokens.Select(t => display.Label(t.Token)).ToArray();
        scale ??= ColorScale.Fit(new[] { output.SourceAttributions, output.TargetAttributions }
            .Where(t => t is not null).SelectMany(t => t!.Data));
        var scoreRows = output.StepScores
            .Select(p => new ScoreRow(p.Key, p.Value.Data.Take(output.StepCount).ToArray(), ColorScale.Fit(p.Value.Data)))
            .ToArray();
        var views = new List<AttributionTableView>();
        if (output.SourceAttributions is { } src)
            views.Add(Build("Source attributions", output.Source, src, display, columns, scale));
        if (output.TargetAttributions is { } tgt)
            views.Add(Build("Target attributions", output.Target, tgt, display, columns, scale));
        if (views.Count == 0)
            views.Add(new AttributionTableView("Step scores", [], columns, new float[0, columns.Length], scale, scoreRows));
        else
            views[^1] = views[^1] with { ScoreRows = scoreRows };
        return views;
    }

    static AttributionTableView Build(string title, IReadOnlyList<TokenWithId> tokens, Tensor t, TokenDisplay display,
        string[] columns, ColorScale scale)
    {
        int rows = t.Shape[0], cols = t.Shape[1];
        var values = new float[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                values[r, c] = t.Data[(long)r * cols + c];
        return new AttributionTableView(title, tokens.Take(rows).Select(x => display.Label(x.Token)).ToArray(), columns,
            values, scale, []);
    }

    /// <summary>A plain-text table: values with 3 decimals, blank for NaN.</summary>
    public string ToText()
    {
        static string Cell(float v) => float.IsNaN(v) ? "" : v.ToString("0.000", CultureInfo.InvariantCulture);
        var header = new[] { "" }.Concat(ColumnLabels).ToArray();
        var lines = new List<string[]> { header };
        for (int r = 0; r < RowLabels.Count; r++)
            lines.Add(new[] { RowLabels[r] }.Concat(Enumerable.Range(0, ColumnLabels.Count).Select(c => Cell(Values[r, c]))).ToArray());
        foreach (var row in ScoreRows)
            lines.Add(new[] { row.Name }.Concat(row.Values.Select(Cell)).ToArray());
        var widths = Enumerable.Range(0, header.Length).Select(c => lines.Max(l => l[c].Length)).ToArray();
        var sb = new StringBuilder().AppendLine(Title);
        for (int i = 0; i < lines.Count; i++)
        {
            sb.AppendLine(string.Join(" | ", lines[i].Select((cell, c) => c == 0 ? cell.PadRight(widths[c]) : cell.PadLeft(widths[c]))).TrimEnd());
            if (i == 0 || i == RowLabels.Count && ScoreRows.Count > 0)
                sb.AppendLine(string.Join("-+-", widths.Select(w => new string('-', w))));
        }
        return sb.ToString();
    }
}
