using System.Globalization;
using System.Text;

namespace InseqNative.Tokenization;

/// <summary>
/// tokenizers' NFC normalizer (Qwen2). .NET normalizes through ICU, which a process running with
/// InvariantGlobalization (this repository's default) does not load: there <see cref="string.Normalize()"/> returns
/// the text unchanged. Then text that NFC could change (combining marks, Hangul jamo, canonical singletons) is
/// refused rather than given ids the model was not trained on; other text is already NFC.
/// </summary>
internal static class NfcNormalizer
{
    private static readonly bool Available = "e\u0301".Normalize(NormalizationForm.FormC) == "\u00e9";

    public static string Normalize(string text)
    {
        if (Available)
            return text.Normalize(NormalizationForm.FormC);
        for (int i = 0; i < text.Length; i++)
        {
            int c = char.IsSurrogatePair(text, i) ? char.ConvertToUtf32(text[i], text[++i]) : text[i];
            if (MayChangeUnderNfc(c))
                throw new InvalidInputException(
                    $"the tokenizer NFC-normalizes its input, which needs ICU; this process runs with InvariantGlobalization " +
                    $"and the text holds U+{c:X4}, which NFC may change (run with InvariantGlobalization=false)");
        }
        return text;
    }

    private static bool MayChangeUnderNfc(int c)
    {
        if (c < 0x300)
            return false;
        UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory(c);
        return category is UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark
            || c is >= 0x1100 and <= 0x11FF or >= 0xA960 and <= 0xA97F or >= 0xD7B0 and <= 0xD7FF // Hangul jamo
            || c is 0x0340 or 0x0341 or 0x0343 or 0x0344 or 0x0374 or 0x037E or 0x0387 or 0x2000 or 0x2001
                or 0x2126 or 0x212A or 0x212B or 0x2329 or 0x232A
            || c is >= 0x1F71 and <= 0x1FFD                                                        // Greek oxia singletons
            || c is >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;                            // CJK compatibility
    }
}
