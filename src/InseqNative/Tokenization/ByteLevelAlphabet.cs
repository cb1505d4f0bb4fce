using System.Text;

namespace InseqNative.Tokenization;

/// <summary>
/// GPT-2's reversible byte ↔ character table (openai/gpt-2 <c>bytes_to_unicode</c>): printable Latin-1 bytes map to
/// themselves, the other 68 bytes to U+0100 onwards (space → 'Ġ', newline → 'Ċ'). Byte-level BPE vocabularies are
/// written in these characters.
/// </summary>
public static class ByteLevelAlphabet
{
    private static readonly char[] ByteToChar = BuildByteToChar();
    private static readonly Dictionary<char, byte> CharToByte =
        Enumerable.Range(0, 256).ToDictionary(b => ByteToChar[b], b => (byte)b);

    private static char[] BuildByteToChar()
    {
        var table = new char[256];
        int next = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            table[b] = printable ? (char)b : (char)next++;
        }
        return table;
    }

    public static char ToChar(byte b) => ByteToChar[b];

    public static bool TryGetByte(char c, out byte b) => CharToByte.TryGetValue(c, out b);

    /// <summary>Bytes a byte-level token string stands for. Characters outside the table (only possible in added
    /// tokens) contribute their own UTF-8 bytes.</summary>
    public static void AppendBytes(string token, List<byte> bytes)
    {
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < token.Length; i++)
        {
            if (CharToByte.TryGetValue(token[i], out byte b))
            {
                bytes.Add(b);
                continue;
            }
            int length = char.IsHighSurrogate(token[i]) && i + 1 < token.Length && char.IsLowSurrogate(token[i + 1])
                ? Encoding.UTF8.GetBytes(token.AsSpan(i++, 2), utf8)
                : Encoding.UTF8.GetBytes(token.AsSpan(i, 1), utf8);
            for (int k = 0; k < length; k++)
                bytes.Add(utf8[k]);
        }
    }

    /// <summary>Bytes of one token as tokenizers' ByteLevel decoder takes them: the table's bytes when every
    /// character is in the table, else the token's own UTF-8 (an added token such as "a b").</summary>
    public static void AppendTokenBytes(string token, List<byte> bytes)
    {
        foreach (char c in token)
            if (!CharToByte.ContainsKey(c))
            {
                bytes.AddRange(Encoding.UTF8.GetBytes(token));
                return;
            }
        foreach (char c in token)
            bytes.Add(CharToByte[c]);
    }

    /// <summary>The byte-level string of <paramref name="text"/>: its UTF-8 bytes through the table
    /// (" quick" → "Ġquick").</summary>
    public static string ToByteLevel(string text)
    {
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        return string.Create(utf8.Length, utf8, static (chars, bytes) =>
        {
            for (int i = 0; i < bytes.Length; i++)
                chars[i] = ByteToChar[bytes[i]];
        });
    }

    /// <summary>Decodes bytes as Python's <c>bytes.decode("utf-8", errors="replace")</c>: each maximal invalid
    /// subsequence becomes one U+FFFD (the Unicode-recommended practice both runtimes follow).</summary>
    public static string DecodeUtf8Replacing(ReadOnlySpan<byte> bytes) => Encoding.UTF8.GetString(bytes);

    /// <summary>Readable text of one byte-level token: "Ġquick" → " quick", "âĤ¬" → "€". Bytes that do not form
    /// complete UTF-8 characters on their own (a token holding part of a character) are shown as "&lt;0xE2&gt;".</summary>
    public static string ToDisplayText(string token)
    {
        var bytes = new List<byte>(token.Length);
        AppendBytes(token, bytes);
        ReadOnlySpan<byte> span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes);
        var text = new StringBuilder(token.Length);
        while (!span.IsEmpty)
        {
            System.Buffers.OperationStatus status = Rune.DecodeFromUtf8(span, out Rune rune, out int consumed);
            consumed = Math.Max(consumed, 1);
            if (status == System.Buffers.OperationStatus.Done)
                text.Append(rune.ToString());
            else
                for (int k = 0; k < consumed; k++)
                    text.Append("<0x").Append(span[k].ToString("X2")).Append('>');
            span = span[consumed..];
        }
        return text.ToString();
    }
}
