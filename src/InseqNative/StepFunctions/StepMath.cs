namespace InseqNative.StepFunctions;

/// <summary>Numerically stable softmax pieces over one vocabulary row, in double precision.</summary>
static class StepMath
{
    /// <summary>Probabilities of a logits row.</summary>
    public static double[] Softmax(ReadOnlySpan<float> logits)
    {
        var max = double.NegativeInfinity;
        foreach (var x in logits) if (x > max) max = x;
        var p = new double[logits.Length];
        double sum = 0;
        for (var i = 0; i < p.Length; i++) { p[i] = Math.Exp(logits[i] - max); sum += p[i]; }
        for (var i = 0; i < p.Length; i++) p[i] /= sum;
        return p;
    }

    public static double LogSumExp(ReadOnlySpan<float> logits)
    {
        var max = double.NegativeInfinity;
        foreach (var x in logits) if (x > max) max = x;
        double sum = 0;
        foreach (var x in logits) sum += Math.Exp(x - max);
        return max + Math.Log(sum);
    }

    public static double LogProb(ReadOnlySpan<float> logits, int id) => logits[id] - LogSumExp(logits);

    /// <summary>Hugging Face's top-p mask: ascending sort, drop tokens whose cumulative mass is ≤ 1 − top_p,
    /// always keep the <paramref name="minTokensToKeep"/> most likely. Returns the kept ids.</summary>
    public static bool[] TopPKeep(double[] probs, float topP, int minTokensToKeep)
    {
        var keep = new bool[probs.Length];
        if (topP >= 1f) { Array.Fill(keep, true); return keep; }
        var order = Enumerable.Range(0, probs.Length).ToArray();
        Array.Sort(order, (a, b) => probs[a].CompareTo(probs[b]) is var c && c != 0 ? c : a.CompareTo(b));
        double cum = 0;
        for (var i = 0; i < order.Length; i++)
        {
            cum += probs[order[i]];
            var inTail = i >= order.Length - Math.Max(1, minTokensToKeep);
            keep[order[i]] = cum > 1 - topP || inTail;
        }
        return keep;
    }

    /// <summary>Keeps the k largest (ties: all equal to the k-th value, as torch's "logits &lt; kth value" rule).</summary>
    public static void TopKKeep(ReadOnlySpan<float> logits, int k, bool[] keep)
    {
        if (k <= 0 || k >= logits.Length) return;
        var values = new List<float>();
        for (var i = 0; i < logits.Length; i++) if (keep[i]) values.Add(logits[i]);
        if (k >= values.Count) return;
        values.Sort((a, b) => b.CompareTo(a));
        var kth = values[k - 1];
        for (var i = 0; i < logits.Length; i++) if (logits[i] < kth) keep[i] = false;
    }
}
