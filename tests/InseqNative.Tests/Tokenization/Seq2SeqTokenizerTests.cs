using System.Text.Json.Nodes;
using InseqNative.Loading;
using InseqNative.Tests.Loading;
using InseqNative.Tokenization;

namespace InseqNative.Tests.Tokenization;

/// <summary>Special tokens, SentencePiece details and decoding of the encoder-decoder tokenizers beyond the
/// fixtures' texts, and the loader's choices and refusals.</summary>
public sealed class Seq2SeqTokenizerTests
{
    private static Seq2SeqTokenizer T5 => Seq2SeqTokenizerFixtureTests.Tokenizer("tiny-t5");
    private static Seq2SeqTokenizer Marian => Seq2SeqTokenizerFixtureTests.Tokenizer("tiny-marian");
    private static M2M100Tokenizer M2M100 => (M2M100Tokenizer)Seq2SeqTokenizerFixtureTests.Tokenizer("tiny-m2m100");

    private static int[] WithoutEos(int[] ids) => ids[..^1];

    [Fact]
    public void T5_special_tokens_and_sentinels()
    {
        T5Tokenizer tok = Assert.IsType<T5Tokenizer>(T5);
        Assert.Equal(373, tok.VocabSize);
        Assert.Equal(new SpecialToken("<pad>", 0), tok.SpecialTokens.Pad);
        Assert.Equal(new SpecialToken("</s>", 1), tok.SpecialTokens.Eos);
        Assert.Equal(new SpecialToken("<unk>", 2), tok.SpecialTokens.Unk);
        Assert.Null(tok.SpecialTokens.Bos);
        Assert.Equal(100, tok.SpecialTokens.Additional.Count);
        Assert.Equal(372, tok.TokenToId("<extra_id_0>"));
        Assert.Equal(273, tok.TokenToId("<extra_id_99>"));
        Assert.Equal("<extra_id_37>", tok.IdToToken(335));
        Assert.True(tok.IsSpecial(335) && tok.IsSpecial(0) && tok.IsSpecial(1) && tok.IsSpecial(2));
        Assert.False(tok.IsSpecial(3));
        Assert.Equal(0, tok.DecoderStartTokenId);
        Assert.Null(tok.ForcedBosTokenId);
        Assert.Throws<InvalidInputException>(() => tok.IdToToken(373));
    }

    [Fact]
    public void T5_sentinels_in_text_strip_spaces_and_eos_is_not_doubled()
    {
        int[] the = WithoutEos(T5.Encode("The")), house = WithoutEos(T5.Encode("house"));
        Assert.Equal([.. the, 372, .. house, 1], T5.Encode("The <extra_id_0> house"));
        Assert.Equal([.. the, 1], T5.Encode("The</s>"));
        Assert.Equal([1], T5.Encode(""));
        Assert.Equal([1], T5.Encode("   "));
    }

    [Fact]
    public void Runs_of_unknown_characters_are_one_unknown_piece()
    {
        // SentencePiece merges consecutive unknown pieces: "€€" is one <unk> (2), then "▁" (3) "x" (252).
        Assert.Equal([3, 2, 3, 252, 1], T5.Encode("€€ x"));
        Assert.Equal(WithoutEos(T5.Encode("€ x")), WithoutEos(T5.Encode("€€€ x")));
    }

    [Fact]
    public void Nfkc_normalization_applies_to_unigram_and_bpe_models()
    {
        // nmt_nfkc: "ﬁ" → "fi", "①" → "1" (Microsoft.ML.Tokenizers' BPE path skips the charsmap; we normalize first).
        Assert.Equal(T5.Encode("fine 1"), T5.Encode("ﬁne ①"));
        Assert.Equal(M2M100.Encode("fine 1"), M2M100.Encode("ﬁne ①"));
        Assert.Equal(Marian.Encode("fine"), Marian.Encode("ﬁne"));
        Assert.Equal(M2M100.Encode("a b"), M2M100.Encode("  a   b  "));
    }

    [Fact]
    public void T5_decoding_writes_special_tokens_like_transformers()
    {
        // convert_tokens_to_string: a space before a special token after text; sentinels are separate parts.
        Assert.Equal("<pad> Das</s>", T5.Decode([0, 53, 12, 1]));
        Assert.Equal("Das", T5.Decode([0, 53, 12, 1], skipSpecialTokens: true));
        Assert.Equal("Da <extra_id_37> s", T5.Decode([53, 335, 12]));
        Assert.Equal("Das", T5.Decode([53, 335, 12], skipSpecialTokens: true));
        Assert.Equal(" Da", T5.ConvertIdsToDisplayTokens([53])[0]);
        Assert.Equal("</s>", T5.ConvertIdsToDisplayTokens([1])[0]);
    }

    [Fact]
    public void Marian_maps_source_pieces_through_the_shared_vocabulary()
    {
        MarianTokenizer tok = Assert.IsType<MarianTokenizer>(Marian);
        Assert.Equal(210, tok.VocabSize);
        Assert.Equal(new SpecialToken("</s>", 0), tok.SpecialTokens.Eos);
        Assert.Equal(new SpecialToken("<unk>", 1), tok.SpecialTokens.Unk);
        Assert.Equal(new SpecialToken("<pad>", 209), tok.SpecialTokens.Pad);
        Assert.Equal(209, tok.DecoderStartTokenId);
        // "ß" is unknown to source.spm, but the piece SentencePiece reports ("ß") is in vocab.json (200).
        int[] ids = tok.EncodeSource("groß");
        Assert.Equal(200, ids[^2]);
        Assert.Equal(0, ids[^1]);
        // Target side: target.spm knows "▁groß" (151).
        Assert.Equal([151, 0], tok.EncodeTarget("groß"));
        // A piece vocab.json lacks becomes <unk>.
        Assert.Equal([2, 1, 0], tok.EncodeSource("€")); // "▁" (2), "€" → <unk>, </s>
    }

    [Fact]
    public void Marian_language_code_prefix_is_one_token()
    {
        // ">>de<<" is not in the tiny vocabulary, so it is <unk>; the rest is tokenized without it.
        Assert.Equal([1, .. Marian.EncodeSource("The house")], Marian.EncodeSource(">>de<< The house"));
    }

    [Fact]
    public void Marian_decoding_writes_special_tokens_followed_by_a_space()
    {
        Assert.Equal("<pad> eine eine</s>", Marian.Decode([209, 146, 146, 0]));
        Assert.Equal("eine eine", Marian.DecodeTarget([209, 146, 146, 0], skipSpecialTokens: true));
        // The source side joins pieces with source.spm.
        int[] source = Marian.EncodeSource("The house is small.");
        Assert.Equal("The house is small.", Marian.DecodeSource(source, skipSpecialTokens: true));
    }

    [Fact]
    public void M2M100_language_tokens_follow_the_vocabulary()
    {
        M2M100Tokenizer tok = M2M100;
        Assert.Equal(469, tok.VocabSize);
        Assert.Equal(379, tok.GetLanguageTokenId("en"));
        Assert.Equal(402, tok.GetLanguageTokenId("it"));
        Assert.Equal(361, tok.TokenToId("__af__"));
        Assert.Equal(460, tok.TokenToId("__zu__"));
        Assert.Equal("__it__", tok.IdToToken(402));
        Assert.Equal("<unk>", tok.IdToToken(465)); // a made-up word: transformers gives <unk>
        Assert.Throws<InvalidInputException>(() => tok.IdToToken(469));
        Assert.Equal(("en", "it"), (tok.SourceLanguage, tok.TargetLanguage));
        Assert.Equal(402, tok.ForcedBosTokenId);
        Assert.Equal(2, tok.DecoderStartTokenId);
        Assert.Equal(new SpecialToken("<s>", 0), tok.SpecialTokens.Bos);
        Assert.Equal(new SpecialToken("<pad>", 1), tok.SpecialTokens.Pad);
        Assert.Equal(new SpecialToken("</s>", 2), tok.SpecialTokens.Eos);
        Assert.Equal(new SpecialToken("<unk>", 3), tok.SpecialTokens.Unk);
        Assert.True(tok.IsSpecial(379) && tok.IsSpecial(390));
    }

    [Fact]
    public void M2M100_languages_can_be_switched_and_are_validated()
    {
        M2M100Tokenizer reversed = M2M100.WithLanguages("it", "en");
        int[] pieces = M2M100.EncodeSource("La casa")[1..^1];
        Assert.Equal([402, .. pieces, 2], reversed.EncodeSource("La casa"));
        Assert.Equal([379, .. pieces, 2], reversed.EncodeTarget("La casa"));
        Assert.Equal(379, reversed.ForcedBosTokenId);
        var e = Assert.Throws<InvalidInputException>(() => M2M100.WithLanguages("xx", "en"));
        Assert.Contains("unknown language code 'xx'", e.Message);
        var noTarget = M2M100.WithLanguages("en", null);
        Assert.Null(noTarget.ForcedBosTokenId);
        Assert.Contains("no tgt_lang", Assert.Throws<InvalidInputException>(() => noTarget.EncodeTarget("x")).Message);
    }

    [Fact]
    public void M2M100_special_tokens_in_text_become_their_ids()
    {
        int[] hello = M2M100.EncodeSource("hello")[1..^1];
        Assert.Equal([379, .. hello, 2, 2], M2M100.EncodeSource("hello </s>"));
        Assert.Equal([379, 385, .. hello, 2], M2M100.EncodeSource("__fr__ hello"));
        Assert.Equal("hello", M2M100.Decode([2, 402, .. hello, 2], skipSpecialTokens: true));
        Assert.Equal("</s>__it__hello</s>", M2M100.Decode([2, 402, .. hello, 2]));
    }

    [Fact]
    public void Loader_picks_by_files_when_there_is_no_config()
    {
        using var dir = new TempDirectory().CopyFrom(FixturePaths.Models("tiny-marian"),
            name => name is "source.spm" or "target.spm" or "vocab.json");
        var tok = Assert.IsType<MarianTokenizer>(TokenizerLoader.Load(dir.Path));
        var item = Seq2SeqTokenizerFixtureTests.LoadItem("tiny-marian", 0);
        Assert.Equal(item.InputIds, tok.EncodeSource(item.Source));
        Assert.Equal(209, tok.DecoderStartTokenId); // pad, MarianConfig's default

        using var t5 = new TempDirectory().CopyFrom(FixturePaths.Models("tiny-t5"), name => name == "spiece.model");
        var t5Tok = Assert.IsType<T5Tokenizer>(TokenizerLoader.Load(t5.Path));
        Assert.Equal(373, t5Tok.VocabSize); // sentinels from extra_ids' default of 100
        Assert.Equal(372, t5Tok.TokenToId("<extra_id_0>"));
        Assert.Equal(T5.Encode("The <extra_id_3> house"), t5Tok.Encode("The <extra_id_3> house"));

        using var m2m = new TempDirectory().CopyFrom(FixturePaths.Models("tiny-m2m100"),
            name => name is "sentencepiece.bpe.model" or "vocab.json");
        var m2mTok = Assert.IsType<M2M100Tokenizer>(TokenizerLoader.Load(m2m.Path));
        Assert.Equal(("en", null), (m2mTok.SourceLanguage, m2mTok.TargetLanguage));
        Assert.Equal(M2M100.EncodeSource("The house"), m2mTok.EncodeSource("The house"));
    }

    [Theory]
    [InlineData("tiny-marian", "target.spm", "MarianTokenizer needs vocab.json + source.spm + target.spm; missing: target.spm")]
    [InlineData("tiny-marian", "vocab.json", "missing: vocab.json")]
    [InlineData("tiny-m2m100", "sentencepiece.bpe.model", "M2M100Tokenizer needs vocab.json + sentencepiece.bpe.model; missing: sentencepiece.bpe.model")]
    [InlineData("tiny-t5", "spiece.model", "T5Tokenizer needs spiece.model, which is missing")]
    public void Missing_files_are_named(string model, string removed, string message)
    {
        using var dir = new TempDirectory().CopyFrom(FixturePaths.Models(model),
            name => name != removed && name != "model.safetensors");
        var e = Assert.Throws<MissingModelFileException>(() => TokenizerLoader.Load(dir.Path, ModelConfig.Load(dir.Path)));
        Assert.Equal(dir.Path, e.FilePath);
        Assert.Contains(message, e.Message);
    }

    private static TempDirectory WithTokenizerConfig(string model, Action<JsonObject> edit)
    {
        var dir = new TempDirectory().CopyFrom(FixturePaths.Models(model), name => name != "model.safetensors");
        string path = dir.File("tokenizer_config.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        edit(json);
        File.Delete(path);
        File.WriteAllText(path, json.ToJsonString());
        return dir;
    }

    [Fact]
    public void Unsupported_variants_are_refused_by_name()
    {
        using (var dir = WithTokenizerConfig("tiny-m2m100", j => j["tokenizer_class"] = "NllbTokenizer"))
            Assert.Contains("tokenizer_class 'NllbTokenizer' is not supported yet",
                Assert.Throws<UnsupportedModelException>(() => TokenizerLoader.Load(dir.Path)).Message);
        using (var dir = WithTokenizerConfig("tiny-t5", j => j["legacy"] = false))
            Assert.Contains("legacy=false",
                Assert.Throws<UnsupportedModelException>(() => TokenizerLoader.Load(dir.Path)).Message);
        using (var dir = WithTokenizerConfig("tiny-marian", j => j["separate_vocabs"] = true))
            Assert.Contains("separate_vocabs=true",
                Assert.Throws<UnsupportedModelException>(() => TokenizerLoader.Load(dir.Path)).Message);
        using (var dir = WithTokenizerConfig("tiny-m2m100", j => j["language_codes"] = "nllb"))
            Assert.Contains("language_codes 'nllb' is unknown",
                Assert.Throws<UnsupportedModelException>(() => TokenizerLoader.Load(dir.Path)).Message);
        using (var dir = WithTokenizerConfig("tiny-m2m100", j => j["tgt_lang"] = "xx"))
            Assert.Contains("tgt_lang 'xx' is not in the 'm2m100' language list",
                Assert.Throws<ModelLoadException>(() => TokenizerLoader.Load(dir.Path)).Message);
        var e = Assert.Throws<UnsupportedModelException>(() => TokenizerLoader.LoadSeq2Seq(FixturePaths.Models("tiny-gpt2-bpe")));
        Assert.Contains("not an encoder-decoder tokenizer", e.Message);
    }

    [Fact]
    public void Corrupt_sentencepiece_model_is_a_load_error()
    {
        using var dir = new TempDirectory().CopyFrom(FixturePaths.Models("tiny-t5"), name => name != "model.safetensors");
        File.Delete(dir.File("spiece.model"));
        File.WriteAllBytes(dir.File("spiece.model"), [0x0a, 0xff, 0xff, 0x01]);
        var e = Assert.Throws<ModelLoadException>(() => TokenizerLoader.Load(dir.Path));
        Assert.Contains(dir.File("spiece.model"), e.Message);
    }
}
