using System.Globalization;
using System.Net;
using System.Text;

namespace InseqNative.Outputs.Rendering;

/// <summary>
/// Self-contained HTML (inline CSS, no scripts or external assets), like Inseq's
/// <c>show(display=False, return_html=True)</c>: per sequence a heatmap table of source attributions and one of target
/// attributions (rows = attributed tokens, columns = generated tokens), step scores in rows below, cells coloured by
/// value (diverging red/blue for signed scores, white→red for non-negative ones), NaN cells blank, tokens decoded and
/// HTML-escaped. Each cell's title holds the exact value.
/// </summary>
public static class AttributionHtmlRenderer
{
    const string Style = """
        body { font-family: system-ui, sans-serif; margin: 1em; color: #222; }
        .inseq-sequence { margin-bottom: 2em; }
        table.inseq-heatmap { border-collapse: collapse; margin: 0.5em 0 1.5em 0; font-size: 13px; }
        table.inseq-heatmap th, table.inseq-heatmap td { border: 1px solid #ddd; padding: 3px 6px; text-align: center; white-space: pre; }
        table.inseq-heatmap th { background: #f4f4f4; font-weight: 600; }
        table.inseq-heatmap th.row { text-align: right; }
        table.inseq-heatmap tr.score td, table.inseq-heatmap tr.score th { border-top: 2px solid #888; }
        td.nan { background: #fafafa; }
        caption { text-align: left; font-weight: 600; padding-bottom: 4px; }
        """;

    public static string Render(FeatureAttributionOutput output, string title = "Inseq attributions")
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>")
            .Append(Escape(title)).Append("</title>\n<style>\n").Append(Style).Append("</style>\n</head>\n<body>\n");
        var meta = new List<string>();
        if (output.Info.Method is { } m) meta.Add("method " + m);
        if (output.Info.ModelName is { } n) meta.Add("model " + n);
        sb.Append("<h1>").Append(Escape(title)).Append("</h1>\n");
        if (meta.Count > 0) sb.Append("<p>").Append(Escape(string.Join(", ", meta))).Append("</p>\n");
        for (int i = 0; i < output.SequenceAttributions.Count; i++)
            AppendSequence(sb, output.SequenceAttributions[i], i);
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>The HTML fragment (no document wrapper) of one sequence.</summary>
    public static string RenderFragment(FeatureAttributionSequenceOutput output, int index = 0)
    {
        var sb = new StringBuilder();
        AppendSequence(sb, output, index);
        return sb.ToString();
    }

    static void AppendSequence(StringBuilder sb, FeatureAttributionSequenceOutput output, int index)
    {
        var display = TokenDisplay.For(output.Source.Concat(output.Target));
        sb.Append("<div class=\"inseq-sequence\">\n<h2>Sequence ").Append(index).Append("</h2>\n<p>")
            .Append(Escape(string.Concat(output.Target.Select(t => display.Text(t.Token))))).Append("</p>\n");
        foreach (var view in AttributionTableView.From(output))
            AppendTable(sb, view);
        sb.Append("</div>\n");
    }

    static void AppendTable(StringBuilder sb, AttributionTableView view)
    {
        sb.Append("<table class=\"inseq-heatmap\">\n<caption>").Append(Escape(view.Title)).Append("</caption>\n<thead><tr><th></th>");
        foreach (string c in view.ColumnLabels) sb.Append("<th>").Append(Escape(c)).Append("</th>");
        sb.Append("</tr></thead>\n<tbody>\n");
        for (int r = 0; r < view.RowLabels.Count; r++)
        {
            sb.Append("<tr><th class=\"row\">").Append(Escape(view.RowLabels[r])).Append("</th>");
            for (int c = 0; c < view.ColumnLabels.Count; c++) AppendCell(sb, view.Values[r, c], view.Scale);
            sb.Append("</tr>\n");
        }
        foreach (var row in view.ScoreRows)
        {
            sb.Append("<tr class=\"score\"><th class=\"row\">").Append(Escape(row.Name)).Append("</th>");
            foreach (float v in row.Values) AppendCell(sb, v, row.Scale);
            sb.Append("</tr>\n");
        }
        sb.Append("</tbody>\n</table>\n");
    }

    static void AppendCell(StringBuilder sb, float value, ColorScale scale)
    {
        if (scale.ColorOf(value) is not { } color)
        {
            sb.Append("<td class=\"nan\"></td>");
            return;
        }
        string text = value.ToString("0.000", CultureInfo.InvariantCulture);
        sb.Append("<td style=\"background:").Append(color.Hex).Append(";color:").Append(color.Contrasting.Hex)
            .Append("\" title=\"").Append(value.ToString("R", CultureInfo.InvariantCulture)).Append("\">")
            .Append(text).Append("</td>");
    }

    static string Escape(string text) => WebUtility.HtmlEncode(text);
}
