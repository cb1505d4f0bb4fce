using System.Text.Json;
using InseqNative.Tests.Fixtures;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Native;

/// <summary>TransformerModel.Load on a Marian folder (MarianConfig → INQ_ARCH_MARIAN, weights by canonical name) and
/// its seq2seq logits against hf/tiny-marian.json; decoder-only entry points refuse it with a clear message.</summary>
public class MarianTransformerModelTests
{
    [Fact]
    public void Loaded_marian_reproduces_transformers_logits()
    {
        using var model = TransformerModel.Load(FixturePaths.Models("tiny-marian"), Device.Cpu);
        Assert.True(model.Config.IsEncoderDecoder);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(FixturePaths.Hf("tiny-marian")));
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

    [Fact]
    public void Greedy_generation_matches_transformers()
    {
        using var model = TransformerModel.Load(FixturePaths.Models("tiny-marian"), Device.Cpu);
        using var doc = JsonDocument.Parse(File.ReadAllBytes(FixturePaths.Hf("tiny-marian")));
        var n = 0;
        foreach (var it in doc.RootElement.GetProperty("items").EnumerateArray())
        {
            var src = HfReference.Ints(it.GetProperty("input_ids"));
            var expected = HfReference.Ints(it.GetProperty("greedy").GetProperty("sequence_ids"));
            Assert.Equal(expected, model.Seq2SeqGreedy(src, 10));
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
