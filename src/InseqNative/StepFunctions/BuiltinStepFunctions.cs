namespace InseqNative.StepFunctions;

// Inseq's built-in step functions with analytic gradients with respect to the original logits row.
// Notation: p = softmax(row.Logits), q = softmax(row.ContrastLogits), y = Target, c = ContrastTarget.
// Where the contrast comes from another forward (ContrastSharesLogits = false) its terms are constants.

sealed class LogitFunction : StepFunction
{
    public override string Id => "logit";
    public override double Score(in StepRow row, StepFunctionArgs args) => row.Logits[row.Target];
    public override void Gradient(in StepRow row, StepFunctionArgs args, Span<float> d)
    {
        d.Clear();
        d[row.Target] = 1;
    }
}

sealed class ProbabilityFunction : StepFunction
{
    public override string Id => "probability";
    public override double Score(in StepRow row, StepFunctionArgs args) =>
        args.LogProb ? StepMath.LogProb(row.Logits, row.Target) : Math.Exp(StepMath.LogProb(row.Logits, row.Target));
    public override void Gradient(in StepRow row, StepFunctionArgs args, Span<float> d) =>
        Grad.Probability(row.Logits, row.Target, args.LogProb, 1, d, accumulate: false);
}

sealed class EntropyFunction : StepFunction
{
    public override string Id => "entropy";
    public override double Score(in StepRow row, StepFunctionArgs args)
    {
        var p = StepMath.Softmax(row.Logits);
        double h = 0;
        foreach (var x in p) if (x > 0) h -= x * Math.Log(x);
        return h;
    }
    public override void Gradient(in StepRow row, StepFunctionArgs args, Span<float> d)
    {
        // dH/dl_i = −p_i (ln p_i + H)
        var p = StepMath.Softmax(row.Logits);
        double h = 0;
        foreach (var x in p) if (x > 0) h -= x * Math.Log(x);
        for (var i = 0; i < p.Length; i++) d[i] = p[i] > 0 ? (float)(-p[i] * (Math.Log(p[i]) + h)) : 0f;
    }
}

/// <summary>−ln p(y), in nats (Inseq 0.6 used log2; ≥ 0.7 uses nats: we follow 0.7).</summary>
sealed class CrossEntropyFunction : StepFunction
{
    public override string Id => "crossentropy";
    public override double Score(in StepRow row, StepFunctionArgs args) => -StepMath.LogProb(row.Logits, row.Target);
    public override void Gradient(in StepRow row, StepFunctionArgs args, Span<float> d) =>
        Grad.Probability(row.Logits, row.Target, logProb: true, scale: -1, d, accumulate: false);
}

/// <summary>exp(crossentropy) = 1/p(y): a deliberate fix of Inseq's 2**crossentropy (mixing nats and bits).</summary>
sealed class PerplexityFunction : StepFunction
{
    public override string Id => "perplexity";
    public override double Score(in StepRow row, StepFunctionArgs args) => Math.Exp(-StepMath.LogProb(row.Logits, row.Target));
    public override void Gradient(in StepRow row, StepFunctionArgs args, Span<float> d)
    {
        var ppl = Score(row, args);
        Grad.Probability(row.Logits, row.Target, logProb: true, scale: -ppl, d, accumulate: false);
    }
}

sealed class ContrastLogitsFunction : StepFunction
{
    public override string Id => "contrast_logits";
    public override bool IsContrastive => true;
    public override double Score(in StepRow row, StepFunctionArgs args) => row.ContrastLogits[row.ContrastTarget];
    public override void Gradient(in StepRow row, StepFunctionArgs args, Span<float> d)
    {
        d.Clear();
        if (row.ContrastSharesLogits) d[row.ContrastTarget] = 1;
    }
}

sealed class ContrastProbFunction : StepFunction
{
    public override string Id => "contrast_prob";
    public override bool IsContrastive => true;
    public override double Score(in StepRow row, StepFunctionArgs args)
    {
        var lp = StepMath.LogProb(row.ContrastLogits, row.ContrastTarget);
        return args.LogProb ? lp : Math.Exp(lp);
    }
    public override void Gradient(in StepRow row, StepFunctionArgs args, Span<float> d)
    {
        d.Clear();
        if (row.ContrastSharesLogits) Grad.Probability(row.Logits, row.ContrastTarget, args.LogProb, 1, d, accumulate: true);
    }
}

sealed class ContrastLogitsDiffFunction : StepFunction
{
    public override string Id => "contrast_logits_diff";
    public override bool IsContrastive => true;
    public override double Score(in StepRow row, StepFunctionArgs args) =>
        row.Logits[row.Target] - (double)row.ContrastLogits[row.ContrastTarget];
    public override void Gradient(in StepRow row, StepFunctionArgs args, Span<float> d)
    {
        d.Clear();
        d[row.Target] += 1;
        if (row.ContrastSharesLogits) d[row.ContrastTarget] -= 1;
    }
}

sealed class ContrastProbDiffFunction : StepFunction
{
    public override string Id => "contrast_prob_diff";
    public override bool IsContrastive => true;
    public override double Score(in StepRow row, StepFunctionArgs args)
    {
        var a = StepMath.LogProb(row.Logits, row.Target);
        var b = StepMath.LogProb(row.ContrastLogits, row.ContrastTarget);
        return args.LogProb ? a - b : Math.Exp(a) - Math.Exp(b);
    }
    public override void Gradient(in StepRow row, StepFunctionArgs args, Span<float> d)
    {
        Grad.Probability(row.Logits, row.Target, args.LogProb, 1, d, accumulate: false);
        if (row.ContrastSharesLogits) Grad.Probability(row.Logits, row.ContrastTarget, args.LogProb, -1, d, accumulate: true);
    }
}

/// <summary>P-CXMI = −log2(p(y) / q(c)) (Yin et al. 2021), in bits as Inseq computes it.</summary>
sealed class PcxmiFunction : StepFunction
{
    public override string Id => "pcxmi";
    public override bool IsContrastive => true;
    public override double Score(in StepRow row, StepFunctionArgs args) =>
        (StepMath.LogProb(row.ContrastLogits, row.ContrastTarget) - StepMath.LogProb(row.Logits, row.Target)) / Math.Log(2);
    public override void Gradient(in StepRow row, StepFunctionArgs args, Span<float> d)
    {
        Grad.Probability(row.Logits, row.Target, logProb: true, scale: -1 / Math.Log(2), d, accumulate: false);
        if (row.ContrastSharesLogits)
            Grad.Probability(row.Logits, row.ContrastTarget, logProb: true, scale: 1 / Math.Log(2), d, accumulate: true);
    }
}

/// <summary>In-context PVI = −ln p(y) + ln q(c) (Lu et al. 2023), natural log as Inseq.</summary>
sealed class InContextPviFunction : StepFunction
{
    public override string Id => "in_context_pvi";
    public override bool IsContrastive => true;
    public override double Score(in StepRow row, StepFunctionArgs args) =>
        StepMath.LogProb(row.ContrastLogits, row.ContrastTarget) - StepMath.LogProb(row.Logits, row.Target);
    public override void Gradient(in StepRow row, StepFunctionArgs args, Span<float> d)
    {
        Grad.Probability(row.Logits, row.Target, logProb: true, scale: -1, d, accumulate: false);
        if (row.ContrastSharesLogits)
            Grad.Probability(row.Logits, row.ContrastTarget, logProb: true, scale: 1, d, accumulate: true);
    }
}

/// <summary>KL(P‖Q) between the original and the contrast next-token distributions, both renormalized over the
/// tokens the contrast distribution keeps after top-p then top-k filtering (Inseq's filter_logits).</summary>
sealed class KlDivergenceFunction : StepFunction
{
    public override string Id => "kl_divergence";
    public override bool IsContrastive => true;

    static (bool[] Keep, double[] LogP, double[] LogQ) Filtered(in StepRow row, StepFunctionArgs args)
    {
        var keep = StepMath.TopPKeep(StepMath.Softmax(row.ContrastLogits), args.TopP, args.MinTokensToKeep);
        StepMath.TopKKeep(row.ContrastLogits, args.TopK, keep);
        double Lse(ReadOnlySpan<float> l, bool[] k)
        {
            var max = double.NegativeInfinity;
            for (var i = 0; i < l.Length; i++) if (k[i] && l[i] > max) max = l[i];
            double s = 0;
            for (var i = 0; i < l.Length; i++) if (k[i]) s += Math.Exp(l[i] - max);
            return max + Math.Log(s);
        }
        var lp = Lse(row.Logits, keep);
        var lq = Lse(row.ContrastLogits, keep);
        var logP = new double[keep.Length];
        var logQ = new double[keep.Length];
        for (var i = 0; i < keep.Length; i++)
        {
            logP[i] = keep[i] ? row.Logits[i] - lp : double.NegativeInfinity;
            logQ[i] = keep[i] ? row.ContrastLogits[i] - lq : double.NegativeInfinity;
        }
        return (keep, logP, logQ);
    }

    public override double Score(in StepRow row, StepFunctionArgs args)
    {
        var (keep, logP, logQ) = Filtered(row, args);
        double kl = 0;
        for (var i = 0; i < keep.Length; i++) if (keep[i]) kl += Math.Exp(logP[i]) * (logP[i] - logQ[i]);
        return kl;
    }

    public override void Gradient(in StepRow row, StepFunctionArgs args, Span<float> d)
    {
        if (row.ContrastSharesLogits)
            throw new InvalidInputException(
                "kl_divergence as the attributed function compares two forwards: set ContrastForceInputs (contrast_force_inputs) " +
                "so the contrast distribution comes from the contrast inputs, as Inseq requires");
        var (keep, logP, logQ) = Filtered(row, args);
        double kl = 0;
        for (var i = 0; i < keep.Length; i++) if (keep[i]) kl += Math.Exp(logP[i]) * (logP[i] - logQ[i]);
        // d KL / d l_i = p_i (log p_i − log q_i − KL) on the kept set.
        for (var i = 0; i < keep.Length; i++)
            d[i] = keep[i] ? (float)(Math.Exp(logP[i]) * (logP[i] - logQ[i] - kl)) : 0f;
    }
}

/// <summary>Size of the top-p nucleus of the next-token distribution (a count: not differentiable).</summary>
sealed class TopPSizeFunction : StepFunction
{
    public override string Id => "top_p_size";
    public override bool IsDifferentiable => false;
    public override double Score(in StepRow row, StepFunctionArgs args) =>
        StepMath.TopPKeep(StepMath.Softmax(row.Logits), args.TopP, args.MinTokensToKeep).Count(k => k);
    public override void Gradient(in StepRow row, StepFunctionArgs args, Span<float> d) =>
        throw new InvalidInputException("top_p_size is a count and has no gradient: it can be a step score, not the attributed function");
}

static class Grad
{
    /// <summary>d = (accumulate ? d : 0) + scale · ∂[p(id) or ln p(id)]/∂logits.</summary>
    public static void Probability(ReadOnlySpan<float> logits, int id, bool logProb, double scale, Span<float> d, bool accumulate)
    {
        var p = StepMath.Softmax(logits);
        var factor = logProb ? scale : scale * p[id];
        for (var i = 0; i < p.Length; i++)
        {
            var g = factor * ((i == id ? 1 : 0) - p[i]);
            d[i] = accumulate ? d[i] + (float)g : (float)g;
        }
    }
}
