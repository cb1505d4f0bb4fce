using System.Text.Json.Nodes;
using InseqNative.Loading;
using InseqNative.Tests.Loading;
using InseqNative.Tests.Native;

namespace InseqNative.Tests.Model;

/// <summary>rope_scaling through the whole Llama graph, on copies of the tiny-llama fixture (head dim 16, theta
/// 10000: wavelengths 2π·10000^(i/8) from 6.28 to 19869) whose config gains a rope_scaling, by invariants that hold
/// bit for bit: a linear factor of 1 and a llama3 whose every wavelength is below high_freq_wavelen change nothing;
/// a llama3 whose every wavelength is above low_freq_wavelen is linear scaling by its factor. A real scaling changes
/// the logits, KV-cached decoding keeps it, and the backward rotates by the same table (finite differences).</summary>
public sealed class LlamaRopeScalingModelTests : IDisposable
{
    readonly List<string> _folders = [];

    string ScaledCopy(string scaling)
    {
        var dir = Directory.CreateTempSubdirectory("inq-rope-").FullName;
        _folders.Add(dir);
        foreach (var f in Directory.GetFiles(FixturePaths.Models("tiny-llama")))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        config["rope_scaling"] = JsonNode.Parse(scaling);
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

    static readonly int[][] Batch = [Ids(40, 1), Ids(23, 2)];

    static float[] Logits(string folder)
    {
        using var model = TransformerModel.Load(folder);
        return model.Logits(Batch).Data;
    }

    [Fact]
    public void Linear_factor_one_gives_the_plain_logits_bit_for_bit()
    {
        var plain = Logits(FixturePaths.Models("tiny-llama"));
        Assert.Equal(plain, Logits(ScaledCopy("""{"type": "linear", "factor": 1.0}""")));
    }

    [Fact]
    public void Llama3_keeping_every_frequency_gives_the_plain_logits_bit_for_bit()
    {
        // high_freq_wavelen = 1e9 / 4 exceeds every wavelength: all frequencies are kept, whatever the factor.
        var plain = Logits(FixturePaths.Models("tiny-llama"));
        Assert.Equal(plain, Logits(ScaledCopy("""
            {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
             "original_max_position_embeddings": 1000000000}
            """)));
    }

    [Fact]
    public void Llama3_scaling_every_frequency_is_linear_scaling_bit_for_bit()
    {
        // low_freq_wavelen = 4 / 1 is below every wavelength: every frequency is divided by the factor.
        var linear = Logits(ScaledCopy("""{"rope_type": "linear", "factor": 8.0}"""));
        Assert.Equal(linear, Logits(ScaledCopy("""
            {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 2.0,
             "original_max_position_embeddings": 4}
            """)));
        Assert.NotEqual(Logits(FixturePaths.Models("tiny-llama")), linear);
    }

    [Fact]
    public void A_scaled_model_decodes_from_its_cache_as_its_full_forward()
    {
        using var model = TransformerModel.Load(ScaledCopy("""
            {"rope_type": "llama3", "factor": 4.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
             "original_max_position_embeddings": 256}
            """));
        var ids = Ids(20, 3);
        var v = model.Config.VocabSize;
        var full = model.Logits([ids]);
        using var ctx = model.CreateContext(1, 20);
        var prefill = ctx.CachePrefill(TokenBatch.Single(ids[..8]));
        for (var i = 0; i < v; i++) Assert.Equal(full[0, 7, i], prefill[0, i]);
        for (var t = 8; t < 20; t++)
        {
            var step = ctx.CacheStep([ids[t]]);
            for (var i = 0; i < v; i++) Assert.Equal(full[0, t, i], step[0, i]);
        }
    }

    [Fact]
    public void The_embedding_gradient_of_a_scaled_model_matches_finite_differences()
    {
        // A small random Llama (head dim 16, theta 2: wavelengths 6.3..11.4) with linear factor 3: the table
        // turns the rotation well away from the theta-based one, so a backward without it would fail the check.
        var config = (LlamaConfig)ModelConfig.Parse("""
            {"model_type": "llama", "hidden_size": 32, "num_attention_heads": 2, "num_key_value_heads": 1,
             "num_hidden_layers": 1, "intermediate_size": 24, "vocab_size": 19, "max_position_embeddings": 16,
             "rope_theta": 2.0, "rope_scaling": {"type": "linear", "factor": 3.0}}
            """);
        using var model = TransformerModel.CreateRandom(config, seed: 11, Device.Cpu, std: 0.3f);
        const int t = 7, c = 32, v = 19;
        using var ctx = model.CreateContext(1, t, maxCotangents: 1);
        var emb = NativeOps.Random(t * c, 50);
        var dl = NativeOps.Random(v, 51);
        float[] Last(float[] e)
        {
            var logits = ctx.ForwardEmbeddings(new Tensor(e, 1, t, c))!;
            return logits.Data.AsSpan((t - 1) * v, v).ToArray();
        }
        ctx.ForwardEmbeddings(new Tensor((float[])emb.Clone(), 1, t, c), keepForBackward: true);
        var grad = ctx.BackwardEmbeddings([t - 1], new Tensor((float[])dl.Clone(), 1, 1, v));
        FiniteDifferences.Check(Last, emb, dl, grad.Data, "scaled llama embeddings", eps: 1e-2f, tolerance: 5e-3);
    }
}
