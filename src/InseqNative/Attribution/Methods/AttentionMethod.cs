namespace InseqNative.Attribution.Methods;

/// <summary>
/// attention: the attention weights of the query that predicts each step, over every key, for every layer and
/// head — [T, steps, layers, heads]. A final-step method: one forward over the full forced sequence gives every
/// step (exactly what Inseq reads). Weights that are exactly 0 become NaN, as in Inseq's output.
/// </summary>
public sealed class AttentionMethod : AttributionMethod
{
    public override string Id => "attention";
    public override AttributionGranularity Granularity => AttributionGranularity.MultiDimensional;
    public override bool IsFinalStep => true;
    public override bool UsesAttributedFunction => false;

    public override MethodResult Attribute(MethodInput input)
    {
        if (input.Plan.IsEncoderDecoder) return EncoderDecoder(input);
        var plan = input.Plan;
        int layers = input.Model.Config.NumLayers, heads = input.Model.Config.NumHeads, t = plan.Length, k = plan.Steps;
        var rows = input.Runner.StepAttention(input.InputEmbeddings, plan.StepPositions()); // [k][L*H*T]
        var output = Tensor.Zeros(t, k, layers, heads);
        for (var s = 0; s < k; s++)
            for (var l = 0; l < layers; l++)
                for (var h = 0; h < heads; h++)
                    for (var j = 0; j < t; j++)
                    {
                        var w = rows[s][(l * heads + h) * t + j];
                        output[j, s, l, h] = w == 0f ? float.NaN : w;
                    }
        return MethodResult.Of(output);
    }

    /// <summary>
    /// Encoder-decoders (Inseq's layout): source rows hold the cross-attention of the query predicting each step,
    /// target rows (attribute_target) its decoder self-attention; sequence scores "encoder_self_attentions"
    /// [key, query, encoder layers, heads] and, without attribute_target, "decoder_self_attentions" [key, r, query,
    /// layers, heads] over target positions 0..T−2 (repeated along r, as Inseq stores it). One forward for every
    /// step and both strategies: causal attention rows do not depend on later tokens.
    /// </summary>
    static MethodResult EncoderDecoder(MethodInput input)
    {
        var plan = input.Plan;
        var cfg = (Loading.EncoderDecoderConfig)input.Model.Config;
        int layers = cfg.DecoderLayers, encLayers = cfg.EncoderLayers, heads = cfg.NumHeads;
        int s = plan.SourceOffset, t = plan.Length, k = plan.Steps;
        using var ctx = input.Model.CreateContext(1, Math.Max(s, t));
        ctx.Seq2SeqForward(1, plan.SourceIds, null, plan.TargetIds, null, LogitsMode.None);
        static float Nan0(float w) => w == 0f ? float.NaN : w;

        var output = Tensor.Zeros(plan.InputLength, k, layers, heads);
        for (var l = 0; l < layers; l++)
        {
            var cross = ctx.Seq2SeqAttention(Seq2SeqAttentionKind.Cross, l);   // [1, H, T, S]
            var self = ctx.Seq2SeqAttention(Seq2SeqAttentionKind.Decoder, l);  // [1, H, T, T]
            for (var step = 0; step < k; step++)
            {
                var q = plan.LogitsPosition(step);
                for (var h = 0; h < heads; h++)
                {
                    for (var j = 0; j < s; j++) output[j, step, l, h] = Nan0(cross[0, h, q, j]);
                    if (plan.AttributeTarget)
                        for (var j = 0; j < t; j++) output[s + j, step, l, h] = Nan0(self[0, h, q, j]);
                }
            }
        }

        var scores = new List<KeyValuePair<string, Tensor>>();
        var enc = Tensor.Zeros(s, s, encLayers, heads);
        for (var l = 0; l < encLayers; l++)
        {
            var a = ctx.Seq2SeqAttention(Seq2SeqAttentionKind.Encoder, l); // [1, H, S, S]
            for (var h = 0; h < heads; h++)
                for (var q = 0; q < s; q++)
                    for (var key = 0; key < s; key++) enc[key, q, l, h] = Nan0(a[0, h, q, key]);
        }
        scores.Add(new("encoder_self_attentions", enc));
        if (!plan.AttributeTarget && t > 1)
        {
            var n = t - 1;
            var dec = Tensor.Zeros(n, n, n, layers, heads);
            for (var l = 0; l < layers; l++)
            {
                var a = ctx.Seq2SeqAttention(Seq2SeqAttentionKind.Decoder, l);
                for (var key = 0; key < n; key++)
                    for (var r = 0; r < n; r++)
                        for (var q = 0; q < n; q++)
                            for (var h = 0; h < heads; h++) dec[key, r, q, l, h] = Nan0(a[0, h, q, key]);
            }
            scores.Add(new("decoder_self_attentions", dec));
        }
        return MethodResult.Of(output) with { SequenceScores = scores };
    }
}
