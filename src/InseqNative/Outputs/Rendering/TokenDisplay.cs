using InseqNative.Tokenization;

namespace InseqNative.Outputs.Rendering;

/// <summary>How a sequence's tokens are spelled, so they can be shown as text.</summary>
public enum TokenSpelling
{
    /// <summary>Shown as they are.</summary>
    Plain,

    /// <summary>GPT-2 byte-level BPE: characters stand for bytes ("Ġquick" → " quick", "âĤ¬" → "€").</summary>
    ByteLevel,

    /// <summary>SentencePiece: "▁" stands for a space.</summary>
    SentencePiece,
}

/// <summary>Decodes tokens for display. Special tokens (&lt;s&gt;, &lt;|endoftext|&gt;) are kept as they are.</summary>
public sealed class TokenDisplay(TokenSpelling spelling)
{
    public TokenSpelling Spelling { get; } = spelling;

    /// <summary>Guesses the spelling of a sequence: "▁" means SentencePiece; byte-level marker characters (Ġ, Ċ and the
    /// other remapped bytes U+0100–U+0143) with every character inside GPT-2's byte table mean byte-level BPE.</summary>
    public static TokenDisplay For(IEnumerable<TokenWithId> tokens) => For(tokens.Select(t => t.Token));

    public static TokenDisplay For(IEnumerable<string> tokens)
    {
        bool byteMarkers = false, allInTable = true;
        foreach (string token in tokens)
        {
            if (token.Contains('▁')) return new TokenDisplay(TokenSpelling.SentencePiece);
            if (IsSpecial(token) || token.Contains(" → ")) continue;
            foreach (char c in token)
            {
                if (c is >= '\u0100' and <= '\u0143') byteMarkers = true;
                if (!ByteLevelAlphabet.TryGetByte(c, out _)) allInTable = false;
            }
        }
        return new TokenDisplay(byteMarkers && allInTable ? TokenSpelling.ByteLevel : TokenSpelling.Plain);
    }

    /// <summary>The text a token stands for ("Ġquick" → " quick"); contrastive "a → b" tokens decode both sides.</summary>
    public string Text(string token)
    {
        if (IsSpecial(token)) return token;
        int arrow = token.IndexOf(" → ", StringComparison.Ordinal);
        if (arrow >= 0) return Text(token[..arrow]) + " → " + Text(token[(arrow + 3)..]);
        return Spelling switch
        {
            TokenSpelling.ByteLevel => ByteLevelAlphabet.ToDisplayText(token),
            TokenSpelling.SentencePiece => token.Replace('▁', ' '),
            _ => token,
        };
    }

    /// <summary>Text with visible marks for white space that would otherwise be invisible in a table cell: a leading
    /// space becomes "␣", newlines "↵", tabs "⇥".</summary>
    public string Label(string token)
    {
        string text = Text(token).Replace("\r", "").Replace("\n", "↵").Replace("\t", "⇥");
        return text.StartsWith(' ') ? "␣" + text[1..] : text;
    }

    static bool IsSpecial(string token) => Aggregation.SubwordAggregator.IsSpecial(token);
}
