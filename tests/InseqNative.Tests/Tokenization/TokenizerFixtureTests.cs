using Xunit;
using System.Text.Json;
using InseqNative.Loading;
using InseqNative.Tests.Loading;
using InseqNative.Tokenization;

namespace InseqNative.Tests.Tokenization;

/// <summary>Token ids, tokens and decoded text against hf/&lt;model&gt;.json (GPT2Tokenizer, transformers 4.38.1),
/// once with vocab.json + merges.txt and once from tokenizer.json alone.</summary>
public sealed class TokenizerFixtureTests : IClassFixture<TokenizerFixtureTests.Tokenizers>
{
    public const string VocabAndMerges = "vocab.json+merges.txt";
    public const string TokenizerJsonOnly = "tokenizer.json";

    private readonly Tokenizers _tokenizers;

    public TokenizerFixtureTests(Tokenizers tokenizers) => _tokenizers = tokenizers;

    /// <summary>Loads each (model, source) tokenizer once for the whole class.</summary>
    public sealed class Tokenizers : IDisposable
    {
        private readonly Dictionary<(string, string), TextTokenizer> _cache = [];
        private readonly List<TempDirectory> _dirs = [];

        public TextTokenizer Get(string model, string source)
        {
            lock (_cache)
            {
                if (_cache.TryGetValue((model, source), out TextTokenizer? tokenizer))
                    return tokenizer;
                string folder = FixturePaths.Models(model);
                if (source == TokenizerJsonOnly)
                {
                    var dir = new TempDirectory().CopyFrom(folder,
                        name => name is not ("vocab.json" or "merges.txt" or "model.safetensors"));
                    _dirs.Add(dir);
                    folder = dir.Path;
                }
                tokenizer = TokenizerLoader.Load(folder, ModelConfig.Load(folder));
                _cache[(model, source)] = tokenizer;
                return tokenizer;
            }
        }

        public void Dispose()
        {
            foreach (TempDirectory dir in _dirs)
                dir.Dispose();
        }
    }

    public sealed record Item(string Prompt, int[] InputIds, string[] InputTokens, string Target, int[] TargetIds,
        string[] TargetTokens, int[] SequenceIds, string[] SequenceTokens, string GreedyText);

    public static Item LoadItem(string model, int index)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(FixturePaths.Hf(model)));
        JsonElement it = doc.RootElement.GetProperty("items")[index];
        JsonElement greedy = it.GetProperty("greedy");
        return new Item(it.GetProperty("prompt").GetString()!, Ints(it.GetProperty("input_ids")),
            Strings(it.GetProperty("input_tokens")), it.GetProperty("target").GetString()!,
            Ints(it.GetProperty("target_ids")), Strings(it.GetProperty("target_tokens")),
            Ints(greedy.GetProperty("sequence_ids")), Strings(greedy.GetProperty("sequence_tokens")),
            greedy.GetProperty("text").GetString()!);

        static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
        static string[] Strings(JsonElement e) => e.EnumerateArray().Select(x => x.GetString()!).ToArray();
    }

    public static TheoryData<string, string, int> Cases()
    {
        var data = new TheoryData<string, string, int>();
        foreach (string model in new[] { "tiny-gpt2", "tiny-gpt2-bpe" })
            foreach (string source in new[] { VocabAndMerges, TokenizerJsonOnly })
                for (int i = 0; i < 3; i++)
                    data.Add(model, source, i);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesHuggingFace(string model, string source, int index)
    {
        TextTokenizer tokenizer = _tokenizers.Get(model, source);
        Item item = LoadItem(model, index);

        Assert.Equal(item.InputIds, tokenizer.Encode(item.Prompt));
        Assert.Equal(item.TargetIds, tokenizer.Encode(item.Target));
        Assert.Equal(item.InputTokens, tokenizer.ConvertIdsToTokens(item.InputIds));
        Assert.Equal(item.TargetTokens, tokenizer.ConvertIdsToTokens(item.TargetIds));
        Assert.Equal(item.SequenceTokens, tokenizer.ConvertIdsToTokens(item.SequenceIds));
        Assert.Equal(item.GreedyText, tokenizer.Decode(item.SequenceIds, skipSpecialTokens: true));
        Assert.Equal(item.Target, tokenizer.Decode(item.TargetIds));
    }

    [Theory]
    [InlineData("tiny-gpt2", VocabAndMerges)]
    [InlineData("tiny-gpt2", TokenizerJsonOnly)]
    [InlineData("tiny-gpt2-bpe", VocabAndMerges)]
    [InlineData("tiny-gpt2-bpe", TokenizerJsonOnly)]
    public void SpecialTokensAreResolvedAndMatchedInText(string model, string source)
    {
        TextTokenizer tokenizer = _tokenizers.Get(model, source);
        int eot = model == "tiny-gpt2" ? 50256 : 628;
        Assert.Equal(eot + 1, tokenizer.VocabSize);
        Assert.Equal(new SpecialToken("<|endoftext|>", eot), tokenizer.SpecialTokens.Bos);
        Assert.Equal(eot, tokenizer.EosTokenId);
        Assert.Equal(eot, tokenizer.UnkTokenId);
        Assert.Null(tokenizer.PadTokenId);
        Assert.True(tokenizer.IsSpecial(eot));
        Assert.False(tokenizer.IsSpecial(13));

        int[] hello = tokenizer.Encode("Hello");
        int[] world = tokenizer.Encode(" world");
        Assert.Equal([.. hello, eot, .. world], tokenizer.Encode("Hello<|endoftext|> world"));
        Assert.Equal([eot, eot], tokenizer.Encode("<|endoftext|><|endoftext|>"));
        Assert.Equal("Hello<|endoftext|> world", tokenizer.Decode([.. hello, eot, .. world]));
        Assert.Equal("Hello world", tokenizer.Decode([.. hello, eot, .. world], skipSpecialTokens: true));
        Assert.Equal("<|endoftext|>", tokenizer.ConvertIdsToTokens([eot])[0]);
        Assert.Equal("<|endoftext|>", tokenizer.ConvertIdsToDisplayTokens([eot])[0]);
    }

    [Fact]
    public void Gpt2KnownIds()
    {
        TextTokenizer tokenizer = _tokenizers.Get("tiny-gpt2", VocabAndMerges);
        Assert.Equal([15496, 50256, 995], tokenizer.Encode("Hello<|endoftext|> world"));
        Assert.Empty(tokenizer.Encode(""));
        Assert.Equal(464, tokenizer.TokenToId("The"));
        Assert.Null(tokenizer.TokenToId("no-such-token-anywhere"));
    }

    [Fact]
    public void DisplayTokensDecodeByteLevelCharacters()
    {
        TextTokenizer gpt2 = _tokenizers.Get("tiny-gpt2", VocabAndMerges);
        Item item = LoadItem("tiny-gpt2", 2);
        string[] display = gpt2.ConvertIdsToDisplayTokens(item.TargetIds);
        Assert.Equal(["In", " 2024", " the", " price", " was", " $", "42", ".", "50", ",", " not", " €", "40", " —", " café", "."],
            display);
        Assert.Equal(" quick", gpt2.ToDisplayToken("Ġquick"));
        Assert.Equal("€", gpt2.ToDisplayToken("âĤ¬"));
        Assert.Equal("\n\n", gpt2.ToDisplayToken("ĊĊ"));

        TextTokenizer bpe = _tokenizers.Get("tiny-gpt2-bpe", VocabAndMerges);
        // '€' split over three byte tokens: each alone is not UTF-8, so it is shown as its byte.
        Assert.Equal(["<0xE2>", "<0x82>", "<0xAC>"], bpe.ConvertIdsToDisplayTokens([158, 224, 105]));
    }

    [Fact]
    public void DecodeReplacesInvalidUtf8LikePython()
    {
        TextTokenizer bpe = _tokenizers.Get("tiny-gpt2-bpe", VocabAndMerges);
        // 'â' 'Ĥ' (bytes E2 82) is a truncated 3-byte sequence: one U+FFFD, then "4".
        Assert.Equal("\uFFFD4", bpe.Decode([158, 224, 19]));
        // A lone continuation byte and a lead byte followed by ASCII: one U+FFFD each.
        Assert.Equal("\uFFFD\uFFFD4", bpe.Decode([105, 158, 19]));
    }

    [Fact]
    public void DecodeCleansUpTokenizationSpacesByDefault()
    {
        TextTokenizer tokenizer = _tokenizers.Get("tiny-gpt2", VocabAndMerges);
        int[] ids = tokenizer.Encode("Hello , world . It 's fine !");
        Assert.Equal("Hello, world. It's fine!", tokenizer.Decode(ids));
        Assert.Equal("Hello , world . It 's fine !", tokenizer.Decode(ids, cleanUpTokenizationSpaces: false));
    }

    [Fact]
    public void UnknownIdsAreRejected()
    {
        TextTokenizer tokenizer = _tokenizers.Get("tiny-gpt2-bpe", VocabAndMerges);
        var e = Assert.Throws<InvalidInputException>(() => tokenizer.Decode([1, 629]));
        Assert.Contains("token id 629", e.Message);
        Assert.Throws<InvalidInputException>(() => tokenizer.ConvertIdsToTokens([-1]));
    }
}
