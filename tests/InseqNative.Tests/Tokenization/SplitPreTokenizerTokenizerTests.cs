using Xunit;
using System.Text.Json.Nodes;
using InseqNative.Loading;
using InseqNative.Tests.Loading;
using InseqNative.Tokenization;

namespace InseqNative.Tests.Tokenization;

/// <summary>
/// Llama-3 / Qwen2 style tokenizer.json (Split regex + ByteLevel pre-tokenizer, byte-level BPE, TemplateProcessing)
/// on a small hand-made vocabulary: the 256 byte symbols (id = byte value) plus a few merges, so every expected id
/// list can be worked out by hand from the regex pieces and the merge ranks.
/// </summary>
public sealed class SplitPreTokenizerTokenizerTests
{
    public const string Llama3Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
    public const string Qwen2Pattern =
        @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    private static string B(int b) => ByteLevelAlphabet.ToChar((byte)b).ToString();

    // Merges in rank order and the ids of their results (after the 256 byte symbols).
    private static readonly (string Left, string Right)[] Merges =
    [
        ("t", "'"),       // 256 "t'"  (only reachable if a contraction were not its own piece)
        ("Ġ", "t"),       // 257 "Ġt"
        ("h", "e"),       // 258 "he"
        ("Ġt", "he"),     // 259 "Ġthe"
        ("1", "2"),       // 260 "12"
        ("12", "3"),      // 261 "123"
        ("'", "s"),       // 262 "'s"
        ("Ċ", "Ċ"),       // 263 "ĊĊ"
        ("l", "o"),       // 264 "lo"
        ("Ġ", "Ġ"),       // 265 "ĠĠ"
        (B(0x80), "a"),   // 266 "\x80a": crosses a piece boundary only if "😀" and "abc" were cut apart
    ];
    private const int The = 259, OneTwoThree = 261, ApostropheS = 262, NewlineNewline = 263,
        Lo = 264, SpaceSpace = 265, X80A = 266;
    private const int Hello = 267;            // in the vocabulary, not reachable by merges ("he" "l" "lo")
    private const int Bot = 268, Eot = 269;   // <|begin_of_text|>, <|end_of_text|>

    /// <summary>A tokenizer.json in Hugging Face's layout.</summary>
    public static JsonObject TokenizerJson(string pattern, bool llama3Template, bool ignoreMerges, bool pairMerges,
        bool nfc = false)
    {
        var vocab = new JsonObject();
        for (int b = 0; b < 256; b++)
            vocab[B(b)] = b;
        var merges = new JsonArray();
        for (int i = 0; i < Merges.Length; i++)
        {
            vocab[Merges[i].Left + Merges[i].Right] = 256 + i;
            merges.Add(pairMerges ? new JsonArray(Merges[i].Left, Merges[i].Right) : (JsonNode)$"{Merges[i].Left} {Merges[i].Right}");
        }
        vocab["hello"] = Hello;

        JsonNode added(int id, string content) => JsonNode.Parse(
            $$"""{"id": {{id}}, "content": "{{content}}", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}""")!;
        JsonNode byteLevel(bool useRegex) => JsonNode.Parse(
            $$"""{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": {{(useRegex ? "false" : "true")}}, "use_regex": {{(useRegex ? "true" : "false")}}}""")!;

        JsonNode postProcessor = llama3Template
            ? new JsonObject
            {
                ["type"] = "Sequence",
                ["processors"] = new JsonArray(byteLevel(true), JsonNode.Parse("""
                    {"type": "TemplateProcessing",
                     "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                     "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                              {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                     "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [268], "tokens": ["<|begin_of_text|>"]}}}
                    """)),
            }
            : byteLevel(false);

        return new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(added(Bot, "<|begin_of_text|>"), added(Eot, "<|end_of_text|>")),
            ["normalizer"] = nfc ? new JsonObject { ["type"] = "NFC" } : null,
            ["pre_tokenizer"] = new JsonObject
            {
                ["type"] = "Sequence",
                ["pretokenizers"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Split",
                        ["pattern"] = new JsonObject { ["Regex"] = pattern },
                        ["behavior"] = "Isolated",
                        ["invert"] = false,
                    },
                    byteLevel(false)),
            },
            ["post_processor"] = postProcessor,
            ["decoder"] = byteLevel(true),
            ["model"] = new JsonObject
            {
                ["type"] = "BPE",
                ["dropout"] = null,
                ["unk_token"] = null,
                ["continuing_subword_prefix"] = null,
                ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false,
                ["byte_fallback"] = false,
                ["ignore_merges"] = ignoreMerges,
                ["vocab"] = vocab,
                ["merges"] = merges,
            },
        };
    }

    private static TextTokenizer Load(JsonObject json, string? tokenizerConfig = null)
    {
        using var dir = new TempDirectory();
        dir.Write("tokenizer.json", json.ToJsonString());
        if (tokenizerConfig is not null)
            dir.Write("tokenizer_config.json", tokenizerConfig);
        return TokenizerLoader.Load(dir.Path);
    }

    private static TextTokenizer Llama3(bool ignoreMerges = true) =>
        Load(TokenizerJson(Llama3Pattern, llama3Template: true, ignoreMerges, pairMerges: false));

    private static TextTokenizer Qwen2(bool nfc = true) =>
        Load(TokenizerJson(Qwen2Pattern, llama3Template: false, ignoreMerges: false, pairMerges: true, nfc));

    private static int[] Bytes(string text) => [.. System.Text.Encoding.UTF8.GetBytes(text).Select(b => (int)b)];

    [Fact]
    public void Llama3DigitsGoInGroupsOfThreeQwen2OneByOne()
    {
        // "12345" → "123" "45"; with single digits "12" is never one piece, so no merge applies.
        Assert.Equal([Bot, OneTwoThree, '4', '5'], Llama3().Encode("12345"));
        Assert.Equal([Bot, OneTwoThree, OneTwoThree, '1'], Llama3().Encode("1231231"));
        Assert.Equal(['1', '2', '3', '4', '5'], Qwen2().Encode("12345"));
    }

    [Fact]
    public void ContractionsAreTheirOwnPieces()
    {
        TextTokenizer tokenizer = Llama3();
        // "it" "'s": the rank-0 merge "t '" would fire if "it's" were one piece.
        Assert.Equal([Bot, 'i', 't', ApostropheS], tokenizer.Encode("it's"));
        // (?i:...) : "'S" is a contraction piece too, so "T" and "'" stay apart.
        Assert.Equal([Bot, 'I', 'T', '\'', 'S'], tokenizer.Encode("IT'S"));
        // Not a contraction: "'" + "x" is one piece "'x" ([^\r\n\p{L}\p{N}]?\p{L}+), and "t" ends the word before.
        Assert.Equal([Bot, 'i', 't', '\'', 'x'], tokenizer.Encode("it'x"));
    }

    [Fact]
    public void SpacesAndNewlinesFollowTheRegex()
    {
        TextTokenizer tokenizer = Llama3();
        // " the" is one piece; of two spaces the first stands alone (\s+(?!\S)), the second joins the word.
        Assert.Equal([Bot, The], tokenizer.Encode(" the"));
        Assert.Equal([Bot, 'a', ' ', The], tokenizer.Encode("a  the"));
        // Trailing spaces are one piece.
        Assert.Equal([Bot, 'a', SpaceSpace], tokenizer.Encode("a  "));
        // "\n\n" is one piece (\s*[\r\n]+); after punctuation the newlines join it (...[\r\n]*).
        Assert.Equal([Bot, 'a', NewlineNewline, 'b'], tokenizer.Encode("a\n\nb"));
        Assert.Equal([Bot, 'a', '.', NewlineNewline, 'b'], tokenizer.Encode("a.\n\nb"));
        // A letter run takes one leading non-letter, non-newline character: "(he" + "llo" would differ from "hello".
        Assert.Equal([Bot, '(', 258, 'l', Lo], tokenizer.Encode("(hello"));
    }

    [Fact]
    public void UnicodeIsEncodedAsUtf8Bytes()
    {
        TextTokenizer tokenizer = Llama3();
        Assert.Equal([Bot, .. Bytes("café")], tokenizer.Encode("café"));
        Assert.Equal([Bot, .. Bytes("日本語")], tokenizer.Encode("日本語"));
        // Emoji: a supplementary character is one "character" for the regex, so "😀abc" is one piece
        // ([^\r\n\p{L}\p{N}]?\p{L}+) and the merge of its last byte 0x80 with "a" applies.
        Assert.Equal([Bot, 0xF0, 0x9F, 0x98, X80A, 'b', 'c'], tokenizer.Encode("😀abc"));
        // Supplementary letters (mathematical bold, ending in byte 0x80) are letters: "𝐀a" is one piece.
        Assert.Equal([Bot, 0xF0, 0x9D, 0x90, X80A], tokenizer.Encode("𝐀a"));
        Assert.Equal([Bot, .. Bytes("𝐀"), ' ', 'a'], tokenizer.Encode("𝐀 a"));
    }

    [Fact]
    public void IgnoreMergesEmitsVocabularyPiecesWhole()
    {
        Assert.Equal([Bot, Hello], Llama3(ignoreMerges: true).Encode("hello"));
        Assert.Equal([Bot, 258, 'l', Lo], Llama3(ignoreMerges: false).Encode("hello"));
        // Only whole pieces: " hello" is not in the vocabulary, so it is merged as usual.
        Assert.Equal([Bot, ' ', 258, 'l', Lo], Llama3(ignoreMerges: true).Encode(" hello"));
    }

    [Fact]
    public void TemplateAddsBosAndSettingsCanOverrideIt()
    {
        TextTokenizer llama = Llama3();
        Assert.Equal(Bot, llama.BosTokenId);
        Assert.Equal([Bot], llama.Encode(""));
        Assert.Equal(['a'], Qwen2().Encode("a"));

        JsonObject json = TokenizerJson(Llama3Pattern, llama3Template: true, ignoreMerges: true, pairMerges: false);
        const string names = "\"bos_token\": \"<|begin_of_text|>\", \"eos_token\": \"<|end_of_text|>\"";
        Assert.Equal(['a'], Load(json, $$"""{{{names}}, "add_bos_token": false}""").Encode("a"));
        TextTokenizer both = Load(json, $$"""{{{names}}, "add_bos_token": true, "add_eos_token": true}""");
        Assert.Equal([Bot, 'a', Eot], both.Encode("a"));
        Assert.Equal(Eot, both.EosTokenId);
        // Qwen2 has no template; add_bos_token written in the settings adds BOS.
        JsonObject qwen = TokenizerJson(Qwen2Pattern, llama3Template: false, ignoreMerges: false, pairMerges: true);
        Assert.Equal([Bot, 'a'], Load(qwen, $$"""{{{names}}, "add_bos_token": true}""").Encode("a"));
    }

    [Fact]
    public void SpecialTokensInTheTextAreRecognised()
    {
        TextTokenizer tokenizer = Llama3();
        int[] ids = tokenizer.Encode("<|begin_of_text|>hello<|end_of_text|> the");
        Assert.Equal([Bot, Bot, Hello, Eot, The], ids);
        Assert.True(tokenizer.IsSpecial(Bot));
        Assert.True(tokenizer.IsSpecial(Eot));
        Assert.Equal("<|begin_of_text|><|begin_of_text|>hello<|end_of_text|> the", tokenizer.Decode(ids, cleanUpTokenizationSpaces: false));
        Assert.Equal("hello the", tokenizer.Decode(ids, skipSpecialTokens: true));
        Assert.Equal(["<|begin_of_text|>", "hello", " the"], tokenizer.ConvertIdsToDisplayTokens([Bot, Hello, The]));
    }

    [Theory]
    [InlineData("The quick brown fox jumps over the lazy dog.")]
    [InlineData("it's 12345 o'clock, isn't it?  \n\n  ok\r\n")]
    [InlineData("café naïve 日本語 Ελληνικά русский")]
    [InlineData("emoji 😀👍🏽 flags 🇫🇷 zwj 👩‍👩‍👧 math 𝐀𝐁𝟏𝟐")]
    [InlineData("\u0000\u0001\t\u000b\f\u0085\u00a0\u2028 e\u0301 \uFFFD")]
    [InlineData("  leading and trailing   ")]
    [InlineData("<|end_of_text|>x<|begin_of_text|>")]
    public void DecodeOfEncodeGivesTheTextBack(string text)
    {
        foreach (TextTokenizer tokenizer in new[] { Llama3(), Llama3(ignoreMerges: false), Qwen2(nfc: false) })
        {
            int[] ids = tokenizer.Encode(text);
            string withBos = tokenizer.Decode(ids, cleanUpTokenizationSpaces: false);
            Assert.Equal(ids.Length > 0 && ids[0] == Bot && !text.StartsWith("<|begin", StringComparison.Ordinal) ? "<|begin_of_text|>" + text : text, withBos);
        }
        string stripped = text.Replace("<|end_of_text|>", "").Replace("<|begin_of_text|>", "");
        Assert.Equal(stripped, Llama3().Decode(Llama3().Encode(text), skipSpecialTokens: true, cleanUpTokenizationSpaces: false));
    }

    [Fact]
    public void InvalidUtf8DecodesWithReplacement()
    {
        TextTokenizer tokenizer = Llama3();
        // A truncated 4-byte sequence, then a lone continuation byte.
        Assert.Equal("\uFFFDa\uFFFD", tokenizer.Decode([0xF0, 0x9F, 'a', 0x80]));
        Assert.Equal("<0xF0>", tokenizer.ConvertIdsToDisplayTokens([0xF0])[0]);
    }

    [Fact]
    public void Qwen2NormalizesToNfc()
    {
        TextTokenizer tokenizer = Qwen2(nfc: true);
        Assert.Equal(Bytes("é a"), tokenizer.Encode("é a"));
        // NFC needs ICU; under InvariantGlobalization text NFC could change is refused instead of mis-encoded.
        if ("e\u0301".Normalize(System.Text.NormalizationForm.FormC) == "é")
            Assert.Equal(Bytes("é"), tokenizer.Encode("e\u0301"));
        else
            Assert.Contains("InvariantGlobalization", Assert.Throws<InvalidInputException>(() => tokenizer.Encode("e\u0301")).Message);
        Assert.Equal([.. Bytes("e\u0301")], Qwen2(nfc: false).Encode("e\u0301"));
    }

    [Fact]
    public void StringAndPairMergesGiveTheSameIds()
    {
        TextTokenizer strings = Load(TokenizerJson(Llama3Pattern, true, true, pairMerges: false));
        TextTokenizer pairs = Load(TokenizerJson(Llama3Pattern, true, true, pairMerges: true));
        const string text = "it's the 12345 hello\n\n(hello) 😀abc";
        Assert.Equal(strings.Encode(text), pairs.Encode(text));
    }

    /// <summary>GPT-2's own split rules written as a Split regex must give GPT2Tokenizer's ids (fixtures from
    /// transformers): checks the per-piece BPE path against an outside reference.</summary>
    [Fact]
    public void Gpt2RegexAsSplitMatchesTheGpt2Fixture()
    {
        using TempDirectory dir = new TempDirectory().CopyFrom(FixturePaths.Models("tiny-gpt2"),
            name => name is not ("vocab.json" or "merges.txt" or "model.safetensors"));
        JsonNode root = JsonNode.Parse(File.ReadAllText(dir.File("tokenizer.json")))!;
        root["pre_tokenizer"] = JsonNode.Parse("""
            {"type": "Sequence", "pretokenizers": [
              {"type": "Split", "pattern": {"Regex": "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"},
               "behavior": "Isolated", "invert": false},
              {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false}]}
            """);
        File.WriteAllText(dir.File("tokenizer.json"), root.ToJsonString());
        TextTokenizer split = TokenizerLoader.Load(dir.Path, ModelConfig.Load(dir.Path));
        TextTokenizer reference = TokenizerLoader.Load(FixturePaths.Models("tiny-gpt2"));
        for (int i = 0; i < 3; i++)
        {
            TokenizerFixtureTests.Item item = TokenizerFixtureTests.LoadItem("tiny-gpt2", i);
            Assert.Equal(item.InputIds, split.Encode(item.Prompt));
            Assert.Equal(item.TargetIds, split.Encode(item.Target));
            Assert.Equal(item.Target, split.Decode(item.TargetIds, cleanUpTokenizationSpaces: false));
        }
        const string text = "Hello world, it's 2024!\n\n  Café 😀 naïve   tabs\tand 12345 numbers.";
        Assert.Equal(reference.Encode(text), split.Encode(text));
        // Runs of spaces stay in GPT-2's vocabulary: "a", " ", " b" (CodeGenTokenizer gave CodeGen's extra ids here).
        Assert.Equal([64, 220, 275], reference.Encode("a  b"));
        Assert.Equal([0, 628, 220, 42151], reference.Encode("!\n\n  Café"));
        Assert.All(reference.Encode("x    y\t\t z \n   \n"), id => Assert.InRange(id, 0, reference.VocabSize - 1));
    }

    [Fact]
    public void UnsupportedComponentsAreNamed()
    {
        UnsupportedModelException Refused(Action<JsonObject> edit)
        {
            JsonObject json = TokenizerJson(Llama3Pattern, true, true, false);
            edit(json);
            return Assert.Throws<UnsupportedModelException>(() => Load(json));
        }

        Assert.Contains("pre_tokenizer 'Metaspace' is not supported yet",
            Refused(j => j["pre_tokenizer"] = JsonNode.Parse("""{"type": "Metaspace", "replacement": "▁"}""")).Message);
        Assert.Contains("Split with behavior 'Removed' is not supported yet",
            Refused(j => j["pre_tokenizer"]!["pretokenizers"]![0]!["behavior"] = "Removed").Message);
        Assert.Contains("Split with invert=true",
            Refused(j => j["pre_tokenizer"]!["pretokenizers"]![0]!["invert"] = true).Message);
        Assert.Contains("ByteLevel after a Split must have use_regex=false",
            Refused(j => j["pre_tokenizer"]!["pretokenizers"]![1]!["use_regex"] = true).Message);
        Assert.Contains("pre_tokenizer 'Sequence[Split, Digits, ByteLevel]'",
            Refused(j => j["pre_tokenizer"]!["pretokenizers"]!.AsArray().Insert(1, JsonNode.Parse("""{"type": "Digits", "individual_digits": true}"""))).Message);
        Assert.Contains("normalizer 'Lowercase' is not supported yet",
            Refused(j => j["normalizer"] = JsonNode.Parse("""{"type": "Lowercase"}""")).Message);
        Assert.Contains("post_processor 'RobertaProcessing'",
            Refused(j => j["post_processor"] = JsonNode.Parse("""{"type": "RobertaProcessing"}""")).Message);
        Assert.Contains("decoder 'Metaspace'",
            Refused(j => j["decoder"] = JsonNode.Parse("""{"type": "Metaspace"}""")).Message);
        Assert.Contains("dropout",
            Refused(j => j["model"]!["dropout"] = 0.1).Message);
        Assert.Contains("not supported by .NET's Regex",
            Refused(j => j["pre_tokenizer"]!["pretokenizers"]![0]!["pattern"]!["Regex"] = "(unclosed").Message);
    }
}
