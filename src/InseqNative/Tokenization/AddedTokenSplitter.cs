namespace InseqNative.Tokenization;

/// <summary>
/// Cuts text at occurrences of added tokens the way transformers' slow tokenizers do (Trie.split, then the
/// lstrip/rstrip rules): the earliest occurrence wins, the longest token among those starting there.
/// </summary>
internal sealed class AddedTokenSplitter
{
    private readonly AddedToken[] _tokens;

    public AddedTokenSplitter(IEnumerable<AddedToken> tokens)
    {
        _tokens = tokens.Where(t => t.Content.Length > 0)
            .OrderByDescending(t => t.Content.Length).ThenBy(t => t.Id).ToArray();
    }

    public readonly record struct Segment(string Text, AddedToken? Token);

    public List<Segment> Split(string text)
    {
        var segments = new List<Segment>();
        int position = 0;
        while (position < text.Length)
        {
            (int index, AddedToken? match) = FindNext(text, position);
            if (match is null)
            {
                segments.Add(new Segment(text[position..], null));
                break;
            }
            if (index > position)
                segments.Add(new Segment(text[position..index], null));
            segments.Add(new Segment(match.Content, match));
            position = index + match.Content.Length;
        }
        ApplyStrip(segments);
        segments.RemoveAll(s => s.Token is null && s.Text.Length == 0);
        return segments;
    }

    private (int Index, AddedToken? Token) FindNext(string text, int start)
    {
        int bestIndex = int.MaxValue;
        AddedToken? best = null;
        foreach (AddedToken token in _tokens)
        {
            int index = text.IndexOf(token.Content, start, StringComparison.Ordinal);
            // _tokens is longest-first, so on a tie the earlier (longer) candidate stays.
            if (index >= 0 && index < bestIndex)
            {
                bestIndex = index;
                best = token;
            }
        }
        return (bestIndex, best);
    }

    private static void ApplyStrip(List<Segment> segments)
    {
        for (int i = 0; i < segments.Count; i++)
        {
            if (segments[i].Token is not { } token)
                continue;
            if (token.RStrip && i + 1 < segments.Count && segments[i + 1].Token is null)
                segments[i + 1] = segments[i + 1] with { Text = segments[i + 1].Text.TrimStart() };
            if (token.LStrip && i > 0 && segments[i - 1].Token is null)
                segments[i - 1] = segments[i - 1] with { Text = segments[i - 1].Text.TrimEnd() };
        }
    }
}
