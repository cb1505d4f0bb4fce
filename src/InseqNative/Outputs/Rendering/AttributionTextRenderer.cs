using System.Text;

namespace InseqNative.Outputs.Rendering;

/// <summary>Plain-text rendering of outputs: a short header and the heatmap tables of each sequence.</summary>
public static class AttributionTextRenderer
{
    public static string Render(FeatureAttributionSequenceOutput output)
    {
        var sb = new StringBuilder();
        var display = TokenDisplay.For(output.Source.Concat(output.Target));
        sb.Append(output.InseqClassName).Append(": source ").Append(output.Source.Count).Append(" tokens, target ")
            .Append(output.Target.Count).Append(" tokens, attributed steps [").Append(output.AttrPosStart).Append(", ")
            .Append(output.AttrPosEnd).Append(')').AppendLine();
        sb.Append("Generated: ").AppendLine(string.Concat(output.GeneratedTokens.Select(t => display.Text(t.Token))));
        foreach (var view in AttributionTableView.From(output))
            sb.AppendLine().Append(view.ToText());
        return sb.ToString();
    }

    public static string Render(FeatureAttributionOutput output)
    {
        var sb = new StringBuilder();
        sb.Append("FeatureAttributionOutput: ").Append(output.SequenceAttributions.Count).Append(" sequence(s)");
        if (output.Info.Method is { } method) sb.Append(", method ").Append(method);
        if (output.Info.ModelName is { } model) sb.Append(", model ").Append(model);
        sb.AppendLine();
        for (int i = 0; i < output.SequenceAttributions.Count; i++)
            sb.AppendLine().Append("Sequence ").Append(i).Append(": ").Append(Render(output.SequenceAttributions[i]));
        return sb.ToString();
    }
}
