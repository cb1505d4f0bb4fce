namespace InseqNative.Generation;

/// <summary>
/// KV-cached decoding: one prefill over the left-padded prompts, then one cached step per new token. Each step's
/// tokens are picked on the context's device (<see cref="InferenceContext.SampleNext"/>): only ids and
/// log-probabilities reach the host, never logits. Sampling uniforms come from the seeded <see cref="TokenSampler"/>
/// in row order, one per sampled row. Rows that produced EOS keep being fed EOS (forced; their outputs are ignored)
/// so the batch stays rectangular.
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
        ctx.CachePrefill(batch, LogitsMode.None);
        var next = new int[rows];
        var forced = new int[rows];
        var uniforms = new double[rows];
        var finished = eosIds.Count > 0 ? eosIds[0] : padId;
        for (var step = 0; step < maxNew; step++)
        {
            for (var b = 0; b < rows; b++)
            {
                forced[b] = done[b] ? finished : -1;
                uniforms[b] = !done[b] && sampler.Settings.DoSample ? sampler.NextUniform() : 0;
            }
            var (ids, lps) = ctx.SampleNext(sampler.Settings, uniforms, forced);
            for (var b = 0; b < rows; b++)
            {
                next[b] = ids[b];
                if (done[b]) continue;
                generated[b].Add(ids[b]);
                logProbs[b].Add(lps[b]);
                if (options.StopAtEos && eosIds.Contains(ids[b])) done[b] = true;
            }
            if (done.All(d => d) || step == maxNew - 1) break;
            ctx.CacheStep(next, LogitsMode.None);
        }
        return Collect(prompts, generated, logProbs, done);
    }

    static IReadOnlyList<GeneratedSequence> Collect(IReadOnlyList<int[]> prompts, List<int>[] generated,
        List<float>[] logProbs, bool[] done) =>
        prompts.Select((p, b) => new GeneratedSequence(p, generated[b].ToArray(), logProbs[b].ToArray(), done[b])).ToList();
}
