using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace InseqNative.Tokenization;

/// <summary>
/// Hugging Face's <c>Split</c> pre-tokenizer with behavior "Isolated" and invert=false: every match of the pattern
/// is a piece and so is every stretch of text between matches (empty pieces are dropped), in order, so the pieces
/// concatenate back to the text.
/// </summary>
/// <remarks>
/// tokenizers runs the pattern (Oniguruma) over code points; .NET's Regex runs over UTF-16 units, where a
/// supplementary character is two surrogates that match neither <c>\p{L}</c> nor <c>\p{N}</c>, nor count as one
/// character for <c>[^...]?</c>. Text holding such characters is therefore matched in a shadow copy in which each one
/// is replaced by a single BMP character of the same Unicode category, and the match positions are mapped back.
/// </remarks>
internal sealed class SplitPreTokenizer
{
    private static readonly Dictionary<UnicodeCategory, char> BmpStandIns = BuildStandIns();

    private readonly Regex _regex;

    public SplitPreTokenizer(Regex regex) => _regex = regex;

    public string Pattern => _regex.ToString();

    public List<string> Split(string text)
    {
        var pieces = new List<string>();
        if (text.Length == 0)
            return pieces;
        (string matched, int[]? toOriginal) = Shadow(text);
        int position = 0;
        for (Match m = _regex.Match(matched); m.Success; m = m.NextMatch())
        {
            if (m.Length == 0)
                continue;
            int start = Map(m.Index), end = Map(m.Index + m.Length);
            if (start > position)
                pieces.Add(text[position..start]);
            pieces.Add(text[start..end]);
            position = end;
        }
        if (position < text.Length)
            pieces.Add(text[position..]);
        return pieces;

        int Map(int index) => toOriginal is null ? index : toOriginal[index];
    }

    /// <summary>The text to run the regex on and, when it differs from <paramref name="text"/>, the original index
    /// of each of its positions (one past the end included).</summary>
    private static (string Text, int[]? ToOriginal) Shadow(string text)
    {
        int first = -1;
        for (int i = 0; i + 1 < text.Length; i++)
            if (char.IsSurrogatePair(text[i], text[i + 1]))
            {
                first = i;
                break;
            }
        if (first < 0)
            return (text, null);

        var shadow = new StringBuilder(text.Length);
        var map = new List<int>(text.Length + 1);
        for (int i = 0; i < text.Length; i++)
        {
            map.Add(i);
            if (i + 1 < text.Length && char.IsSurrogatePair(text[i], text[i + 1])
                && BmpStandIns.TryGetValue(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(text[i], text[i + 1])), out char standIn))
            {
                shadow.Append(standIn);
                i++;
            }
            else
            {
                shadow.Append(text[i]);
            }
        }
        map.Add(text.Length);
        return (shadow.ToString(), [.. map]);
    }

    /// <summary>For each category, a non-ASCII, non-space BMP character of it that no case-insensitive ASCII
    /// literal matches; categories without one keep the surrogate pair as it is.</summary>
    private static Dictionary<UnicodeCategory, char> BuildStandIns()
    {
        var table = new Dictionary<UnicodeCategory, char>();
        for (int c = 0xA1; c < 0xFFFE; c++)
        {
            char ch = (char)c;
            UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(ch);
            if (category is UnicodeCategory.Surrogate || char.IsWhiteSpace(ch) || table.ContainsKey(category)
                || char.ToUpperInvariant(ch) < 0x80 || char.ToLowerInvariant(ch) < 0x80)
                continue;
            table[category] = ch;
        }
        return table;
    }
}
