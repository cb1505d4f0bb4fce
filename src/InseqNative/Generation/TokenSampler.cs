namespace InseqNative.Generation;

/// <summary>
/// Decoding parameters as <see cref="TokenSampler"/> and the native <c>inq_sample_next</c> take them: greedy
/// (argmax) or a draw after temperature, then top-k (0: off), then top-p (1: off).
/// </summary>
public sealed record SamplingSettings
{
    public bool DoSample { get; }
    public float Temperature { get; }
    public int TopK { get; }
    public float TopP { get; }

    public SamplingSettings(bool doSample, float temperature, int topK, float topP)
    {
        if (doSample && !(temperature > 0 && float.IsFinite(temperature)))
            throw new InvalidInputException($"temperature must be > 0 when sampling, got {temperature}");
        if (topK < 0) throw new InvalidInputException($"top_k must be >= 0, got {topK}");
        if (!(topP > 0 && topP <= 1)) throw new InvalidInputException($"top_p must be in (0, 1], got {topP}");
        DoSample = doSample; Temperature = temperature; TopK = topK; TopP = topP;
    }

    public static SamplingSettings Greedy { get; } = new(false, 1f, 0, 1f);
}

/// <summary>
/// The managed reference of next-token choice on one row of logits (the native <c>inq_sample_next</c> equals it bit
/// for bit on the CPU): argmax for greedy decoding (ties → lowest id, as torch.argmax), or a draw with a uniform u
/// after temperature, top-k and top-p filtering. Also owns the seeded generator the uniforms come from: one
/// <see cref="Random.NextDouble"/> per sampled row, in row order, so a seed gives the same tokens on every backend.
/// Works on [vocab] rows (banned ids already set to -inf); O(V log V) per sampled row.
/// </summary>
public sealed class TokenSampler
{
    readonly Random _random;

    public SamplingSettings Settings { get; }

    public TokenSampler(bool sample, float temperature, int topK, float topP, int? seed)
        : this(new SamplingSettings(sample, temperature, topK, topP), seed) { }

    public TokenSampler(SamplingSettings settings, int? seed)
    {
        Settings = settings;
        _random = seed is { } s ? new Random(s) : new Random();
    }

    /// <summary>The uniform in [0, 1) the next sampled row consumes.</summary>
    public double NextUniform() => _random.NextDouble();

    /// <summary>The next token of one row: <see cref="ArgMax"/>, or <see cref="Pick"/> with the next uniform.</summary>
    public int Next(ReadOnlySpan<float> logits) =>
        Settings.DoSample ? Pick(logits, Settings, NextUniform()) : ArgMax(logits);

    /// <summary>The sampled choice with uniform <paramref name="u"/> in [0, 1): scaled = logit / temperature (float
    /// division), order by scaled desc then id asc, keep the first top_k, probabilities exp(scaled - max) in double,
    /// Hugging Face's top-p cut, then the first id whose running sum exceeds u × (kept sum).</summary>
    public static int Pick(ReadOnlySpan<float> logits, SamplingSettings settings, double u)
    {
        var v = logits.Length;
        var scaled = new double[v];
        var order = new int[v];
        for (var i = 0; i < v; i++) { scaled[i] = logits[i] / settings.Temperature; order[i] = i; }
        // Sort descending by score; ties by id keep the draw deterministic.
        Array.Sort(order, (a, b) => scaled[b].CompareTo(scaled[a]) is var c && c != 0 ? c : a.CompareTo(b));
        var keep = settings.TopK > 0 ? Math.Min(settings.TopK, v) : v;
        var max = scaled[order[0]];
        var probs = new double[keep];
        double sum = 0;
        for (var i = 0; i < keep; i++) { probs[i] = Math.Exp(scaled[order[i]] - max); sum += probs[i]; }
        if (settings.TopP < 1)
        {
            double cum = 0;
            var cut = keep;
            for (var i = 0; i < keep; i++)
            {
                cum += probs[i] / sum;
                // Hugging Face keeps the tokens whose cumulative mass before them is below top_p (at least one).
                if (cum >= settings.TopP) { cut = i + 1; break; }
            }
            keep = cut;
            sum = 0;
            for (var i = 0; i < keep; i++) sum += probs[i];
        }
        var target = u * sum;
        double acc = 0;
        for (var i = 0; i < keep; i++)
        {
            acc += probs[i];
            if (target < acc) return order[i];
        }
        return order[keep - 1];
    }

    /// <summary>The first id, then any strictly larger logit (ties → lowest id; a NaN never wins unless at id 0).</summary>
    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = -1;
        var bestValue = float.NegativeInfinity;
        for (var i = 0; i < logits.Length; i++)
            if (best < 0 || logits[i] > bestValue) { best = i; bestValue = logits[i]; }
        return best;
    }

    /// <summary>log softmax(logits)[id] in double precision.</summary>
    public static float LogProbability(ReadOnlySpan<float> logits, int id)
    {
        var max = float.NegativeInfinity;
        foreach (var x in logits) if (x > max) max = x;
        double sum = 0;
        foreach (var x in logits) sum += Math.Exp(x - max);
        return (float)(logits[id] - max - Math.Log(sum));
    }
}
