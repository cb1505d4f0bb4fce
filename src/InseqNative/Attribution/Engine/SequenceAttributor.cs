using InseqNative.Attribution.Methods;
using InseqNative.Outputs;
using InseqNative.StepFunctions;

namespace InseqNative.Attribution;

/// <summary>Attributes one planned sequence with one method: embeddings, baseline, objective, the method, NaN
/// masking, step scores, tokens — the Inseq sequence output.</summary>
sealed class SequenceAttributor(TransformerModel model, StepFunctionRegistry registry, AttributeOptions options,
    AttributionMethod method, MethodOptions methodOptions, StepRunner runner)
{
    public FeatureAttributionSequenceOutput Attribute(SequencePlan plan)
    {
        // The input layout: source rows (encoder-decoder), then target rows; embeddings as the model consumes them
        // (Hugging Face's inputs_embeds: scaled for Marian / M2M100).
        int t = plan.InputLength, c = model.Config.HiddenSize;
        var x = new Tensor(model.Embed(plan.InputIds).Data, 1, t, c);
        var b = new Tensor(model.Embed(plan.InputBaselineIds).Data, 1, t, c);
        var (originalRows, contrastRows) = ForwardRows(plan);

        var attributed = registry.Get(options.AttributedFn ?? "probability");
        if (method.UsesAttributedFunction && !attributed.IsDifferentiable && method.Granularity == AttributionGranularity.Granular)
            throw new InvalidInputException($"step function '{attributed.Id}' has no gradient and cannot be attributed by {method.Id}");
        // Inseq keeps the original inputs for a contrastive attributed function (only the predicted token changes);
        // with contrast_force_inputs the contrast distribution comes from the contrast forward instead.
        var objective = new StepObjective(attributed, options.StepFunctionArgs, plan.StepPositions(), plan.StepTargets(),
            plan.ContrastStepTargets, options.ContrastForceInputs ? contrastRows : null) { SourceLength = plan.SourceOffset };
        if (attributed.IsContrastive && plan.ContrastStepTargets is null && options.ContrastForceInputs)
            throw new InvalidInputException($"attributed function '{attributed.Id}' with contrast_force_inputs needs contrast targets");

        var result = method.Attribute(new MethodInput(model, plan, runner, objective, x, b, methodOptions)
        {
            ReduceHidden = !options.GranularAttributions,
        });
        var (sourceAttributions, attributions) = Split(result.TargetAttributions, plan);
        if (attributions is not null) MaskFuture(attributions, plan);
        // The hidden units are already reduced to norms: finish the default aggregation (normalization).
        if (result.HiddenReduced)
            (sourceAttributions, attributions) = Aggregation.ScoreNormalization.Normalize(sourceAttributions, attributions);

        var stepScores = new List<KeyValuePair<string, Tensor>>();
        foreach (var id in options.StepScores)
        {
            var fn = registry.Get(id);
            var scorer = new StepObjective(fn, options.StepFunctionArgs, plan.StepPositions(), plan.StepTargets(),
                plan.ContrastStepTargets, fn.IsContrastive && contrastRows is not null ? contrastRows : null);
            var values = new float[plan.Steps];
            for (var k = 0; k < plan.Steps; k++) values[k] = (float)scorer.Score(originalRows[k], k);
            stepScores.Add(new(id, new Tensor(values, plan.Steps)));
        }
        foreach (var (name, values) in result.ExtraStepScores) stepScores.Add(new(name, new Tensor(values, values.Length)));

        var kind = method.Granularity switch
        {
            _ when result.HiddenReduced => SequenceOutputKind.Base,
            AttributionGranularity.Granular => SequenceOutputKind.Granular,
            AttributionGranularity.MultiDimensional => SequenceOutputKind.MultiDimensional,
            AttributionGranularity.Coarse => SequenceOutputKind.Coarse,
            _ => SequenceOutputKind.Base,
        };
        var output = new FeatureAttributionSequenceOutput(Tokens(plan.SourceIds, null, 0), Tokens(plan.TargetIds, plan, plan.AttrPosStart),
            sourceAttributions, attributions, plan.AttrPosStart, plan.AttrPosEnd, kind, stepScores, result.SequenceScores);
        // Granular methods that cannot reduce where their gradients are (layer methods): the same aggregation here.
        return !options.GranularAttributions && kind == SequenceOutputKind.Granular && output.AttributionRank > 2
            ? Aggregation.DefaultAggregation.For(output).Aggregate(output)
            : output;
    }

    /// <summary>A method's rows in the input layout → Inseq's source attributions (encoder-decoder) and target
    /// attributions (decoder-only, or encoder-decoder with attribute_target).</summary>
    static (Tensor? Source, Tensor? Target) Split(Tensor? rows, SequencePlan plan)
    {
        if (rows is null) return (null, null);
        if (!plan.IsEncoderDecoder) return (null, rows);
        var inner = rows.Data.Length / rows.Dim(0);
        var tail = rows.Shape.Skip(1).ToArray();
        Tensor Rows(int from, int count) =>
            new(rows.Data.AsSpan(from * inner, count * inner).ToArray(), [count, .. tail]);
        return (Rows(0, plan.SourceOffset), plan.AttributeTarget ? Rows(plan.SourceOffset, plan.Length) : null);
    }

    /// <summary>Logits rows of the original sequence at each step's position, and of the contrast sequence at its
    /// aligned positions (null without contrast): one forward each, shared by every step score.</summary>
    (float[][] Original, float[][]? Contrast) ForwardRows(SequencePlan plan)
    {
        float[][] Rows(int[] ids, int[] positions, int[] source)
        {
            if (model.Config.IsEncoderDecoder)
            {
                using var s2s = model.CreateContext(1, Math.Max(ids.Length, source.Length));
                var l = s2s.Seq2SeqForward(1, source, null, ids, null)!;
                return positions.Select(p => l.Slice(0, p).ToArray()).ToArray();
            }
            using var ctx = model.CreateContext(1, ids.Length);
            var logits = ctx.Forward(TokenBatch.Single(ids))!;
            return positions.Select(p => logits.Slice(0, p).ToArray()).ToArray();
        }
        var original = Rows(plan.TargetIds, plan.StepPositions(), plan.SourceIds);
        var contrast = plan.ContrastIds is { } cids
            ? Rows(cids, plan.ContrastStepPositions!, plan.ContrastSourceIds ?? plan.SourceIds)
            : null;
        return (original, contrast);
    }

    /// <summary>Inseq's layout: target row j of step k is NaN for j ≥ attr_pos_start + k (the predicted token and
    /// everything after it).</summary>
    static Tensor MaskFuture(Tensor a, SequencePlan plan)
    {
        var inner = 1;
        for (var d = 2; d < a.Rank; d++) inner *= a.Shape[d];
        var k = plan.Steps;
        for (var j = 0; j < plan.Length; j++)
            for (var s = 0; s < k; s++)
                if (j >= plan.AttrPosStart + s)
                    a.Data.AsSpan((j * k + s) * inner, inner).Fill(float.NaN);
        return a;
    }

    /// <summary>Tokens as the vocabulary spells them (Inseq's convention); attributed positions whose contrast
    /// token differs read "contrast → target" with id −1.</summary>
    TokenWithId[] Tokens(int[] ids, SequencePlan? plan, int start)
    {
        var result = new TokenWithId[ids.Length];
        for (var j = 0; j < ids.Length; j++)
        {
            var text = Display(ids[j]);
            result[j] = new TokenWithId(text, ids[j]);
            if (plan?.ContrastStepTargets is { } contrast && j >= start && j - start < contrast.Length
                && contrast[j - start] != ids[j])
                result[j] = new TokenWithId($"{Display(contrast[j - start])} → {text}", -1);
        }
        return result;
    }

    /// <summary>The vocabulary's spelling (e.g. "Ġquick"), or the readable form with CleanSpecialChars; without a
    /// tokenizer, the id.</summary>
    string Display(int id)
    {
        if (model.Tokenizer is not { } tok) return id.ToString();
        var token = tok.IdToToken(id);
        return options.CleanSpecialChars ? tok.ToDisplayToken(token) : token;
    }
}
