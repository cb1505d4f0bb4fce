using System.Text.Json.Nodes;
using InseqNative.Loading;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Native;

/// <summary>
/// T5 layouts the tiny-t5 fixture (untied, gated-gelu) does not cover, built from its weights: a tied LM head (the
/// decoder output scaled by d_model^-0.5 before the shared embedding) must equal an untied head holding
/// shared × d_model^-0.5; the plain ReLU feed-forward (feed_forward_proj "relu": wo(relu(wi x))) differentiates
/// correctly and decodes with the cache exactly as full forwards.
/// </summary>
public class T5VariantTests
{
    static string Fixture => FixturePaths.Models("tiny-t5");

    /// <summary>A copy of tiny-t5 with config.json edited and the tensors rewritten by <paramref name="tensors"/>.</summary>
    static TempDirectory Variant(Action<JsonObject> config, Func<string, float[], IEnumerable<(string, long[], float[])>> tensors)
    {
        var dir = new TempDirectory().CopyFrom(Fixture, n => n != "model.safetensors" && n != "config.json");
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(Fixture, "config.json")))!.AsObject();
        config(json);
        dir.Write("config.json", json.ToJsonString());
        var writer = new SafetensorsTestWriter();
        using (var f = SafetensorsFile.Open(Path.Combine(Fixture, "model.safetensors")))
            foreach (var name in f.TensorNames)
                foreach (var (n, shape, data) in tensors(name, f.ReadAsFloat32(name)))
                    writer.AddF32(n, shape, data);
        File.WriteAllBytes(dir.File("model.safetensors"), writer.ToBytes());
        return dir;
    }

    static long[] ShapeOf(string name)
    {
        using var f = SafetensorsFile.Open(Path.Combine(Fixture, "model.safetensors"));
        return f.GetInfo(name).Shape.Select(d => (long)d).ToArray();
    }

    [Fact]
    public void Tied_lm_head_scales_the_decoder_output_by_inverse_sqrt_d_model()
    {
        float[] shared;
        using (var f = SafetensorsFile.Open(Path.Combine(Fixture, "model.safetensors"))) shared = f.ReadAsFloat32("shared.weight");
        var scale = 1f / MathF.Sqrt(64);
        using var tied = Variant(c => c["tie_word_embeddings"] = true,
            (n, d) => n == "lm_head.weight" ? [] : [(n, ShapeOf(n), d)]);
        using var scaled = Variant(_ => { },
            (n, d) => [(n, ShapeOf(n), n == "lm_head.weight" ? shared.Select(x => x * scale).ToArray() : d)]);
        using var a = TransformerModel.Load(tied.Path, Device.Cpu);
        using var b = TransformerModel.Load(scaled.Path, Device.Cpu);
        int[] src = [37, 12, 90, 5, 1], tgt = [0, 44, 7, 120];
        var la = a.Seq2SeqLogits(src, tgt);
        var lb = b.Seq2SeqLogits(src, tgt);
        var v = la.Dim(1);
        for (var r = 0; r < tgt.Length; r++)
        {
            var ra = la.Data.AsSpan(r * v, v).ToArray();
            var rb = lb.Data.AsSpan(r * v, v).ToArray();
            var max = rb.Max(Math.Abs);
            Assert.True(ra.Zip(rb).Max(p => Math.Abs(p.First - p.Second)) <= 1e-5 * max, $"row {r}");
        }
        // And the backward through the scaled head agrees too.
        using var ca = a.CreateContext(1, 5, 1);
        using var cb = b.CreateContext(1, 5, 1);
        var dl = new Tensor(Enumerable.Range(0, v).Select(i => (float)Math.Sin(i)).ToArray(), 1, 1, v);
        ca.Seq2SeqForward(1, src, null, tgt, null, LogitsMode.None, keepForBackward: true);
        cb.Seq2SeqForward(1, src, null, tgt, null, LogitsMode.None, keepForBackward: true);
        var (ga, _) = ca.Seq2SeqBackward([3], dl);
        var (gb, _) = cb.Seq2SeqBackward([3], dl);
        var gmax = gb.Data.Max(Math.Abs);
        Assert.True(ga.Data.Zip(gb.Data).Max(p => Math.Abs(p.First - p.Second)) <= 1e-5 * gmax);
    }

    [Fact]
    public void Relu_feed_forward_differentiates_and_decodes_consistently()
    {
        using var dir = Variant(c =>
            {
                c["feed_forward_proj"] = "relu";
                c.Remove("dense_act_fn");
                c.Remove("is_gated_act");
            },
            (n, d) => n.EndsWith("wi_1.weight") ? []
                : n.EndsWith("wi_0.weight") ? [(n.Replace("wi_0", "wi"), ShapeOf(n), d)]
                : [(n, ShapeOf(n), d)]);
        using var model = TransformerModel.Load(dir.Path, Device.Cpu);
        var cfg = Assert.IsType<T5Config>(model.Config);
        Assert.False(cfg.GatedFeedForward);

        int[] src = [37, 12, 90, 5, 1], tgt = [0, 44, 7, 120];
        int s = src.Length, t = tgt.Length, c = model.Config.HiddenSize, v = model.Config.VocabSize;
        var xs = model.Embed(src).Data;
        var xt = model.Embed(tgt).Data;
        using var ctx = model.CreateContext(1, 5, 1);
        var dl = Enumerable.Range(0, v).Select(i => (float)Math.Cos(0.3 * i)).ToArray();
        ctx.Seq2SeqForwardEmbeddings(new Tensor(xs, 1, s, c), null, new Tensor(xt, 1, t, c), null, LogitsMode.None, true);
        var (gs, gt) = ctx.Seq2SeqBackward([t - 1], new Tensor(dl, 1, 1, v));
        var cot = new float[t * v];
        dl.CopyTo(cot, (t - 1) * v);
        float[] Forward(float[] x) => ctx.Seq2SeqForwardEmbeddings(new Tensor(x[..(s * c)], 1, s, c), null,
            new Tensor(x[(s * c)..], 1, t, c), null)!.Data;
        // ReLU kinks: a small step, as for M2M100.
        FiniteDifferences.Check(Forward, [.. xs, .. xt], cot, [.. gs.Data, .. gt.Data], "t5 relu backward", 1e-3f, 5e-3);

        var full = model.Seq2SeqLogits(src, tgt);
        using var cache = model.CreateContext(1, 5);
        var row = cache.Seq2SeqForward(1, src, null, [tgt[0]], null, fillCache: true)!.Data;
        for (var p = 0; p < t; p++)
        {
            if (p > 0) row = cache.Seq2SeqCacheStep([tgt[p]]).Data;
            var expected = full.Data.AsSpan(p * v, v).ToArray();
            Assert.True(row.Zip(expected).Max(q => Math.Abs(q.First - q.Second)) <= 1e-5 * expected.Max(Math.Abs), $"step {p}");
        }
    }
}
