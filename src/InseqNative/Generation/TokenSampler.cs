namespace InseqNative.Generation;

/// <summary>
/// Picks the next token from one row of logits: argmax for greedy decoding (ties → lowest id, as torch.argmax),
/// or a seeded draw after temperature, top-k and top-p filtering. Works on [vocab] rows; per step this is O(V log V)
/// at worst, small next to the forward that produced the row.
/// </summary>
public sealed class TokenSampler
{
    readonly Random _random;
    readonly float _temperature;
    readonly int _topK;
    readonly float _topP;
    readonly bool _sample;

    public TokenSampler(bool sample, float temperature, int topK, float topP, int? seed)
    {
        if (sample && !(temperature > 0) ) throw new InvalidInputException($"temperature must be > 0 when sampling, got {temperature}");
        if (topK < 0) throw new InvalidInputException($"top_k must be >= 0, got {topK}");
        if (!(topP > 0 && topP <= 1)) throw new InvalidInputException($"top_p must be in (0, 1], got {topP}");
        _sample = sample; _temperature = temperature; _topK = topK; _topP = topP;
        _random = seed is { } s ? new Random(s) : new Random();
    }

    public int Next(ReadOnlySpan<float> logits, ReadOnlySpan<int> bannedIds = default)
    {
        if (!_sample) return ArgMax(logits, bannedIds);
        var v = logits.Length;
        var scaled = new double[v];
        var order = new int[v];
        for (var i = 0; i < v; i++) { scaled[i] = logits[i] / _temperature; order[i] = i; }
        foreach (var b in bannedIds) scaled[b] = double.NegativeInfinity;
        // Sort descending by score; ties by id keep the draw deterministic.
        Array.Sort(order, (a, b) => scaled[b].CompareTo(scaled[a]) is var c && c != 0 ? c : a.CompareTo(b));
        var keep = _topK > 0 ? Math.Min(_topK, v) : v;
        var max = scaled[order[0]];
        var probs = new double[keep];
        double sum = 0;
        for (var i = 0; i < keep; i++) { probs[i] = Math.Exp(scaled[order[i]] - max); sum += probs[i]; }
        if (_topP < 1)
        {
            double cum = 0;
            var cut = keep;
            for (var i = 0; i < keep; i++)
            {
                cum += probs[i] / sum;
                // Hugging Face keeps the tokens whose cumulative mass before them is below top_p (at least one).
                if (cum >= _topP) { cut = i + 1; break; }
            }
            keep = cut;
            sum = 0;
            for (var i = 0; i < keep; i++) sum += probs[i];
        }
        var u = _random.NextDouble() * sum;
        double acc = 0;
        for (var i = 0; i < keep; i++)
        {
            acc += probs[i];
            if (u < acc) return order[i];
        }
        return order[keep - 1];
    }

    public static int ArgMax(ReadOnlySpan<float> logits, ReadOnlySpan<int> bannedIds = default)
    {
        var best = -1;
        var bestValue = float.NegativeInfinity;
        for (var i = 0; i < logits.Length; i++)
        {
            if (bannedIds.Contains(i)) continue;
            if (best < 0 || logits[i] > bestValue) { best = i; bestValue = logits[i]; }
        }
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
