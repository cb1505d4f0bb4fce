using System.Text.Json;
using InseqNative.Tests.Fixtures;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Native;

/// <summary>TransformerModel.Load on every encoder-decoder fixture folder (Marian post-norm, M2M100 pre-norm with
/// offset sinusoids, T5 with RMS norms, relative position bias and gated-gelu): seq2seq logits against hf/*.json
/// within 1e-4 per row, greedy (KV-cached) generations identical; decoder-only entry points refuse them.</summary>
public class Seq2SeqTransformerModelTests
{
    public static TheoryData<string> Models => new() { "tiny-marian", "tiny-m2m100", "tiny-t5" };

    [Theory]
    [MemberData(nameof(Models))]
    public void Loaded_model_reproduces_transformers_logits(string name)
    {
        using var model = TransformerModel.Load(FixturePaths.Models(name), Device.Cpu);
        Assert.True(model.Config.IsEncoderDecoder);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(FixturePaths.Hf(name)));
        var n = 0;
        foreach (var it in doc.RootElement.GetProperty("items").EnumerateArray())
        {
            var src = HfReference.Ints(it.GetProperty("input_ids"));
            var tgt = HfReference.Ints(it.GetProperty("decoder_input_ids"));
            var expected = HfReference.DecodeTensor(it.GetProperty("logits"));
            var logits = model.Seq2SeqLogits(src, tgt);
            Assert.Equal(expected.Shape, logits.Shape);
            var v = expected.Dim(1);
            for (var i = 0; i < tgt.Length; i++)
            {
                double maxRef = 0, maxErr = 0;
                for (var j = 0; j < v; j++)
                {
                    maxRef = Math.Max(maxRef, Math.Abs(expected.Data[i * v + j]));
                    maxErr = Math.Max(maxErr, Math.Abs(expected.Data[i * v + j] - logits.Data[i * v + j]));
                }
                Assert.True(maxErr <= 1e-4 * maxRef, $"item {n} row {i}: {maxErr:E3} vs {maxRef:E3}");
            }
            n++;
        }
        Assert.Equal(3, n);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Greedy_generation_matches_transformers(string name)
    {
        using var model = TransformerModel.Load(FixturePaths.Models(name), Device.Cpu);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(FixturePaths.Hf(name)));
        int? forcedBos = doc.RootElement.GetProperty("generate_kwargs").TryGetProperty("forced_bos_token_id", out var fb)
            ? fb.GetInt32() : null;
        var n = 0;
        foreach (var it in doc.RootElement.GetProperty("items").EnumerateArray())
        {
            var src = HfReference.Ints(it.GetProperty("input_ids"));
            var expected = HfReference.Ints(it.GetProperty("greedy").GetProperty("sequence_ids"));
            Assert.Equal(expected, model.Seq2SeqGreedy(src, 10, forcedBos));
            n++;
        }
        Assert.Equal(3, n);
    }

    [Fact]
    public void Decoder_only_forward_is_refused_for_marian()
    {
        using var model = TransformerModel.Load(FixturePaths.Models("tiny-marian"), Device.Cpu);
        var e = Assert.ThrowsAny<InseqException>(() => model.Logits([[5, 6, 0]]));
        Assert.Contains("inq_seq2seq_forward", e.Message);
    }
}
