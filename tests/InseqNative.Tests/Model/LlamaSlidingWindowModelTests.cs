using System.Text.Json.Nodes;
using InseqNative.Generation;
using InseqNative.Loading;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Model;

/// <summary>Mistral's sliding window through the whole Llama graph, on the tiny-llama fixture's weights saved as a
/// Mistral checkpoint (same tensors: no biases): a window covering the sequence changes nothing, a short one changes
/// exactly the positions that reach past it, and KV-cached decoding keeps the window (cached logits and greedy
/// tokens equal the full windowed forward's).</summary>
public sealed class LlamaSlidingWindowModelTests : IDisposable
{
    readonly List<string> _folders = [];

    /// <summary>A copy of tiny-llama whose config says model_type "mistral" with this sliding_window.</summary>
    string MistralCopy(int window)
    {
        var dir = Directory.CreateTempSubdirectory("inq-mistral-").FullName;
        _folders.Add(dir);
        foreach (var f in Directory.GetFiles(FixturePaths.Models("tiny-llama")))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        config["model_type"] = "mistral";
        config["architectures"] = new JsonArray("MistralForCausalLM");
        config["sliding_window"] = window;
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        return dir;
    }

    public void Dispose()
    {
        foreach (var d in _folders) Directory.Delete(d, recursive: true);
    }

    static int[] Ids(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(3, 640)).ToArray();
    }

    [Fact]
    public void A_window_covering_the_sequence_gives_the_llama_logits_bit_for_bit()
    {
        using var llama = TransformerModel.Load(FixturePaths.Models("tiny-llama"));
        using var mistral = TransformerModel.Load(MistralCopy(16));
        Assert.Equal(16, Assert.IsType<LlamaConfig>(mistral.Config).SlidingWindow);
        int[][] batch = [Ids(16, 1), Ids(9, 2)];
        Assert.Equal(llama.Logits(batch).Data, mistral.Logits(batch).Data);
    }

    [Fact]
    public void A_short_window_changes_exactly_the_positions_that_reach_past_it()
    {
        const int window = 4, t = 14;
        using var llama = TransformerModel.Load(FixturePaths.Models("tiny-llama"));
        using var mistral = TransformerModel.Load(MistralCopy(window));
        Assert.Equal(128, mistral.MaxPositions); // the window no longer limits the length
        var ids = Ids(t, 3);
        var plain = llama.Logits([ids]);
        var windowed = mistral.Logits([ids]);
        var v = llama.Config.VocabSize;
        for (var p = 0; p < t; p++)
        {
            var a = plain.Data.AsSpan(p * v, v);
            var b = windowed.Data.AsSpan(p * v, v);
            if (p < window)
                Assert.True(a.SequenceEqual(b), $"position {p} sees every key either way");
            else
                Assert.False(a.SequenceEqual(b), $"position {p} reaches past the window");
        }
        // Left padding shifts indices, not distances: the padded row equals the row alone.
        var shorter = Ids(9, 4);
        var padded = mistral.Logits([ids, shorter]);
        var alone = mistral.Logits([shorter]);
        for (var p = 0; p < 9; p++)
            for (var i = 0; i < v; i++)
                Assert.Equal(alone[0, p, i], padded[1, p + t - 9, i], 5);
    }

    [Fact]
    public void Cached_decoding_keeps_the_window()
    {
        const int window = 3, t = 13;
        using var mistral = TransformerModel.Load(MistralCopy(window));
        var v = mistral.Config.VocabSize;
        var ids = Ids(t, 5);
        var full = mistral.Logits([ids]);
        using (var ctx = mistral.CreateContext(1, t))
        {
            var prefill = ctx.CachePrefill(TokenBatch.Single(ids[..5])); // longer than the window
            for (var i = 0; i < v; i++) Assert.Equal(full[0, 4, i], prefill[0, i]);
            for (var p = 5; p < t; p++)
            {
                var step = ctx.CacheStep([ids[p]]);
                for (var i = 0; i < v; i++) Assert.Equal(full[0, p, i], step[0, i]); // same attend_row: bitwise
            }
        }

        // Greedy generation (KV-cached) equals the argmax of full windowed forwards, token by token.
        var prompt = Ids(4, 6);
        var generated = mistral.Generate([prompt],
            new GenerationOptions { MaxNewTokens = 10, DoSample = false, StopAtEos = false })[0];
        Assert.Equal(10, generated.GeneratedIds.Length);
        var seq = prompt.ToList();
        for (var k = 0; k < 10; k++)
        {
            var logits = mistral.Logits([seq.ToArray()]);
            var last = logits.Data.AsSpan((seq.Count - 1) * v, v);
            var best = 0;
            for (var i = 1; i < v; i++)
                if (last[i] > last[best]) best = i;
            Assert.Equal(best, generated.GeneratedIds[k]);
            seq.Add(best);
        }
    }
}
