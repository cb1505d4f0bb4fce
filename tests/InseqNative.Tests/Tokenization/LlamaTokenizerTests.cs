using InseqNative.Loading;
using InseqNative.Tests.Loading;
using InseqNative.Tokenization;

namespace InseqNative.Tests.Tokenization;

/// <summary>tiny-llama's SentencePiece BPE tokenizer against hf/tiny-llama.json (LlamaTokenizer, legacy=True,
/// transformers 4.38.1) and against what Inseq 0.6 produced from it.</summary>
public sealed class LlamaTokenizerTests
{
    static readonly Lazy<TextTokenizer> Tokenizer = new(() =>
        TokenizerLoader.Load(FixturePaths.Models("tiny-llama"), ModelConfig.Load(FixturePaths.Models("tiny-llama"))));

    static TextTokenizer Tok => Tokenizer.Value;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Ids_tokens_and_greedy_text_match_transformers(int index)
    {
        var item = TokenizerFixtureTests.LoadItem("tiny-llama", index);
        Assert.Equal(item.InputIds, Tok.Encode(item.Prompt));
        Assert.Equal(item.InputTokens, Tok.ConvertIdsToTokens(item.InputIds));
        Assert.Equal(item.TargetIds, Tok.Encode(item.Target));
        Assert.Equal(item.TargetTokens, Tok.ConvertIdsToTokens(item.TargetIds));
        Assert.Equal(item.SequenceTokens, Tok.ConvertIdsToTokens(item.SequenceIds));
        Assert.Equal(item.GreedyText, Tok.Decode(item.SequenceIds, skipSpecialTokens: true));
        // What Inseq does with a target: decode skipping specials, re-tokenize; a text without byte pieces survives.
        Assert.Equal(item.TargetIds, Tok.Encode(Tok.Decode(item.TargetIds, skipSpecialTokens: true)));
    }

    [Fact]
    public void Special_tokens_come_from_the_folder_and_bos_is_added()
    {
        Assert.Equal(640, Tok.VocabSize);
        Assert.Equal(new SpecialToken("<s>", 1), Tok.SpecialTokens.Bos);
        Assert.Equal(new SpecialToken("</s>", 2), Tok.SpecialTokens.Eos);
        Assert.Equal(new SpecialToken("<unk>", 0), Tok.SpecialTokens.Unk);
        Assert.Null(Tok.SpecialTokens.Pad);
        Assert.True(Tok.IsSpecial(1) && Tok.IsSpecial(2) && Tok.IsSpecial(0));
        Assert.Equal(1, Tok.Encode("The")[0]);
        Assert.NotEqual(2, Tok.Encode("The")[^1]); // add_eos_token false
    }

    [Fact]
    public void Special_tokens_written_in_the_text_become_their_ids()
    {
        var ids = Tok.Encode("The fox</s><s>The fox");
        Assert.Equal(2, ids.Count(id => id == 1));
        Assert.Equal(1, ids.Count(id => id == 2));
        var half = Tok.Encode("The fox")[1..];
        Assert.Equal([1, .. half, 2, 1, .. half], ids); // legacy: every piece gets the dummy prefix
    }

    [Fact]
    public void Decoding_writes_special_tokens_and_drops_the_prefix_space()
    {
        int[] ids = [1, 301, 403, 422, 2];
        // legacy: a space before a special token that follows text, the pieces decoded without their prefix space
        Assert.Equal("<s> The quick</s>", Tok.Decode(ids));
        Assert.Equal("The quick", Tok.Decode(ids, skipSpecialTokens: true));
    }

    [Fact]
    public void Byte_pieces_decode_as_utf8_with_one_replacement_per_bad_byte_as_sentencepiece()
    {
        // "€" is <0xE2><0x82><0xAC>; a lone lead byte and a truncated 3-byte sequence give one U+FFFD per byte
        // (the generate_batch2 case depends on it: Inseq re-tokenizes the decoded text).
        int[] euro = [Tok.TokenToId("<0xE2>")!.Value, Tok.TokenToId("<0x82>")!.Value, Tok.TokenToId("<0xAC>")!.Value];
        Assert.Equal("€", Tok.Decode(euro));
        int[] ids = [360, 207, 324, 391, 236, 159]; // very <0xCC> el ven <0xE9> <0x9C>
        Assert.Equal("very\uFFFDelven\uFFFD\uFFFD", Tok.Decode(ids, skipSpecialTokens: true));
        // Re-encoded (after <s> and the dummy prefix "▁"), each U+FFFD is its three UTF-8 byte pieces.
        Assert.Equal([1, 583, 360, 242, 194, 192, 324, 391, 242, 194, 192, 242, 194, 192], Tok.Encode(Tok.Decode(ids)));
    }

    [Fact]
    public void Display_tokens_show_the_word_boundary_as_a_space()
    {
        Assert.Equal([" The", " qui", "ck", "<s>", "<0xE2>"],
            Tok.ConvertIdsToDisplayTokens([301, 403, 422, 1, Tok.TokenToId("<0xE2>")!.Value]));
        Assert.Throws<InvalidInputException>(() => Tok.IdToToken(640));
    }

    [Fact]
    public void A_llama3_style_tokenizer_json_with_an_incomplete_split_is_refused_by_name()
    {
        using var dir = new TempDirectory();
        dir.Write("tokenizer.json", """
            {"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]},
             "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "Split"}, {"type": "ByteLevel", "use_regex": false}]}}
            """);
        var e = Assert.Throws<UnsupportedModelException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains("pre_tokenizer Split with behavior '(none)' is not supported yet (supported: Isolated)", e.Message);
    }

    [Fact]
    public void Byte_level_folders_with_other_split_rules_are_refused_by_name()
    {
        using var dir = new TempDirectory().CopyFrom(FixturePaths.Models("tiny-gpt2-bpe"), name => name is "vocab.json" or "merges.txt");
        dir.Write("tokenizer_config.json", """{"tokenizer_class": "Qwen2Tokenizer"}""");
        var e = Assert.Throws<UnsupportedModelException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains("Qwen2Tokenizer", e.Message);
    }
}
