using System.Collections.Concurrent;
using System.Text.Json;
using InseqNative.Loading;
using InseqNative.Tests.Loading;
using InseqNative.Tokenization;

namespace InseqNative.Tests.Tokenization;

/// <summary>
/// The encoder-decoder tokenizers (T5Tokenizer legacy=True, MarianTokenizer, M2M100Tokenizer; transformers 4.38.1
/// slow classes) against hf/tiny-{t5,marian,m2m100}.json and against every Inseq case of those models: source ids
/// and tokens, decoder input ids and tokens, and greedy text decoded with special tokens skipped, all exact.
/// </summary>
public sealed class Seq2SeqTokenizerFixtureTests
{
    public static readonly string[] Models = ["tiny-t5", "tiny-marian", "tiny-m2m100"];

    private static readonly ConcurrentDictionary<string, Seq2SeqTokenizer> Cache = new();

    public static Seq2SeqTokenizer Tokenizer(string model) => Cache.GetOrAdd(model, m =>
    {
        string folder = FixturePaths.Models(m);
        return TokenizerLoader.LoadSeq2Seq(folder, ModelConfig.Load(folder));
    });

    public sealed record Item(string Source, int[] InputIds, string[] InputTokens, string Target, int[] DecoderInputIds,
        string[] DecoderInputTokens, int[] SequenceIds, string[] SequenceTokens, string Text);

    public static Item LoadItem(string model, int index)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(FixturePaths.Hf(model)));
        JsonElement it = doc.RootElement.GetProperty("items")[index];
        JsonElement greedy = it.GetProperty("greedy");
        return new Item(it.GetProperty("source").GetString()!, Ints(it.GetProperty("input_ids")),
            Strings(it.GetProperty("input_tokens")), it.GetProperty("target").GetString()!,
            Ints(it.GetProperty("decoder_input_ids")), Strings(it.GetProperty("decoder_input_tokens")),
            Ints(greedy.GetProperty("sequence_ids")), Strings(greedy.GetProperty("sequence_tokens")),
            greedy.GetProperty("text").GetString()!);
    }

    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
    private static string[] Strings(JsonElement e) => e.EnumerateArray().Select(x => x.GetString()!).ToArray();

    public static TheoryData<string, int> HfItems()
    {
        var data = new TheoryData<string, int>();
        foreach (string model in Models)
            for (int i = 0; i < 3; i++)
                data.Add(model, i);
        return data;
    }

    [Theory]
    [MemberData(nameof(HfItems))]
    public void Hf_source_target_and_greedy_text_match_transformers(string model, int index)
    {
        Item item = LoadItem(model, index);
        Seq2SeqTokenizer tok = Tokenizer(model);

        Assert.Equal(item.InputIds, tok.EncodeSource(item.Source));
        Assert.Equal(item.InputIds, tok.Encode(item.Source));
        Assert.Equal(item.InputTokens, tok.ConvertIdsToTokens(item.InputIds));

        Assert.Equal(item.DecoderInputIds[0], tok.DecoderStartTokenId);
        Assert.Equal(item.DecoderInputIds[1..], tok.EncodeTarget(item.Target));
        Assert.Equal(item.DecoderInputIds, tok.EncodeDecoderInput(item.Target));
        Assert.Equal(item.DecoderInputTokens, tok.ConvertIdsToTokens(item.DecoderInputIds));

        Assert.Equal(item.SequenceTokens, tok.ConvertIdsToTokens(item.SequenceIds));
        Assert.Equal(item.Text, tok.DecodeTarget(item.SequenceIds, skipSpecialTokens: true));
        Assert.Equal(item.Text, tok.Decode(item.SequenceIds, skipSpecialTokens: true));
        // Inseq decodes a target (skipping specials) and re-tokenizes it: these texts survive the round trip.
        Assert.Equal(item.DecoderInputIds, tok.EncodeDecoderInput(tok.DecodeTarget(item.DecoderInputIds, skipSpecialTokens: true)));
    }

    public static TheoryData<string> CaseNames()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.EnumerateFiles(FixturePaths.Cases, "*.json").Order(StringComparer.Ordinal))
        {
            string name = Path.GetFileNameWithoutExtension(file);
            if (Models.Any(m => name.StartsWith(m + "__", StringComparison.Ordinal)))
                data.Add(name);
        }
        return data;
    }

    [Fact]
    public void Every_encoder_decoder_case_is_covered()
    {
        // 15 Marian, 11 M2M100 and 12 T5 cases.
        Assert.Equal(38, CaseNames().Count);
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Inseq_case_source_and_target_tokens_match(string caseName)
    {
        string model = caseName[..caseName.IndexOf("__", StringComparison.Ordinal)];
        Seq2SeqTokenizer tok = Tokenizer(model);
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixturePaths.Cases, caseName + ".json")));
        JsonElement info = doc.RootElement.GetProperty("info");
        string[] inputs = Strings(info.GetProperty("input_texts"));
        string[] targets = Strings(info.GetProperty("generated_texts"));
        string[]? contrasts = ContrastTargets(caseName);

        JsonElement[] sequences = doc.RootElement.GetProperty("sequences").EnumerateArray().ToArray();
        Assert.Equal(inputs.Length, sequences.Length);
        for (int i = 0; i < sequences.Length; i++)
        {
            JsonElement s = sequences[i];
            int[] sourceIds = Ints(s.GetProperty("source_ids"));
            Assert.Equal(sourceIds, tok.EncodeSource(inputs[i]));
            Assert.Equal(Strings(s.GetProperty("source_tokens")), tok.ConvertIdsToTokens(sourceIds));

            int[] caseTargetIds = Ints(s.GetProperty("target_ids"));
            string[] caseTargetTokens = Strings(s.GetProperty("target_tokens"));
            int[] targetIds = tok.EncodeDecoderInput(targets[i]);
            string[] targetTokens = tok.ConvertIdsToTokens(targetIds);
            Assert.Equal(targetIds.Length, caseTargetIds.Length);
            string[]? contrastTokens = contrasts is null ? null : tok.ConvertIdsToTokens(tok.EncodeDecoderInput(contrasts[i]));
            for (int j = 0; j < targetIds.Length; j++)
            {
                if (caseTargetIds[j] >= 0)
                {
                    Assert.Equal(caseTargetIds[j], targetIds[j]);
                    Assert.Equal(caseTargetTokens[j], targetTokens[j]);
                }
                else
                {
                    // Contrastive cases: "<contrast token> → <target token>" with id -1 where they differ.
                    Assert.NotNull(contrastTokens);
                    Assert.Equal($"{contrastTokens[j]} → {targetTokens[j]}", caseTargetTokens[j]);
                }
            }
        }
    }

    /// <summary>index.json's contrast_targets of a case (a string or a list), one per input, or null.</summary>
    private static string[]? ContrastTargets(string caseName)
    {
        using JsonDocument index = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixturePaths.Root, "index.json")));
        foreach (JsonElement entry in index.RootElement.EnumerateArray())
        {
            if (entry.GetProperty("name").GetString() != caseName)
                continue;
            if (!entry.GetProperty("attribute_kwargs").TryGetProperty("contrast_targets", out JsonElement c))
                return null;
            return c.ValueKind == JsonValueKind.Array ? Strings(c) : [c.GetString()!];
        }
        throw new InvalidOperationException($"{caseName} is not in index.json");
    }
}
