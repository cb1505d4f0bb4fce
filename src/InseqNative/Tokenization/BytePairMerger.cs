using System.Text;
using InseqNative.Loading;

namespace InseqNative.Tokenization;

/// <summary>
/// Byte-level BPE on one pre-token, as GPT-2's <c>bpe()</c> and tokenizers' BPE model do it: start from the byte
/// symbols of the piece's UTF-8, repeatedly take the adjacent pair of lowest merge rank and merge its occurrences
/// left to right, then look every symbol up. Optionally (tokenizers' <c>ignore_merges</c>) a piece that is itself a
/// vocabulary token is that token.
/// </summary>
/// <remarks>Written here rather than taken from Microsoft.ML.Tokenizers' CodeGenTokenizer, which maps runs of spaces
/// to CodeGen's extra whitespace ids (50257 onwards) even for GPT-2 vocabularies.</remarks>
internal sealed class BytePairMerger
{
    private readonly Dictionary<string, int> _vocab;
    private readonly Dictionary<(string, string), int> _ranks;

    private BytePairMerger(Dictionary<string, int> vocab, Dictionary<(string, string), int> ranks)
    {
        _vocab = vocab;
        _ranks = ranks;
    }

    /// <summary>From a vocabulary and merges.txt bytes ("#version" line optional, then "a b" per line). Every
    /// byte symbol and every merge result must be in the vocabulary.</summary>
    public static BytePairMerger Create(string source, Dictionary<string, int> vocab, byte[] mergesUtf8)
    {
        for (int b = 0; b < 256; b++)
            if (!vocab.ContainsKey(ByteLevelAlphabet.ToChar((byte)b).ToString()))
                throw new UnsupportedModelException(source,
                    $"the byte-level vocabulary lacks the symbol of byte 0x{b:X2} ('{ByteLevelAlphabet.ToChar((byte)b)}'), which byte-level BPE needs");
        var ranks = new Dictionary<(string, string), int>();
        string[] lines = Encoding.UTF8.GetString(mergesUtf8).Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0 || (i == 0 && line.StartsWith("#version", StringComparison.Ordinal)))
                continue;
            string[] parts = line.Split(' ');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                throw new ModelLoadException(source, $"merge {ranks.Count} '{line}' is not two tokens separated by one space");
            if (!vocab.ContainsKey(parts[0] + parts[1]))
                throw new ModelLoadException(source, $"merge '{line}' gives '{parts[0] + parts[1]}', which is not in the vocabulary");
            ranks.TryAdd((parts[0], parts[1]), ranks.Count);
        }
        return new BytePairMerger(vocab, ranks);
    }

    public void Encode(string piece, bool ignoreMerges, List<int> ids)
    {
        string byteLevel = ByteLevelAlphabet.ToByteLevel(piece);
        if (byteLevel.Length == 0)
            return;
        if ((ignoreMerges || byteLevel.Length == 1) && _vocab.TryGetValue(byteLevel, out int whole))
        {
            ids.Add(whole);
            return;
        }
        var symbols = new List<string>(byteLevel.Length);
        foreach (char c in byteLevel)
            symbols.Add(c.ToString());
        while (symbols.Count > 1)
        {
            int bestRank = int.MaxValue;
            (string, string) best = default;
            for (int i = 0; i + 1 < symbols.Count; i++)
                if (_ranks.TryGetValue((symbols[i], symbols[i + 1]), out int rank) && rank < bestRank)
                {
                    bestRank = rank;
                    best = (symbols[i], symbols[i + 1]);
                }
            if (bestRank == int.MaxValue)
                break;
            var merged = new List<string>(symbols.Count);
            for (int i = 0; i < symbols.Count; i++)
            {
                if (i + 1 < symbols.Count && symbols[i] == best.Item1 && symbols[i + 1] == best.Item2)
                {
                    merged.Add(best.Item1 + best.Item2);
                    i++;
                }
                else
                {
                    merged.Add(symbols[i]);
                }
            }
            symbols = merged;
        }
        foreach (string symbol in symbols)
            ids.Add(_vocab[symbol]);
    }
}
