using InseqNative.Generation;
using InseqNative.Interop;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Native;

/// <summary>
/// Device sampling (op sample_tokens, inq_sample_next) on the CPU against the managed reference
/// <see cref="TokenSampler"/>: ids and log-probabilities equal bit for bit on random rows (greedy, temperature,
/// top-k, top-p, their combinations, bans, forced ids, ties); the export equals the reference on the logits the same
/// forward / prefill / cache step downloads; generation through it equals the old download-and-pick loop; argument
/// errors come back typed.
/// </summary>
public unsafe class NativeSamplingTests
{
    /// <summary>Random logits in ±scale, never exactly zero; with <paramref name="ties"/> rounded to a few values so
    /// equal logits (and equal scaled values) are common.</summary>
    internal static float[] Logits(int n, int seed, float scale, bool ties)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (var i = 0; i < n; i++)
        {
            var v = (float)((rng.NextDouble() * 2 - 1) * scale);
            if (ties) v = MathF.Round(v * 2) / 2 + 0.25f;
            a[i] = v == 0f ? 0.125f : v;
        }
        return a;
    }

    internal static double[] Uniforms(int n, int seed)
    {
        var rng = new Random(seed);
        var u = Enumerable.Range(0, n).Select(_ => rng.NextDouble()).ToArray();
        if (n > 1) u[0] = 0.0;
        if (n > 2) u[1] = Math.BitDecrement(1.0);
        return u;
    }

    /// <summary>What TokenSampler picks on each row with the same bans, forced ids and uniforms.</summary>
    internal static (int[] Ids, float[] LogProbs) Reference(float[] logits, int v, SamplingSettings s, double[]? u,
        int[]? forced, int[]? banOffsets, int[]? banIds)
    {
        var n = logits.Length / v;
        var ids = new int[n];
        var lps = new float[n];
        for (var r = 0; r < n; r++)
        {
            var row = logits.AsSpan(r * v, v).ToArray();
            if (banOffsets is not null)
                for (var j = banOffsets[r]; j < banOffsets[r + 1]; j++) row[banIds![j]] = float.NegativeInfinity;
            var f = forced?[r] ?? -1;
            ids[r] = f >= 0 ? f : s.DoSample ? TokenSampler.Pick(row, s, u![r]) : TokenSampler.ArgMax(row);
            lps[r] = TokenSampler.LogProbability(row, ids[r]);
        }
        return (ids, lps);
    }

    internal static (int[] Ids, float[] LogProbs) RunOp(float[] logits, int v, SamplingSettings s, double[]? u,
        int[]? forced, int[]? banOffsets, int[]? banIds, int device = NativeMethods.DeviceCpu)
    {
        var n = logits.Length / v;
        var ids = new float[n];
        var lps = new float[n];
        var copy = (float[])logits.Clone();
        NativeOps.Run("sample_tokens", [n, v, s.DoSample ? 1 : 0, s.TopK], [copy, u, forced, banOffsets, banIds],
            [ids, lps], [s.Temperature, s.TopP], device);
        Assert.Equal(logits, copy); // the op works on its own copy
        return (ids.Select(BitConverter.SingleToInt32Bits).ToArray(), lps);
    }

    public static TheoryData<bool, float, int, float> Settings() => new()
    {
        { false, 1f, 0, 1f },
        { true, 1f, 0, 1f },
        { true, 0.7f, 0, 1f },
        { true, 1.3f, 0, 1f },
        { true, 1f, 1, 1f },
        { true, 1f, 5, 1f },
        { true, 1f, 0, 0.9f },
        { true, 1f, 0, 0.3f },
        { true, 1f, 0, 0.01f },
        { true, 0.6f, 20, 0.8f },
        { true, 2f, 3, 0.5f },
        { true, 1f, 100000, 0.95f }, // top_k beyond the vocabulary: all
    };

    [Theory]
    [MemberData(nameof(Settings))]
    public void Op_equals_the_managed_sampler_bit_for_bit(bool sample, float temperature, int topK, float topP)
    {
        var s = new SamplingSettings(sample, temperature, topK, topP);
        foreach (var (v, ties, seed) in new[] { (37, false, 1), (37, true, 2), (1000, false, 3), (5003, true, 4), (5003, false, 5) })
        {
            const int n = 6;
            var logits = Logits(n * v, seed, 4f, ties);
            var u = Uniforms(n, seed + 100);
            int[] offsets = [0, 0, 3, 3, 5, 5, 6];
            int[] bans = [ReferenceArgMax(logits, v, 1), 0, v - 1, 2, 2, ReferenceArgMax(logits, v, 5)];
            int[] forced = [-1, -1, -1, 7 % v, -1, -1];
            foreach (var (f, o, b) in new[] { (null, null, null), (forced, offsets, bans) })
            {
                var expected = Reference(logits, v, s, u, f, o, b);
                var actual = RunOp(logits, v, s, u, f, o, b);
                Assert.Equal(expected.Ids, actual.Ids);
                Assert.Equal(expected.LogProbs, actual.LogProbs);
            }
        }
    }

    static int ReferenceArgMax(float[] logits, int v, int row) => TokenSampler.ArgMax(logits.AsSpan(row * v, v));

    [Fact]
    public void Op_draws_cover_the_kept_set_as_the_reference()
    {
        // Many uniforms on one row: every kept id is drawn somewhere, and the choice matches at each.
        const int v = 50, n = 400;
        var row = Logits(v, 7, 2f, true);
        var logits = Enumerable.Range(0, n).SelectMany(_ => row).ToArray();
        var u = Enumerable.Range(0, n).Select(i => (i + 0.5) / n).ToArray();
        foreach (var s in new[] { new SamplingSettings(true, 1f, 0, 0.7f), new SamplingSettings(true, 0.5f, 8, 1f) })
        {
            var expected = Reference(logits, v, s, u, null, null, null);
            var actual = RunOp(logits, v, s, u, null, null, null);
            Assert.Equal(expected.Ids, actual.Ids);
            Assert.True(actual.Ids.Distinct().Count() > 2);
        }
    }

    [Fact]
    public void Op_handles_degenerate_rows_as_the_reference()
    {
        const int v = 9;
        var inf = float.NegativeInfinity;
        float[] logits =
        [
            inf, inf, inf, inf, inf, inf, inf, inf, inf, // all -inf
            1, 1, 1, 1, 1, 1, 1, 1, 1,                    // all equal
            -0f, 0f, -0f, 0f, -1, -2, -3, -4, -5,         // signed zeros tie
            inf, 3, inf, 3, 2, inf, 1, 0.5f, 3,           // ties after -inf
        ];
        var n = logits.Length / v;
        var u = Uniforms(n, 3);
        foreach (var s in new[] { SamplingSettings.Greedy, new SamplingSettings(true, 1f, 0, 1f),
                     new SamplingSettings(true, 0.3f, 2, 0.5f), new SamplingSettings(true, 1f, 4, 1f) })
        {
            var expected = Reference(logits, v, s, u, null, null, null);
            var actual = RunOp(logits, v, s, u, null, null, null);
            Assert.Equal(expected.Ids, actual.Ids);
            Assert.Equal(expected.LogProbs, actual.LogProbs);
        }
    }

    [Fact]
    public void Op_rejects_bad_arguments_with_typed_statuses()
    {
        const int v = 10;
        var logits = Logits(2 * v, 1, 1f, false);
        double[] u = [0.5, 0.25];
        void Expect(NativeStatus status, string fragment, Action call)
        {
            var e = Assert.ThrowsAny<NativeException>(call);
            Assert.Equal(status, e.Status);
            Assert.Contains(fragment, e.Message);
        }
        Expect(NativeStatus.InvalidArgument, "temperature",
            () => RunOpRaw(logits, v, 1, 0, [0f, 1f], u, null, null, null));
        Expect(NativeStatus.InvalidArgument, "top_p",
            () => RunOpRaw(logits, v, 1, 0, [1f, 1.5f], u, null, null, null));
        Expect(NativeStatus.InvalidArgument, "top_p",
            () => RunOpRaw(logits, v, 0, 0, [1f, 0f], u, null, null, null));
        Expect(NativeStatus.NullPointer, "uniforms", () => RunOpRaw(logits, v, 1, 0, [1f, 1f], null, null, null, null));
        Expect(NativeStatus.InvalidArgument, "uniforms[1]",
            () => RunOpRaw(logits, v, 1, 0, [1f, 1f], [0.5, 1.0], null, null, null));
        Expect(NativeStatus.InvalidArgument, "forced_ids[0]",
            () => RunOpRaw(logits, v, 0, 0, [1f, 1f], null, [v, -1], null, null));
        Expect(NativeStatus.InvalidArgument, "banned_ids[1]",
            () => RunOpRaw(logits, v, 0, 0, [1f, 1f], null, null, [0, 1, 2], [3, -1]));
        Expect(NativeStatus.InvalidArgument, "banned_offsets",
            () => RunOpRaw(logits, v, 0, 0, [1f, 1f], null, null, [0, 2, 1], [3, 4]));
        Expect(NativeStatus.NullPointer, "banned_ids",
            () => RunOpRaw(logits, v, 0, 0, [1f, 1f], null, null, [0, 1, 1], null));
        // Greedy rows need no uniforms, and forced rows consume none.
        RunOpRaw(logits, v, 0, 0, [1f, 1f], null, null, null, null);
        RunOpRaw(logits, v, 1, 0, [1f, 1f], null, [1, 2], null, null);
    }

    static void RunOpRaw(float[] logits, int v, int sample, int topK, float[] scalars, double[]? u, int[]? forced,
        int[]? offsets, int[]? bans) =>
        NativeOps.Run("sample_tokens", [logits.Length / v, v, sample, topK], [logits, u, forced, offsets, bans],
            [new float[logits.Length / v], new float[logits.Length / v]], scalars);

    // ---------------------------------------------------------------- the export on a model's context

    public static TheoryData<string> Models() => new() { "tiny-gpt2", "tiny-llama", "tiny-marian", "tiny-m2m100", "tiny-t5" };

    static readonly SamplingSettings[] ExportSettings =
    [
        SamplingSettings.Greedy, new(true, 1f, 0, 1f), new(true, 0.8f, 10, 0.9f), new(true, 1.5f, 0, 0.5f),
    ];

    /// <summary>Samples every setting from the context's current rows and compares with the reference on
    /// <paramref name="logits"/> [rows, V] (what the same call downloaded).</summary>
    internal static void AssertSamplesMatch(InferenceContext ctx, float[] logits, int v, int seed, string what)
    {
        var n = logits.Length / v;
        var u = Uniforms(n, seed);
        var forced = Enumerable.Range(0, n).Select(b => b == 1 ? 3 : -1).ToArray();
        var banRows = Enumerable.Range(0, n)
            .Select(b => b == 0 ? (IReadOnlyList<int>?)[TokenSampler.ArgMax(logits.AsSpan(0, v)), 1, 1] : null).ToArray();
        var offsets = new int[n + 1];
        for (var b = 0; b < n; b++) offsets[b + 1] = offsets[b] + (banRows[b]?.Count ?? 0);
        var bans = banRows.Where(r => r is not null).SelectMany(r => r!).ToArray();
        foreach (var s in ExportSettings)
        {
            var expected = Reference(logits, v, s, u, forced, offsets, bans);
            var (ids, lps) = ctx.SampleNext(s, u, forced, banRows);
            Assert.True(expected.Ids.SequenceEqual(ids), $"{what}: ids {string.Join(",", ids)} != {string.Join(",", expected.Ids)}");
            Assert.Equal(expected.LogProbs, lps);
            var plain = ctx.SampleNext(s, u); // no bans, nothing forced
            Assert.Equal(Reference(logits, v, s, u, null, null, null).Ids, plain.Ids);
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Export_equals_the_reference_on_downloaded_logits(string name)
    {
        using var model = TransformerModel.Load(FixturePaths.Models(name), Device.Cpu);
        int v = model.Config.VocabSize;
        var prompts = new[] { new[] { 5, 9, 13, 2 }, new[] { 7, 1 }, new[] { 4, 4, 8 } };
        using var ctx = model.CreateContext(3, 10);
        Assert.Throws<InvalidOperationException>(() => ctx.SampleNext(SamplingSettings.Greedy)); // nothing yet
        int[] next = [11, 12, 13];
        if (model.Config.IsEncoderDecoder)
        {
            var src = prompts.SelectMany(p => p.Concat(Enumerable.Repeat(1, 4 - p.Length))).ToArray();
            var mask = prompts.SelectMany(p => Enumerable.Range(0, 4).Select(j => j < p.Length ? 1 : 0)).ToArray();
            var first = ctx.Seq2SeqForward(3, src, mask, [0, 0, 0], null, LogitsMode.All, fillCache: true)!;
            AssertSamplesMatch(ctx, first.Data, v, 1, $"{name} forward");
            for (var step = 0; step < 3; step++)
            {
                var logits = ctx.Seq2SeqCacheStep(next)!;
                AssertSamplesMatch(ctx, logits.Data, v, 2 + step, $"{name} step {step}");
            }
        }
        else
        {
            var batch = TokenBatch.LeftPadded(prompts.Select(p => (IReadOnlyList<int>)p).ToList(), 0);
            var forward = ctx.Forward(batch, LogitsMode.Last)!;
            AssertSamplesMatch(ctx, forward.Data, v, 1, $"{name} forward");
            var prefill = ctx.CachePrefill(batch, LogitsMode.Last)!;
            Assert.Equal(forward.Data, prefill.Data);
            AssertSamplesMatch(ctx, prefill.Data, v, 2, $"{name} prefill");
            for (var step = 0; step < 3; step++)
            {
                var logits = ctx.CacheStep(next, LogitsMode.Last)!;
                AssertSamplesMatch(ctx, logits.Data, v, 3 + step, $"{name} step {step}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Export_without_downloaded_logits_picks_the_same(string name)
    {
        using var model = TransformerModel.Load(FixturePaths.Models(name), Device.Cpu);
        using var a = model.CreateContext(2, 8);
        using var b = model.CreateContext(2, 8);
        var s = new SamplingSettings(true, 0.9f, 0, 0.95f);
        int[] src = [5, 9, 13, 2, 7, 1, 4, 4];
        int[] next = [11, 12];
        if (model.Config.IsEncoderDecoder)
        {
            a.Seq2SeqForward(2, src, null, [0, 0], null, LogitsMode.All, fillCache: true);
            b.Seq2SeqForward(2, src, null, [0, 0], null, LogitsMode.None, fillCache: true);
        }
        else
        {
            var batch = TokenBatch.LeftPadded([src[..4], src[4..]], 0);
            a.CachePrefill(batch, LogitsMode.Last);
            b.CachePrefill(batch, LogitsMode.None);
        }
        for (var step = 0; step < 4; step++)
        {
            var u = Uniforms(2, step);
            var x = a.SampleNext(s, u);
            var y = b.SampleNext(s, u);
            Assert.Equal(x.Ids, y.Ids);
            Assert.Equal(x.LogProbs, y.LogProbs);
            Assert.Equal(x.Ids, b.SampleNext(s, u).Ids); // sampling does not consume the rows
            if (model.Config.IsEncoderDecoder)
            {
                a.Seq2SeqCacheStep(next, LogitsMode.Last);
                b.Seq2SeqCacheStep(next, LogitsMode.None);
            }
            else
            {
                a.CacheStep(next, LogitsMode.Last);
                b.CacheStep(next, LogitsMode.None);
            }
        }
    }

    [Fact]
    public void Export_rejects_bad_arguments_with_typed_statuses()
    {
        using var model = TransformerModel.Load(FixturePaths.Models("tiny-gpt2"), Device.Cpu);
        using var ctx = model.CreateContext(2, 6);
        int v = model.Config.VocabSize;
        var args = new NativeSampling(true, 1f, 0, 1f);
        double[] u = [0.1, 0.2];
        var ids = new int[2];
        var lps = new float[2];
        NativeStatus Call(NativeSampling a, double[]? uu = null, int[]? forced = null, int[]? offsets = null,
            int[]? bans = null, bool nullArgs = false, bool nullIds = false)
        {
            fixed (double* pu = uu)
            fixed (int* pf = forced)
            fixed (int* po = offsets)
            fixed (int* pb = bans)
            fixed (int* pi = ids)
            fixed (float* pl = lps)
                return (NativeStatus)NativeMethods.SampleNext(ctx.Handle, nullArgs ? null : &a, pu, pf, po, pb,
                    nullIds ? null : pi, pl);
        }
        Assert.Equal(NativeStatus.State, Call(args, u));
        Assert.Contains("nothing to sample from", NativeMethods.LastErrorMessage());
        ctx.CachePrefill(TokenBatch.LeftPadded([[1, 2, 3], [4, 5]], 0), LogitsMode.None);
        Assert.Equal(NativeStatus.Ok, Call(args, u));
        Assert.Equal(NativeStatus.NullPointer, Call(args, u, nullArgs: true));
        Assert.Equal(NativeStatus.NullPointer, Call(args, u, nullIds: true));
        Assert.Equal(NativeStatus.NullPointer, Call(args));
        Assert.Contains("uniforms", NativeMethods.LastErrorMessage());
        var bad = args; bad.StructSize = 16;
        Assert.Equal(NativeStatus.InvalidArgument, Call(bad, u));
        Assert.Contains("struct_size", NativeMethods.LastErrorMessage());
        bad = args; bad.DoSample = 2;
        Assert.Equal(NativeStatus.InvalidArgument, Call(bad, u));
        bad = args; bad.Temperature = 0;
        Assert.Equal(NativeStatus.InvalidArgument, Call(bad, u));
        Assert.Contains("temperature", NativeMethods.LastErrorMessage());
        bad = args; bad.Temperature = float.PositiveInfinity;
        Assert.Equal(NativeStatus.InvalidArgument, Call(bad, u));
        bad = args; bad.TopK = -1;
        Assert.Equal(NativeStatus.InvalidArgument, Call(bad, u));
        Assert.Contains("top_k", NativeMethods.LastErrorMessage());
        bad = args; bad.TopP = 0;
        Assert.Equal(NativeStatus.InvalidArgument, Call(bad, u));
        bad = args; bad.TopP = float.NaN;
        Assert.Equal(NativeStatus.InvalidArgument, Call(bad, u));
        Assert.Contains("top_p", NativeMethods.LastErrorMessage());
        Assert.Equal(NativeStatus.InvalidArgument, Call(args, [0.5, -0.1]));
        Assert.Equal(NativeStatus.InvalidArgument, Call(args, u, forced: [v, -1]));
        Assert.Contains("forced_ids[0]", NativeMethods.LastErrorMessage());
        Assert.Equal(NativeStatus.InvalidArgument, Call(args, u, forced: [-2, -1]));
        Assert.Equal(NativeStatus.InvalidArgument, Call(args, u, offsets: [0, 1, 2], bans: [3, v]));
        Assert.Contains("banned_ids[1]", NativeMethods.LastErrorMessage());
        Assert.Equal(NativeStatus.InvalidArgument, Call(args, u, offsets: [1, 1, 2], bans: [3, 4]));
        Assert.Equal(NativeStatus.NullPointer, Call(args, u, offsets: [0, 1, 2]));
        // Greedy needs no uniforms; temperature is not read.
        var greedy = new NativeSampling(false, 0f, 0, 1f);
        Assert.Equal(NativeStatus.Ok, Call(greedy));
        Assert.Equal(NativeStatus.Ok, Call(args, forced: [1, 2])); // forced rows draw nothing
        // The managed wrapper checks what it can before the call.
        Assert.Throws<InvalidInputException>(() => new SamplingSettings(true, 0f, 0, 1f));
        Assert.Throws<InvalidInputException>(() => new SamplingSettings(false, 1f, -1, 1f));
        Assert.Throws<InvalidInputException>(() => new SamplingSettings(false, 1f, 0, 1.5f));
        Assert.Throws<InvalidInputException>(() => ctx.SampleNext(SamplingSettings.Greedy, forcedIds: [1]));
        Assert.Throws<InvalidInputException>(() => ctx.SampleNext(SamplingSettings.Greedy, bannedIds: [[1]]));
        Assert.Throws<NativeArgumentException>(() => ctx.SampleNext(SamplingSettings.Greedy, bannedIds: [[v], null]));
    }

    // ---------------------------------------------------------------- generation through the export

    public static TheoryData<string, bool, int> GenerationCases() => new()
    {
        { "tiny-gpt2", false, 0 }, { "tiny-gpt2", true, 1 }, { "tiny-gpt2-bpe", true, 2 }, { "tiny-llama", true, 3 },
        { "tiny-marian", false, 0 }, { "tiny-marian", true, 4 }, { "tiny-m2m100", true, 5 }, { "tiny-t5", true, 6 },
    };

    [Theory]
    [MemberData(nameof(GenerationCases))]
    public void Generation_equals_picking_from_downloaded_logits(string name, bool sample, int seed)
    {
        using var model = TransformerModel.Load(FixturePaths.Models(name), Device.Cpu);
        var v = model.Config.VocabSize;
        var prompts = new[] { new[] { 5, 9, 13, 2 }, new[] { 7, 1 }, new[] { 4, 4, 8 } }
            .Select(p => p.Select(x => x % v).ToArray()).ToArray();
        var options = new GenerationOptions
        {
            MaxNewTokens = 8, DoSample = sample, Temperature = 0.9f, TopK = sample ? 20 : 0, TopP = 0.9f, Seed = seed,
        };
        var actual = model.Generate(prompts, options);
        var expected = model.Config.IsEncoderDecoder
            ? ReferenceSeq2Seq(model, prompts, options)
            : ReferenceDecoder(model, prompts, options);
        for (var b = 0; b < prompts.Length; b++)
        {
            Assert.Equal(expected[b].Ids, actual[b].GeneratedIds);
            Assert.Equal(expected[b].LogProbs, actual[b].TokenLogProbs);
            Assert.Equal(expected[b].Eos, actual[b].StoppedAtEos);
        }
    }

    // The generation loops as they were before device sampling: download each step's logits, pick with TokenSampler.
    static List<(int[] Ids, float[] LogProbs, bool Eos)> ReferenceDecoder(TransformerModel model, int[][] prompts,
        GenerationOptions o)
    {
        var eos = model.EosTokenIds;
        var batch = TokenBatch.LeftPadded(prompts.Select(p => (IReadOnlyList<int>)p).ToList(), model.PadTokenIdForGeneration);
        var sampler = new TokenSampler(o.DoSample!.Value, o.Temperature!.Value, o.TopK!.Value, o.TopP!.Value, o.Seed);
        var rows = prompts.Length;
        var gen = Enumerable.Range(0, rows).Select(_ => (Ids: new List<int>(), Lps: new List<float>())).ToArray();
        var done = new bool[rows];
        using var ctx = model.CreateContext(rows, batch.Length + o.MaxNewTokens!.Value);
        var logits = ctx.CachePrefill(batch);
        var next = new int[rows];
        for (var step = 0; step < o.MaxNewTokens; step++)
        {
            for (var b = 0; b < rows; b++)
            {
                if (done[b]) { next[b] = eos.Count > 0 ? eos[0] : model.PadTokenIdForGeneration; continue; }
                var row = logits.Slice(b);
                var id = sampler.Next(row);
                next[b] = id;
                gen[b].Ids.Add(id);
                gen[b].Lps.Add(TokenSampler.LogProbability(row, id));
                if (eos.Contains(id)) done[b] = true;
            }
            if (done.All(d => d) || step == o.MaxNewTokens - 1) break;
            logits = ctx.CacheStep(next);
        }
        return gen.Select((g, b) => (g.Ids.ToArray(), g.Lps.ToArray(), done[b])).ToList();
    }

    static List<(int[] Ids, float[] LogProbs, bool Eos)> ReferenceSeq2Seq(TransformerModel model, int[][] sources,
        GenerationOptions o)
    {
        var g = model.GenerationConfig;
        var eos = model.EosTokenIds;
        var start = g.DecoderStartTokenId ?? model.Config.DecoderStartTokenId!.Value;
        var forcedBos = g.ForcedBosTokenId ?? (model.Tokenizer as InseqNative.Tokenization.Seq2SeqTokenizer)?.ForcedBosTokenId;
        var maxNew = o.MaxNewTokens!.Value;
        var maxLength = 1 + maxNew;
        var sampler = new TokenSampler(o.DoSample!.Value, o.Temperature!.Value, o.TopK!.Value, o.TopP!.Value, o.Seed);
        int rows = sources.Length, s = sources.Max(x => x.Length), v = model.Config.VocabSize;
        var pad = model.Config.PadTokenId ?? start;
        var ids = new int[rows * s];
        var mask = new int[rows * s];
        for (var b = 0; b < rows; b++)
            for (var j = 0; j < s; j++)
            {
                ids[b * s + j] = j < sources[b].Length ? sources[b][j] : pad;
                mask[b * s + j] = j < sources[b].Length ? 1 : 0;
            }
        var seqs = Enumerable.Range(0, rows).Select(_ => new List<int> { start }).ToArray();
        var lps = Enumerable.Range(0, rows).Select(_ => new List<float>()).ToArray();
        var done = new bool[rows];
        using var ctx = model.CreateContext(rows, Math.Max(s, maxLength));
        var logits = ctx.Seq2SeqForward(rows, ids, mask, Enumerable.Repeat(start, rows).ToArray(), null, fillCache: true)!;
        var next = new int[rows];
        var row = new float[v];
        for (var step = 0; step < maxNew; step++)
        {
            for (var b = 0; b < rows; b++)
            {
                if (done[b]) { next[b] = eos.Count > 0 ? eos[0] : pad; continue; }
                logits.Data.AsSpan(b * v, v).CopyTo(row);
                var seq = seqs[b];
                foreach (var bad in g.BadWordsIds)
                {
                    if (bad.Count == 0 || bad.Count - 1 > seq.Count || (uint)bad[^1] >= (uint)v) continue;
                    var match = true;
                    for (var i = 0; i < bad.Count - 1 && match; i++) match = seq[seq.Count - (bad.Count - 1) + i] == bad[i];
                    if (match) row[bad[^1]] = float.NegativeInfinity;
                }
                int? forced = seq.Count == 1 && forcedBos is int bos ? bos
                    : seq.Count == maxLength - 1 && g.ForcedEosTokenId is int e ? e : null;
                var id = forced ?? sampler.Next(row);
                next[b] = id;
                seq.Add(id);
                lps[b].Add(TokenSampler.LogProbability(row, id));
                if (eos.Contains(id)) done[b] = true;
            }
            if (done.All(d => d) || step == maxNew - 1) break;
            logits = ctx.Seq2SeqCacheStep(next);
        }
        return seqs.Select((q, b) => (q.Skip(1).ToArray(), lps[b].ToArray(), done[b])).ToList();
    }
}
