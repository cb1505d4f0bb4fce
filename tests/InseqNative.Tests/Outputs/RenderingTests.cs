using System.Text.RegularExpressions;
using InseqNative.Outputs;
using InseqNative.Outputs.Rendering;

namespace InseqNative.Tests.Outputs;

public sealed class RenderingTests
{
    [Fact]
    public void TokensAreDecodedForDisplay()
    {
        var gpt2 = TokenDisplay.For(["The", "Ġquick", "âĤ¬", "Ċ", "<|endoftext|>"]);
        Assert.Equal(TokenSpelling.ByteLevel, gpt2.Spelling);
        Assert.Equal(" quick", gpt2.Text("Ġquick"));
        Assert.Equal("€", gpt2.Text("âĤ¬"));
        Assert.Equal("\n", gpt2.Text("Ċ"));
        Assert.Equal("<|endoftext|>", gpt2.Text("<|endoftext|>"));
        Assert.Equal("␣quick", gpt2.Label("Ġquick"));
        Assert.Equal("↵", gpt2.Label("Ċ"));
        Assert.Equal(" cat →  dog", gpt2.Text("Ġcat → Ġdog"));
        var sp = TokenDisplay.For(["▁Th", "is", "</s>"]);
        Assert.Equal(TokenSpelling.SentencePiece, sp.Spelling);
        Assert.Equal(" Th", sp.Text("▁Th"));
        Assert.Equal(TokenSpelling.Plain, TokenDisplay.For(["café", "naïve"]).Spelling);
    }

    [Fact]
    public void ColorScaleIsDivergingForSignedData()
    {
        var signed = ColorScale.Fit([-2, 1, float.NaN]);
        Assert.True(signed.Diverging);
        Assert.Equal(2, signed.Limit);
        Assert.Null(signed.ColorOf(float.NaN));
        Assert.Equal(new RgbColor(255, 255, 255), signed.ColorOf(0));
        var negative = signed.ColorOf(-2)!.Value;
        var positive = signed.ColorOf(2)!.Value;
        Assert.True(negative.B > negative.R);
        Assert.True(positive.R > positive.B);
        var oneSided = ColorScale.Fit([0, 0.5f]);
        Assert.False(oneSided.Diverging);
        Assert.Equal(0, oneSided.Minimum);
    }

    [Fact]
    public void HtmlHasOneTablePerSideDecodedTokensAndBalancedTags()
    {
        var output = FeatureAttributionOutput.Load(ReferenceCase.InseqJsonPath("tiny-marian__saliency__batch2__attribute_target"));
        string html = output.ToHtml("Marian <batch> & friends");
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Equal(2 * output.SequenceAttributions.Count, Regex.Matches(html, "<table ").Count);
        Assert.Contains("Marian &lt;batch&gt; &amp; friends", html);
        Assert.DoesNotContain("<script", html);
        Assert.DoesNotContain("http", html);
        Assert.Contains("class=\"nan\"", html);
        Assert.Contains(">probability</th>", html);
        Assert.DoesNotContain("▁", html);
        AssertBalanced(html);

        var gpt2 = FeatureAttributionOutput.Load(ReferenceCase.InseqJsonPath("tiny-gpt2__saliency"));
        string gptHtml = gpt2.ToHtml();
        Assert.Equal(1, Regex.Matches(gptHtml, "<table ").Count);
        Assert.Contains("␣quick", gptHtml);
        Assert.DoesNotContain("Ġ", gptHtml);
        Assert.Contains("The quick brown fox jumps over the lazy dog and runs away.", gptHtml);
        AssertBalanced(gptHtml);
    }

    [Fact]
    public void HtmlEscapesTokenText()
    {
        var tokens = new[] { new TokenWithId("<b>", 1), new TokenWithId("a&b", 2), new TokenWithId("\"q\"", 3) };
        var seq = new FeatureAttributionSequenceOutput(tokens[..1], tokens, null,
            new Tensor([0.5f, -0.25f, float.NaN, 1, float.NaN, float.NaN], 3, 2), 1, null, SequenceOutputKind.Base);
        string html = new FeatureAttributionOutput([seq]).ToHtml();
        Assert.Contains("&lt;b&gt;", html);
        Assert.Contains("a&amp;b", html);
        Assert.DoesNotContain("<b>", html);
        AssertBalanced(html);
    }

    [Fact]
    public void TableViewsAndTextRendering()
    {
        var output = FeatureAttributionOutput.Load(ReferenceCase.InseqJsonPath("tiny-t5__occlusion__attribute_target"));
        var views = output.ToTableViews()[0];
        Assert.Equal(["Source attributions", "Target attributions"], views.Select(v => v.Title));
        var seq = output[0];
        Assert.Equal(seq.Source.Count, views[0].RowLabels.Count);
        Assert.Equal(seq.StepCount, views[0].ColumnLabels.Count);
        Assert.Equal(seq.SourceAttributions!.Data[1], views[0].Values[0, 1]);
        Assert.Empty(views[0].ScoreRows);
        Assert.Equal("probability", Assert.Single(views[1].ScoreRows).Name);
        string text = output.ToString();
        Assert.Contains("CoarseFeatureAttributionSequenceOutput", text);
        Assert.Contains("Source attributions", text);
        Assert.Contains("probability", text);
        // Granular outputs are aggregated for display.
        var granular = FeatureAttributionOutput.Load(ReferenceCase.InseqJsonPath("tiny-llama__saliency"));
        Assert.Equal(granular[0].Aggregate().TargetAttributions!.Data[0], granular.ToTableViews()[0][0].Values[0, 0]);
    }

    static void AssertBalanced(string html)
    {
        var stack = new Stack<string>();
        string[] voidTags = ["meta", "br", "hr", "img", "link", "input"];
        foreach (Match m in Regex.Matches(html, @"<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*>"))
        {
            string tag = m.Groups[2].Value.ToLowerInvariant();
            if (voidTags.Contains(tag)) continue;
            if (m.Groups[1].Value == "/")
            {
                Assert.True(stack.Count > 0, $"closing </{tag}> without opening");
                Assert.Equal(stack.Pop(), tag);
            }
            else stack.Push(tag);
        }
        Assert.Empty(stack);
    }
}
