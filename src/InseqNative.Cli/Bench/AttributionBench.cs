using System.Diagnostics;
using InseqNative.Attribution;
using InseqNative.Interop;

namespace InseqNative.Bench;

/// <summary>
/// Attribution throughput per (length, method), every strategy side by side in one run: random prompt ids plus
/// forced random continuation ids go through <see cref="AttributionModel.AttributeIds"/> with
/// <see cref="AttributeOptions.Strategy"/> set, timed end to end (planning, the method, step scores, masking).
/// A cell whose estimated wall time exceeds --max-seconds is skipped and says so. On an encoder-decoder, P+F means a
/// source of P ids and a decoder input of the decoder start token + F forced ids, attributed with attribute_target
/// (gradients to the source and the target prefix).
/// </summary>
public static class AttributionBench
{
    public static IReadOnlyList<string> DefaultMethods { get; } =
        ["saliency", "input_x_gradient", "integrated_gradients", "attention", "occlusion"];

    /// <summary>One measured (or skipped) cell.</summary>
    public sealed record Result(int Prompt, int Forced, string Method, AttributionStrategy Strategy, double? Seconds,
        long PeakBytes, long ExtraBytes, long ArenaBytes, string? Note, string Ran, double? Estimated = null);

    public static IReadOnlyList<Result> Run(BenchSettings s, TransformerModel model, TextWriter output, TextWriter progress)
    {
        var seq2seq = model.Config.IsEncoderDecoder;
        foreach (var (p, f) in s.Lengths)
        {
            if (p < 1 || f < 1) throw new InvalidInputException($"--lengths: {p}+{f} needs at least 1 prompt and 1 forced token");
            if ((seq2seq ? Math.Max(p, f + 1) : p + f) > model.MaxPositions)
                throw new InvalidInputException($"--lengths: {p}+{f} exceeds the shape's {model.MaxPositions} positions");
        }
        if (s.IgSteps < 1) throw new InvalidInputException("--ig-steps must be at least 1");
        if (s.AttributionRepeats < 1) throw new InvalidInputException("--attribution-repeats must be at least 1");
        var attribution = new AttributionModel(model); // not disposed: the caller owns the model
        foreach (var m in s.Methods) Attribution.Methods.MethodRegistry.Get(m); // unknown ids fail before any timing

        var results = new List<Result>();
        var warmed = new HashSet<(string, AttributionStrategy)>();
        foreach (var (prompt, forced) in s.Lengths)
        {
            var cell = new Layout(seq2seq, prompt, forced);
            var (promptIds, targetIds) = Ids(model.Config, cell, seed: 1000 * prompt + forced);
            foreach (var method in s.Methods)
                foreach (var strategy in s.Strategies)
                {
                    var options = Options(method, strategy, s.IgSteps, seq2seq, s.Granular);
                    var arena = ArenaBytes(model, method, strategy, cell, s.IgSteps);
                    if (warmed.Add((method, strategy))) // JIT, first page-in of the weights, native dispatch
                    {
                        var (warmPrompt, warmTarget) = Ids(model.Config, new Layout(seq2seq, Math.Min(4, prompt), Math.Min(4, forced)), seed: 1);
                        attribution.AttributeIds([warmPrompt], [warmTarget],
                            options with { MethodOptions = options.MethodOptions is IntegratedGradientsOptions ig ? ig with { Steps = Math.Min(ig.Steps, 4) } : options.MethodOptions });
                    }
                    var estimate = Estimate(results, method, strategy, cell, s.IgSteps, out var basis);
                    if (estimate is null && s.MaxSeconds > 0)
                    {
                        // One step of the real cell (the middle one), through the engine, scaled by the work ratio.
                        var mid = cell.Start + forced / 2;
                        var sw = Stopwatch.StartNew();
                        attribution.AttributeIds([promptIds], [targetIds], options with { AttrPosStart = mid, AttrPosEnd = mid + 1 });
                        estimate = sw.Elapsed.TotalSeconds * Work(method, strategy, cell.Length, cell.Offset + cell.Start, forced, s.IgSteps) /
                                   Work(method, strategy, cell.Length, cell.Offset + mid, 1, s.IgSteps);
                        basis = "one step";
                    }
                    if (s.MaxSeconds > 0 && estimate > s.MaxSeconds)
                    {
                        var note = $"skipped: > {s.MaxSeconds:0.##} s estimated (~{estimate:0} s from {basis})";
                        results.Add(new Result(prompt, forced, method, strategy, null, 0, 0, arena, note, "—", estimate));
                        progress.WriteLine($"bench: {prompt}+{forced} {method} {Name(strategy)}: {note}");
                        continue;
                    }

                    var times = new List<double>();
                    long peak = 0, extra = 0;
                    var ran = "";
                    for (var r = 0; r < s.AttributionRepeats; r++)
                    {
                        PeakMemory.Reset();
                        var before = PeakMemory.CurrentBytes();
                        var sw = Stopwatch.StartNew();
                        var outputs = attribution.AttributeIds([promptIds], [targetIds], options);
                        times.Add(sw.Elapsed.TotalSeconds);
                        var cellPeak = PeakMemory.PeakBytes();
                        peak = Math.Max(peak, cellPeak);
                        extra = Math.Max(extra, cellPeak - before);
                        ran = outputs.Info["strategy"]?.GetValue<string>() ?? "?";
                        if (outputs.Info["timings"] is System.Text.Json.Nodes.JsonObject timings && // the engine's own chunk sizes, where it reports them
                            timings["row_chunk"]?.GetValue<int>() is { } rowChunk && timings["cotangent_rows"]?.GetValue<int>() is { } cotangentRows)
                            arena = ArenaBytes(model, method, strategy, cell, s.IgSteps, (rowChunk, cotangentRows));
                    }
                    times.Sort();
                    var seconds = times[times.Count / 2];
                    var fellBack = ran != Name(strategy) ? $"ran {ran}" : null;
                    results.Add(new Result(prompt, forced, method, strategy, seconds, peak, extra, arena, fellBack, ran));
                    progress.WriteLine($"bench: {prompt}+{forced} {method} {Name(strategy)}: {seconds:0.00} s " +
                                       $"({forced / seconds:0.00} tokens/s, load {MachineInfo.LoadAverage()})");
                }
        }
        Print(s, results, output, seq2seq);
        return results;
    }

    static void Print(BenchSettings s, IReadOnlyList<Result> results, TextWriter output, bool seq2seq)
    {
        var strategies = s.Strategies.ToList();
        var header = new List<string> { seq2seq ? "source+target" : "prompt+forced", "method" };
        foreach (var st in strategies) header.AddRange([$"{Name(st)} wall (s)", $"{Name(st)} tokens/s"]);
        var both = strategies.Contains(AttributionStrategy.Fused) && strategies.Contains(AttributionStrategy.Stepwise);
        if (both) header.Add("fused speed-up");
        foreach (var st in strategies) header.Add($"{Name(st)} peak RSS / +Δ (MB)");
        foreach (var st in strategies) header.Add($"{Name(st)} arena (MB)");
        output.WriteLine("| " + string.Join(" | ", header) + " |");
        output.WriteLine("| " + string.Join(" | ", header.Select((_, i) => i < 2 ? "---" : "---:")) + " |");

        var notes = new List<string>();
        foreach (var (prompt, forced) in s.Lengths)
            foreach (var method in s.Methods)
            {
                var row = new List<string> { $"{prompt}+{forced}", Label(method, s.IgSteps) };
                var cells = strategies.Select(st => results.First(r =>
                    r.Prompt == prompt && r.Forced == forced && r.Method == method && r.Strategy == st)).ToList();
                foreach (var c in cells)
                {
                    if (c.Seconds is { } sec) row.AddRange([$"{sec:0.00}", $"{forced / sec:0.00}"]);
                    else row.AddRange(["—", "—"]);
                    if (c.Note is { } n) notes.Add($"{prompt}+{forced} {Label(method, s.IgSteps)} {Name(c.Strategy)}: {n}");
                }
                if (both)
                {
                    var f = cells[strategies.IndexOf(AttributionStrategy.Fused)].Seconds;
                    var w = cells[strategies.IndexOf(AttributionStrategy.Stepwise)].Seconds;
                    row.Add(f is { } fs && w is { } ws ? $"{ws / fs:0.0}×" : "—");
                }
                foreach (var c in cells)
                    row.Add(c.Seconds is null ? "—" : $"{c.PeakBytes / 1e6:0} / +{c.ExtraBytes / 1e6:0}");
                foreach (var c in cells) row.Add(c.ArenaBytes > 0 ? $"{c.ArenaBytes / 1e6:0.0}" : "?");
                output.WriteLine("| " + string.Join(" | ", row) + " |");
            }
        if (notes.Count > 0)
        {
            output.WriteLine();
            foreach (var n in notes) output.WriteLine($"- {n}");
        }
    }

    static string Name(AttributionStrategy s) => s.ToString().ToLowerInvariant();

    static string Label(string method, int igSteps) =>
        method is "integrated_gradients" or "layer_integrated_gradients" ? $"{method} ({igSteps} steps)" : method;

    static AttributeOptions Options(string method, AttributionStrategy strategy, int igSteps, bool seq2seq, bool granular) => new()
    {
        Method = method,
        Strategy = strategy,
        GranularAttributions = granular,
        AttributeTarget = seq2seq, // encoder-decoders: attribute to the target prefix too (decoder-only: always)
        MethodOptions = method switch
        {
            "integrated_gradients" => new IntegratedGradientsOptions { Steps = igSteps },
            "layer_integrated_gradients" => new LayerOptions { Integration = new IntegratedGradientsOptions { Steps = igSteps } },
            _ => null,
        },
    };

    /// <summary>
    /// A cell's sequence layout. Decoder-only: one sequence of P prompt + F forced ids, attributed from position P, a
    /// step at position p running over a prefix of p tokens. Encoder-decoder: a source of P ids and a decoder input of
    /// the start token + F ids, attributed from position 1, a step at position p reaching the P source tokens and
    /// p target tokens.
    /// </summary>
    readonly record struct Layout(bool Seq2Seq, int Prompt, int Forced)
    {
        /// <summary>Tokens of one input row (source + target for an encoder-decoder).</summary>
        public int Length => Seq2Seq ? Prompt + Forced + 1 : Prompt + Forced;
        /// <summary>The first attributed target position.</summary>
        public int Start => Seq2Seq ? 1 : Prompt;
        /// <summary>Tokens a step's prefix has beyond its target position (the source of an encoder-decoder).</summary>
        public int Offset => Seq2Seq ? Prompt : 0;
        /// <summary>The longest sequence a context holds (encoder-decoder contexts are sized by max(source, target)).</summary>
        public int ContextSeq => Seq2Seq ? Math.Max(Prompt, Forced + 1) : Prompt + Forced;
    }

    /// <summary>Random prompt (source) and target ids, never a special id (EOS, pad, BOS, decoder start) nor the
    /// last id; an encoder-decoder target starts with the decoder start token.</summary>
    static (int[] Prompt, int[] Target) Ids(Loading.ModelConfig config, Layout cell, int seed)
    {
        var rng = new Random(seed);
        var special = BenchShapes.SpecialIds(config);
        int Draw()
        {
            int id;
            do id = rng.Next(config.VocabSize - 1); while (special.Contains(id));
            return id;
        }
        if (cell.Seq2Seq)
        {
            var source = Enumerable.Range(0, cell.Prompt).Select(_ => Draw()).ToArray();
            return (source, [config.DecoderStartTokenId ?? 0, .. Enumerable.Range(0, cell.Forced).Select(_ => Draw())]);
        }
        var target = Enumerable.Range(0, cell.Prompt + cell.Forced).Select(_ => Draw()).ToArray();
        return (target[..cell.Prompt], target);
    }

    enum Kind { Gradient, Scores, Attention }

    static Kind KindOf(string method) => method switch
    {
        "occlusion" => Kind.Scores,
        "attention" => Kind.Attention,
        _ => Kind.Gradient,
    };

    /// <summary>Input rows the method hands the runner: IG's interpolation points, occlusion's occluded copies.</summary>
    static int Rows(string method, int prompt, int forced, int igSteps) => method switch
    {
        "integrated_gradients" or "layer_integrated_gradients" => igSteps,
        "gradient_shap" => 5,
        "occlusion" => prompt + forced + 1,
        _ => 1,
    };

    /// <summary>
    /// Work in token-passes (a forward over n tokens: n; a backward over a prefix of n tokens: 2n) of attributing
    /// <paramref name="steps"/> steps of a <paramref name="length"/>-token sequence, the first step's prefix being
    /// <paramref name="firstPrefix"/> tokens (step k's prefix: firstPrefix + k): the unit the skip estimate scales by.
    /// Fused: one forward of the whole sequence per input row plus one cotangent backward per step over its prefix;
    /// stepwise: a forward and a backward over each step's prefix per row. Attention and occlusion have no backward.
    /// It leaves out that batched work runs more efficiently, so estimates scaled up from one step err high.
    /// </summary>
    static double Work(string method, AttributionStrategy strategy, int length, int firstPrefix, int steps, int igSteps)
    {
        double t = length, prefixes = (double)steps * firstPrefix + steps * (steps - 1) / 2.0;
        double rows = method == "occlusion" ? firstPrefix + steps : Rows(method, 0, 0, igSteps); // occluded copies: every visible position + the original
        var fused = strategy != AttributionStrategy.Stepwise;
        return t + KindOf(method) switch // + the engine's one forward for the step scores' logits rows
        {
            Kind.Gradient => fused ? rows * (t + 2 * prefixes) : rows * 3 * prefixes,
            Kind.Scores => fused ? rows * t : rows * prefixes,
            _ => fused ? t : prefixes,
        };
    }

    /// <summary>Scales the same method and strategy's time at an earlier length (measured, or estimated where that
    /// cell was skipped) by the work ratio.</summary>
    static double? Estimate(IReadOnlyList<Result> done, string method, AttributionStrategy strategy, Layout cell,
        int igSteps, out string basis)
    {
        basis = "";
        var prior = done.LastOrDefault(r => r.Method == method && r.Strategy == strategy && (r.Seconds ?? r.Estimated) is not null);
        if (prior is null) return null;
        basis = prior.Seconds is null ? $"the {prior.Prompt}+{prior.Forced} cell's estimate" : $"the {prior.Prompt}+{prior.Forced} cell";
        var before = cell with { Prompt = prior.Prompt, Forced = prior.Forced };
        return (prior.Seconds ?? prior.Estimated) * Work(method, strategy, cell.Length, cell.Offset + cell.Start, cell.Forced, igSteps) /
               Work(method, strategy, before.Length, before.Offset + before.Start, before.Forced, igSteps);
    }

    /// <summary>
    /// The largest activation arena the engine allocates for the cell, through the native size query
    /// <see cref="TransformerModel.ContextMemoryBytes"/>, for the chunk sizes the engine reports in
    /// info["timings"] (row_chunk, cotangent_rows) or, where it does not, its rule (8 rows per forward, up to 512
    /// cotangent rows, halved until the 2 GiB default budget fits), and the contexts its runners create: a computed
    /// size, not a measurement (the peak RSS column is the measurement).
    /// </summary>
    static long ArenaBytes(TransformerModel model, string method, AttributionStrategy strategy, Layout cell, int igSteps,
        (int Rows, int Cotangents)? engineChunks = null)
    {
        int t = cell.ContextSeq, k = cell.Forced, prompt = cell.Prompt, forced = cell.Forced;
        var (rows, cot) = engineChunks ?? (8, Math.Min(Math.Max(8, 8 * Math.Max(1, k)), 512));
        var budget = new AttributeOptions().MemoryBudgetBytes;
        while (engineChunks is null && (rows > 1 || cot > rows) && model.ContextMemoryBytes(rows, t, cot) > budget)
        {
            if (cot > rows) cot = Math.Max(rows, cot / 2);
            else rows /= 2;
        }
        var rc = Math.Min(rows, Rows(method, prompt, forced, igSteps));
        var logitsRows = model.ContextMemoryBytes(1, t, 0); // the step scores' forward
        var runner = KindOf(method) switch
        {
            Kind.Scores => model.ContextMemoryBytes(rc, t, 0),
            Kind.Attention => model.ContextMemoryBytes(1, t, 0, keepAttention: true),
            _ when strategy == AttributionStrategy.Stepwise => model.ContextMemoryBytes(rc, t, rc),
            _ => model.ContextMemoryBytes(rc, t, Math.Max(rc, Math.Min(cot, rc * k))),
        };
        return Math.Max(logitsRows, runner);
    }
}
