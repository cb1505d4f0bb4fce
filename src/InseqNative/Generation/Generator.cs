namespace InseqNative.Generation;

/// <summary>
/// KV-cached decoding: one prefill over the left-padded prompts, then one cached step per new token. Rows that
/// produced EOS keep being fed EOS (their outputs are ignored) so the batch stays rectangular.
/// </summary>
public static class Generator
{
    public static IReadOnlyList<GeneratedSequence> Generate(TransformerModel model, IReadOnlyList<int[]> prompts,
        GenerationOptions? options = null)
    {
        options ??= new GenerationOptions();
        var gen = model.GenerationConfig;
        var eosIds = model.EosTokenIds;
        var padId = model.PadTokenIdForGeneration;
        var batch = TokenBatch.LeftPadded(prompts.Select(p => (IReadOnlyList<int>)p).ToList(), padId);

        // Hugging Face: max_new_tokens wins; otherwise max_length counts the (padded) prompt too.
        var maxNew = options.MaxNewTokens ?? gen.MaxNewTokens ?? Math.Max(0, gen.MaxLength - batch.Length);
        if (maxNew < 0) throw new InvalidInputException($"max_new_tokens must be >= 0, got {maxNew}");
        var sample = options.DoSample ?? gen.DoSample;
        var sampler = new TokenSampler(sample, options.Temperature ?? (float)gen.Temperature,
            options.TopK ?? (sample ? gen.TopK : 0), options.TopP ?? (float)gen.TopP, options.Seed);
        var longest = batch.Length + maxNew;
        if (longest > model.MaxPositions)
            throw new InvalidInputException(
                $"prompt of {batch.Length} tokens + {maxNew} new tokens exceeds the model's {model.MaxPositions} positions");

        var rows = prompts.Count;
        var generated = Enumerable.Range(0, rows).Select(_ => new List<int>()).ToArray();
        var logProbs = Enumerable.Range(0, rows).Select(_ => new List<float>()).ToArray();
        var done = new bool[rows];
        if (maxNew == 0) return Collect(prompts, generated, logProbs, done);

        using var ctx = model.CreateContext(rows, Math.Max(longest, 1), 0);
        var logits = ctx.CachePrefill(batch);
        var next = new int[rows];
        for (var step = 0; step < maxNew; step++)
        {
            for (var b = 0; b < rows; b++)
            {
                if (done[b]) { next[b] = eosIds.Count > 0 ? eosIds[0] : padId; continue; }
                var row = logits.Slice(b);
                var id = sampler.Next(row);
                next[b] = id;
                generated[b].Add(id);
                logProbs[b].Add(TokenSampler.LogProbability(row, id));
                if (options.StopAtEos && eosIds.Contains(id)) done[b] = true;
            }
            if (done.All(d => d) || step == maxNew - 1) break;
            logits = ctx.CacheStep(next);
        }
        return Collect(prompts, generated, logProbs, done);
    }

    static IReadOnlyList<GeneratedSequence> Collect(IReadOnlyList<int[]> prompts, List<int>[] generated,
        List<float>[] logProbs, bool[] done) =>
        prompts.Select((p, b) => new GeneratedSequence(p, generated[b].ToArray(), logProbs[b].ToArray(), done[b])).ToList();
}
