namespace InseqNative.Generation;

/// <summary>
/// Encoder-decoder generation as transformers does it with the folder's generation config: the sources are
/// right-padded and encoded once, every row starts from decoder_start_token_id, and each new token is one KV-cached
/// decoder step (the encoder output and cross-attention keys/values stay in the context). Logits processors:
/// bad_words_ids, forced_bos_token_id (first new token; M2M100's target language), forced_eos_token_id (at
/// max_length = 1 + max_new_tokens), passed as bans and forced ids to the device pick
/// (<see cref="InferenceContext.SampleNext"/>: logits never reach the host). Greedy or sampled (temperature / top-k /
/// top-p, seeded) as <see cref="Generator"/> does for decoder-only models. <see cref="GeneratedSequence.PromptIds"/>
/// are the source ids; <see cref="GeneratedSequence.GeneratedIds"/> the new tokens (without the start token).
/// </summary>
public static class Seq2SeqGenerator
{
    public static IReadOnlyList<GeneratedSequence> Generate(TransformerModel model, IReadOnlyList<int[]> sources,
        GenerationOptions? options = null, int? forcedBosTokenId = null)
    {
        if (!model.Config.IsEncoderDecoder) throw new InvalidInputException("Seq2SeqGenerator needs an encoder-decoder model");
        if (sources.Count == 0) throw new InvalidInputException("no sources: give at least one");
        for (var i = 0; i < sources.Count; i++)
            if (sources[i].Length == 0) throw new InvalidInputException($"source {i} has no tokens");
        options ??= new GenerationOptions();
        var gen = model.GenerationConfig;
        var eosIds = model.EosTokenIds;
        var start = gen.DecoderStartTokenId ?? model.Config.DecoderStartTokenId
            ?? throw new InvalidInputException("the model defines no decoder_start_token_id");
        var forcedBos = forcedBosTokenId ?? gen.ForcedBosTokenId
            ?? (model.Tokenizer as Tokenization.Seq2SeqTokenizer)?.ForcedBosTokenId;
        // transformers: max_new_tokens wins; otherwise max_length counts the decoder input (the start token).
        var maxNew = options.MaxNewTokens ?? gen.MaxNewTokens ?? Math.Max(1, gen.MaxLength - 1);
        if (maxNew <= 0) throw new InvalidInputException($"max_new_tokens must be positive, got {maxNew}");
        var maxLength = 1 + maxNew;
        var sample = options.DoSample ?? gen.DoSample;
        var sampler = new TokenSampler(sample, options.Temperature ?? (float)gen.Temperature,
            options.TopK ?? (sample ? gen.TopK : 0), options.TopP ?? (float)gen.TopP, options.Seed);

        int rows = sources.Count, s = sources.Max(x => x.Length);
        if (Math.Max(s, maxLength) > model.MaxPositions)
            throw new InvalidInputException(
                $"source of {s} tokens or {maxNew} new tokens exceeds the model's {model.MaxPositions} positions");
        var pad = model.Config.PadTokenId ?? start;
        var ids = new int[rows * s];
        var mask = new int[rows * s];
        for (var b = 0; b < rows; b++)
            for (var j = 0; j < s; j++)
            {
                var real = j < sources[b].Length;
                ids[b * s + j] = real ? sources[b][j] : pad;
                mask[b * s + j] = real ? 1 : 0;
            }
        var padded = sources.Any(x => x.Length < s);

        var generated = Enumerable.Range(0, rows).Select(_ => new List<int> { start }).ToArray();
        var logProbs = Enumerable.Range(0, rows).Select(_ => new List<float>()).ToArray();
        var done = new bool[rows];
        using var ctx = model.CreateContext(rows, Math.Max(s, maxLength));
        ctx.Seq2SeqForward(rows, ids, padded ? mask : null, Enumerable.Repeat(start, rows).ToArray(), null,
            LogitsMode.None, fillCache: true);
        var v = model.Config.VocabSize;
        var next = new int[rows];
        var forced = new int[rows];
        var uniforms = new double[rows];
        var bans = new List<int>?[rows];
        var finished = eosIds.Count > 0 ? eosIds[0] : pad;
        for (var step = 0; step < maxNew; step++)
        {
            for (var b = 0; b < rows; b++)
            {
                var seq = generated[b];
                int? force = done[b] ? finished
                    : seq.Count == 1 && forcedBos is int bos ? bos
                    : seq.Count == maxLength - 1 && gen.ForcedEosTokenId is int eos ? eos : null;
                forced[b] = force ?? -1;
                bans[b] = done[b] ? null : BadWordBans(seq, gen.BadWordsIds, v);
                uniforms[b] = force is null && sampler.Settings.DoSample ? sampler.NextUniform() : 0;
            }
            var (picked, lps) = ctx.SampleNext(sampler.Settings, uniforms, forced, bans);
            for (var b = 0; b < rows; b++)
            {
                next[b] = picked[b];
                if (done[b]) continue;
                generated[b].Add(picked[b]);
                logProbs[b].Add(lps[b]);
                if (options.StopAtEos && eosIds.Contains(picked[b])) done[b] = true;
            }
            if (done.All(d => d) || step == maxNew - 1) break;
            ctx.Seq2SeqCacheStep(next, LogitsMode.None);
        }
        return sources.Select((src, b) => new GeneratedSequence(src, generated[b].Skip(1).ToArray(), logProbs[b].ToArray(),
            done[b])).ToList();
    }

    /// <summary>bad_words_ids: a word's last token is banned when the sequence ends with the word's other tokens
    /// (null: nothing banned).</summary>
    static List<int>? BadWordBans(List<int> seq, IReadOnlyList<IReadOnlyList<int>> badWords, int vocab)
    {
        List<int>? banned = null;
        foreach (var bad in badWords)
        {
            if (bad.Count == 0 || bad.Count - 1 > seq.Count || (uint)bad[^1] >= (uint)vocab) continue;
            var match = true;
            for (var i = 0; i < bad.Count - 1 && match; i++) match = seq[seq.Count - (bad.Count - 1) + i] == bad[i];
            if (match) (banned ??= []).Add(bad[^1]);
        }
        return banned;
    }
}
