using InseqNative.Interop;
using InseqNative.Loading;

namespace InseqNative.Tests.Loading;

/// <summary>rope_scaling linear and llama3: parsing (rope_type or the older type key) and the frequency tables
/// against a float64 port of transformers' _compute_linear_scaling_rope_parameters / _compute_llama3_parameters and
/// hand-computed values for Llama 3.2's parameters.</summary>
public class RopeScalingTests
{
    static string Json(string scaling, int hidden = 64, int heads = 4) => $$"""
        {"model_type": "llama", "hidden_size": {{hidden}}, "num_attention_heads": {{heads}}, "num_hidden_layers": 2,
         "intermediate_size": 128, "vocab_size": 100, "max_position_embeddings": 131072, "rope_theta": 500000.0,
         "rope_scaling": {{scaling}}}
        """;

    const string Llama32 = """
        {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
         "original_max_position_embeddings": 8192}
        """;

    /// <summary>transformers' formulas in float64.</summary>
    static double[] Reference(string type, double theta, int hd, double factor, double low = 0, double high = 0,
        double old = 0)
    {
        var r = new double[hd / 2];
        for (var i = 0; i < r.Length; i++)
        {
            var inv = 1 / Math.Pow(theta, 2.0 * i / hd);
            if (type == "linear") { r[i] = inv / factor; continue; }
            var wavelen = 2 * Math.PI / inv;
            if (wavelen < old / high) r[i] = inv;
            else if (wavelen > old / low) r[i] = inv / factor;
            else
            {
                var smooth = (old / wavelen - low) / (high - low);
                r[i] = (1 - smooth) * inv / factor + smooth * inv;
            }
        }
        return r;
    }

    [Fact]
    public void Llama3_is_read_with_its_parameters_and_sets_the_native_table_flag()
    {
        var c = Assert.IsType<LlamaConfig>(ModelConfig.Parse(Json(Llama32)));
        var s = Assert.IsType<RopeScaling>(c.RopeScaling);
        Assert.Equal(("llama3", 32.0, 1.0, 4.0, 8192), (s.Type, s.Factor, s.LowFreqFactor, s.HighFreqFactor,
            s.OriginalMaxPositionEmbeddings));
        Assert.Equal(131072, c.MaxPositions); // max_position_embeddings still bounds the sequences
        Assert.Equal(1, NativeConfigMapper.ToNative(c).RopeInvFreqTable);
        Assert.Equal(0, NativeConfigMapper.ToNative(ModelConfig.Parse(Json("null"))).RopeInvFreqTable);
    }

    [Theory]
    [InlineData("{\"type\": \"linear\", \"factor\": 2.0}")]
    [InlineData("{\"rope_type\": \"linear\", \"factor\": 2}")]
    public void Linear_is_read_under_either_key(string scaling)
    {
        var c = Assert.IsType<LlamaConfig>(ModelConfig.Parse(Json(scaling)));
        Assert.Equal(("linear", 2.0), (c.RopeScaling!.Type, c.RopeScaling.Factor));
    }

    [Theory]
    [InlineData("{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0}", "original_max_position_embeddings")]
    [InlineData("{\"rope_type\": \"llama3\", \"factor\": 8.0, \"low_freq_factor\": 4.0, \"high_freq_factor\": 1.0, \"original_max_position_embeddings\": 8192}", "low_freq_factor < high_freq_factor")]
    [InlineData("{\"type\": \"linear\"}", "'factor'")]
    [InlineData("{\"type\": \"linear\", \"factor\": 0}", "'factor' must be positive")]
    public void Incomplete_parameters_are_refused(string scaling, string message)
    {
        var e = Assert.ThrowsAny<ModelLoadException>(() => ModelConfig.Parse(Json(scaling)));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Llama3_table_matches_the_formula_and_hand_computed_values()
    {
        const int hd = 64;
        var s = ((LlamaConfig)ModelConfig.Parse(Json(Llama32, hidden: 2048, heads: 32))).RopeScaling!;
        var table = s.InverseFrequencies(500000f, hd);
        var reference = Reference("llama3", 500000, hd, 32, 1, 4, 8192);
        Assert.Equal(hd / 2, table.Length);
        for (var i = 0; i < table.Length; i++)
            Assert.True(Math.Abs(table[i] - reference[i]) <= 1e-6 * reference[i], $"inv_freq[{i}] {table[i]} vs {reference[i]}");
        // wavelen = 2π·500000^(i/32): below 8192/4 = 2048 for i <= 14 (kept), above 8192/1 for i >= 18 (/ 32),
        // blended for 15..17. i = 16: inv = 1/√500000 = 1.41421e-3, wavelen = 4442.88, smooth = (8192/4442.88 − 1)/3
        // = 0.281285, inv' = inv·(0.718715/32 + 0.281285) = 4.29557e-4.
        Assert.Equal(1f, table[0]);
        Assert.Equal(3.2114460e-3, table[14], 1e-9);
        Assert.Equal(1.2905479e-3, table[15], 1e-9);
        Assert.Equal(4.2955680e-4, table[16], 1e-10);
        Assert.Equal(9.7082878e-5, table[17], 1e-10);
        Assert.Equal(6.2277242e-4 / 32, table[18], 2e-11);
        Assert.Equal(3.0138582e-6 / 32, table[31], 1e-13);
        // Kept frequencies are the default table's, bit for bit.
        var plain = RopeScaling.DefaultInverseFrequencies(500000f, hd);
        for (var i = 0; i <= 14; i++) Assert.Equal(plain[i], table[i]);
    }

    [Fact]
    public void Linear_table_is_the_default_table_over_the_factor()
    {
        var s = new RopeScaling { Type = "linear", Factor = 4 };
        var table = s.InverseFrequencies(10000f, 16);
        var plain = RopeScaling.DefaultInverseFrequencies(10000f, 16);
        var reference = Reference("linear", 10000, 16, 4);
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(plain[i] / 4f, table[i]);
            Assert.True(Math.Abs(table[i] - reference[i]) <= 1e-6 * reference[i], $"inv_freq[{i}]");
        }
        Assert.Equal(plain, new RopeScaling { Type = "linear", Factor = 1 }.InverseFrequencies(10000f, 16));
    }

    [Fact]
    public void The_default_table_is_theta_to_the_minus_two_i_over_hd()
    {
        var plain = RopeScaling.DefaultInverseFrequencies(10000f, 8);
        Assert.Equal(new[] { 1f, 0.1f, 0.01f, 0.001f }, plain.Select(v => (float)Math.Round(v, 7)).ToArray());
    }
}
