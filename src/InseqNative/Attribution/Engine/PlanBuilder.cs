using InseqNative.Generation;

namespace InseqNative.Attribution;

/// <summary>Turns texts and options into <see cref="SequencePlan"/>s: tokenization, generation when no target is
/// given, attributed positions with Inseq's clamping, baselines and contrast alignment.</summary>
static class PlanBuilder
{
    public static IReadOnlyList<SequencePlan> Build(TransformerModel model, IReadOnlyList<string> inputTexts,
        IReadOnlyList<string>? generatedTexts, AttributeOptions options)
    {
        if (inputTexts.Count == 0) throw new InvalidInputException("no input texts: give at least one");
        for (var i = 0; i < inputTexts.Count; i++)
            if (string.IsNullOrEmpty(inputTexts[i])) throw new InvalidInputException($"input text {i} is empty");
        if (generatedTexts is not null && generatedTexts.Count != inputTexts.Count)
            throw new InvalidInputException(
                $"{generatedTexts.Count} generated texts for {inputTexts.Count} inputs: give one per input (or none to generate)");
        if (options.ContrastTargets is not null && options.ContrastTargets.Count != inputTexts.Count)
            throw new InvalidInputException(
                $"{options.ContrastTargets.Count} contrast targets for {inputTexts.Count} inputs: give one per input");
        if (options.ContrastSources is not null && options.ContrastSources.Count != inputTexts.Count)
            throw new InvalidInputException(
                $"{options.ContrastSources.Count} contrast sources for {inputTexts.Count} inputs: give one per input");
        var tok = model.Tokenizer ?? throw new InvalidInputException("the model has no tokenizer: attribution needs one");

        var sources = inputTexts.Select(model.Encode).ToArray();
        int[][] targets;
        string[] generated;
        if (model.Config.IsEncoderDecoder)
            (targets, generated) = Seq2SeqTargets(model, (Tokenization.Seq2SeqTokenizer)tok, sources, generatedTexts, options);
        else if (generatedTexts is null)
        {
            var outputs = model.Generate(sources, options.Generation);
            targets = new int[sources.Length][];
            generated = new string[sources.Length];
            for (var i = 0; i < sources.Length; i++)
            {
                var all = outputs[i].AllIds;
                generated[i] = tok.Decode(all, skipSpecialTokens: true);
                // Inseq decodes and re-tokenizes; by default we keep the ids the model produced.
                targets[i] = options.ReproduceInseqRoundTrip ? model.Encode(generated[i]) : all;
            }
        }
        else
        {
            generated = generatedTexts.ToArray();
            targets = new int[sources.Length][];
            for (var i = 0; i < sources.Length; i++)
            {
                if (string.IsNullOrEmpty(generated[i])) throw new InvalidInputException($"generated text {i} is empty");
                if (!generated[i].StartsWith(inputTexts[i], StringComparison.Ordinal))
                    throw new InvalidInputException(
                        $"generated text {i} must start with its input text for a decoder-only model (the prompt is the " +
                        $"first part of the target): '{Shorten(generated[i])}' does not start with '{Shorten(inputTexts[i])}'");
                targets[i] = model.Encode(generated[i]);
            }
        }

        return FromIds(model, inputTexts, generated, sources, targets, options);
    }

    /// <summary>Encoder-decoder targets (decoder start token first): the given texts through the target tokenizer,
    /// or generated translations (Seq2SeqGenerator: KV-cached, M2M100's target language token forced first).</summary>
    static (int[][] Targets, string[] Generated) Seq2SeqTargets(TransformerModel model, Tokenization.Seq2SeqTokenizer tok,
        int[][] sources, IReadOnlyList<string>? generatedTexts, AttributeOptions options)
    {
        var targets = new int[sources.Length][];
        var generated = new string[sources.Length];
        for (var i = 0; i < sources.Length; i++)
        {
            if (generatedTexts is not null)
            {
                if (string.IsNullOrEmpty(generatedTexts[i])) throw new InvalidInputException($"generated text {i} is empty");
                generated[i] = generatedTexts[i];
                targets[i] = tok.EncodeDecoderInput(generated[i]);
                continue;
            }
            var output = Generation.Seq2SeqGenerator.Generate(model, [sources[i]], options.Generation)[0];
            int[] ids = [tok.DecoderStartTokenId, .. output.GeneratedIds];
            generated[i] = tok.DecodeTarget(ids, skipSpecialTokens: true);
            // Inseq decodes and re-tokenizes; by default we keep the ids the model produced.
            targets[i] = options.ReproduceInseqRoundTrip ? tok.EncodeDecoderInput(generated[i]) : ids;
        }
        return (targets, generated);
    }

    /// <summary>Plans for pre-tokenized prompts and targets (decoder-only: each target starting with its prompt;
    /// encoder-decoder: sources and decoder inputs starting with the decoder start token).</summary>
    public static IReadOnlyList<SequencePlan> FromIds(TransformerModel model, IReadOnlyList<string> inputTexts,
        IReadOnlyList<string> generated, IReadOnlyList<int[]> sources, IReadOnlyList<int[]> targets, AttributeOptions options,
        IReadOnlyList<int[]>? contrastIds = null)
    {
        if (contrastIds is not null && contrastIds.Count != sources.Count)
            throw new InvalidInputException($"{contrastIds.Count} contrast targets for {sources.Count} sequences: give one per sequence");
        if (sources.Count == 0) throw new InvalidInputException("no inputs: give at least one sequence");
        if (sources.Count != targets.Count)
            throw new InvalidInputException($"{targets.Count} targets for {sources.Count} prompts: give one per prompt");
        var plans = new List<SequencePlan>();
        for (var i = 0; i < sources.Count; i++)
        {
            if (sources[i].Length == 0) throw new InvalidInputException($"prompt {i} has no tokens");
            var target = targets[i];
            var seq2seq = model.Config.IsEncoderDecoder;
            if (Math.Max(target.Length, seq2seq ? sources[i].Length : 0) > model.MaxPositions)
                throw new InvalidInputException($"sequence {i} has {Math.Max(target.Length, sources[i].Length)} tokens, more than the model's {model.MaxPositions} positions");
            if (seq2seq && target.Length < 2)
                throw new InvalidInputException($"sequence {i}: the target has no token after the decoder start token");
            // Encoder-decoder targets start with the decoder start token: Inseq attributes from position 1.
            var (start, end) = AttributedRange(options.AttrPosStart, options.AttrPosEnd, seq2seq ? 1 : sources[i].Length, target.Length, i);
            var baseline = BaselineIds(model, target, options.IncludeEosBaseline);
            if (seq2seq) baseline[0] = target[0]; // the prepended decoder start token is kept, as Inseq does
            var plan = new SequencePlan
            {
                InputText = inputTexts[i],
                GeneratedText = generated[i],
                SourceIds = sources[i],
                TargetIds = target,
                AttrPosStart = start,
                AttrPosEnd = end,
                BaselineIds = baseline,
                SourceOffset = seq2seq ? sources[i].Length : 0,
                SourceBaselineIds = seq2seq ? BaselineIds(model, sources[i], options.IncludeEosBaseline) : null,
                AttributeTarget = !seq2seq || options.AttributeTarget,
            };
            var contrast = contrastIds?[i] ?? (options.ContrastTargets is { } texts
                ? seq2seq ? ((Tokenization.Seq2SeqTokenizer)model.Tokenizer!).EncodeDecoderInput(texts[i]) : model.Encode(texts[i])
                : null);
            if (options.ContrastSources is { } contrastSources)
            {
                if (!seq2seq)
                    throw new InvalidInputException(
                        "contrast sources can only be used with encoder-decoder models; use contrast targets (with the " +
                        "prompt as their prefix) for decoder-only models");
                if (string.IsNullOrEmpty(contrastSources[i])) throw new InvalidInputException($"contrast source {i} is empty");
                // Without contrast targets the contrast forward keeps the original target prefix and target ids.
                contrast ??= target;
                plan = plan with { ContrastSourceIds = model.Encode(contrastSources[i]) };
            }
            if (contrast is not null)
                plan = WithContrast(model, plan, contrast, options.ContrastTargetsAlignments?[i], i);
            plans.Add(plan);
        }
        return plans;
    }

    /// <summary>Inseq's positions: start defaults to the prompt length, end to the target length; negative values
    /// count from the end; both are clamped into the target, and position 0 is never attributed (nothing precedes it).</summary>
    internal static (int Start, int End) AttributedRange(int? startOption, int? endOption, int sourceLength, int targetLength, int index)
    {
        var start = startOption ?? sourceLength;
        var end = endOption ?? targetLength;
        if (start < 0) start += targetLength;
        if (end < 0) end += targetLength;
        start = Math.Clamp(start, 1, targetLength);
        end = Math.Clamp(end, 0, targetLength);
        if (start >= end)
            throw new InvalidInputException(
                $"sequence {index}: nothing to attribute (attr_pos_start {start} >= attr_pos_end {end} for a target of " +
                $"{targetLength} tokens); the generated text must extend the input text, or adjust attr_pos_start/attr_pos_end");
        return (start, end);
    }

    static int[] BaselineIds(TransformerModel model, int[] target, bool includeEos)
    {
        var unk = model.Tokenizer?.UnkTokenId ?? model.Tokenizer?.EosTokenId ?? model.EosTokenIds.FirstOrDefault(-1);
        if (unk < 0) throw new InvalidInputException("the model has no UNK (or EOS) token to build Inseq's baseline from");
        var eos = model.EosTokenIds;
        return target.Select(id => !includeEos && eos.Contains(id) ? id : unk).ToArray();
    }

    static SequencePlan WithContrast(TransformerModel model, SequencePlan plan, int[] contrast,
        IReadOnlyList<(int Target, int Contrast)>? alignment, int index)
    {
        var map = FilledAlignment(alignment, plan.Length, contrast.Length, index);
        var targets = new int[plan.Steps];
        var positions = new int[plan.Steps];
        for (var k = 0; k < plan.Steps; k++)
        {
            var t = plan.AttrPosStart + k;
            var c = map[t];
            if (c >= contrast.Length || c < 1)
                throw new InvalidInputException(
                    $"sequence {index}: the contrast target has {contrast.Length} tokens, so target position {t} has no contrast " +
                    "token; give a longer contrast text or ContrastTargetsAlignments");
            targets[k] = contrast[c];
            positions[k] = c - 1;
        }
        return plan with { ContrastIds = contrast, ContrastStepTargets = targets, ContrastStepPositions = positions };
    }

    /// <summary>
    /// Inseq's alignment filling: pairs (target position, contrast position) over whole sequences, sorted; every
    /// target position without a pair is aligned 1:1; a position with several pairs takes the first whose contrast
    /// position is not used yet (else the first).
    /// </summary>
    internal static int[] FilledAlignment(IReadOnlyList<(int Target, int Contrast)>? pairs, int targetLength,
        int contrastLength, int index)
    {
        var sorted = (pairs ?? []).Distinct().OrderBy(p => p.Target).ThenBy(p => p.Contrast).ToList();
        foreach (var (t, c) in sorted)
            if ((uint)t >= (uint)targetLength || (uint)c >= (uint)contrastLength)
                throw new InvalidInputException(
                    $"sequence {index}: alignment pair ({t}, {c}) is outside the target ({targetLength} tokens) or the contrast ({contrastLength} tokens)");
        var used = new HashSet<int>();
        var map = new int[targetLength];
        for (var t = 0; t < targetLength; t++)
        {
            var matches = sorted.Where(p => p.Target == t).Select(p => p.Contrast).ToList();
            map[t] = matches.Count == 0 ? t : matches.FirstOrDefault(c => !used.Contains(c), matches[0]);
            used.Add(map[t]);
        }
        return map;
    }

    static string Shorten(string s) => s.Length <= 40 ? s : s[..37] + "...";
}
