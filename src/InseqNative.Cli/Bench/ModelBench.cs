using System.Diagnostics;
using InseqNative.Interop;

namespace InseqNative.Bench;

/// <summary>
/// Forward and input-gradient throughput on one shape, side by side in one run:
///  - forward: logits at every position, tokens/s;
///  - stepwise gradients: Inseq's algorithm — for every target position p, a forward over the prefix 0..p and one
///    backward from position p (what one generated token's attribution costs in Python);
///  - fused gradients: one forward over the whole sequence, then all positions' backwards as one batch of cotangents
///    (DESIGN §5.2);
/// each reported as attributed tokens/s (encoder-decoders: the same three on a source and a decoder input of --seq
/// tokens each, gradients to both embeddings). Plus the backend GEMM's GFLOP/s on a square product.
/// </summary>
public static class ModelBench
{
    /// <summary>The model-pass table at the current native thread count.</summary>
    public static void Run(BenchSettings s, TransformerModel model, TextWriter output)
    {
        if (s.Sequence < 2) throw new InvalidInputException("--seq must be at least 2");
        if (s.Batch < 1 || s.Repeats < 1) throw new InvalidInputException("--batch and --repeats must be at least 1");
        var config = model.Config;
        NativeCheck.Ok(NativeMethods.GetNumThreads(out var threads), "inq_get_num_threads");
        output.WriteLine($"## Model passes — {threads} thread{(threads == 1 ? "" : "s")}, batch {s.Batch} × {s.Sequence} {(config.IsEncoderDecoder ? $"source + {s.Sequence} target tokens" : "tokens")}, median of {s.Repeats}");
        output.WriteLine();

        var (table, arenaBytes) = config.IsEncoderDecoder ? Seq2SeqPasses(s, model) : DecoderPasses(s, model);
        var fused = table[1].Seconds;
        var stepwise = table[2].Seconds;

        output.WriteLine($"| pass | wall (ms) | throughput |");
        output.WriteLine($"| --- | ---: | ---: |");
        foreach (var (what, seconds, tokens, unit) in table)
            output.WriteLine($"| {what} | {seconds * 1e3:0.0} | {tokens / seconds:0.0} {unit} |");
        output.WriteLine($"| fused vs stepwise | | {stepwise / fused:0.00}× |");
        output.WriteLine();
        if (ModelFlops.FusedPass(config, s.Batch, s.Sequence) is { } flops && ModelFlops.Forward(config, s.Batch, s.Sequence) is { } fwdFlops)
        {
            var peak = PeakLine(model);
            output.WriteLine($"achieved (analytic FLOPs: GEMMs + attention matmuls): forward {fwdFlops / table[0].Seconds / 1e12:0.000} TFLOP/s, " +
                             $"fused pass {flops / 1e12:0.000} TFLOP in {fused * 1e3:0.0} ms = {flops / fused / 1e12:0.000} TFLOP/s" +
                             (peak is { } p ? $" = {100 * flops / fused / 1e12 / p.Tflops:0.0}% of {p.What}" : ""));
            output.WriteLine();
        }
        output.WriteLine($"context arena {arenaBytes / 1e6:0.0} MB, weights {model.WeightBytes / 1e6:0.0} MB, " +
                         $"process peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:0} MB (process lifetime)");
        if (s.GemmSize > 0) output.WriteLine(GemmBench.Run(s.GemmSize, model.Device, model.Precision, s.Repeats));
        output.WriteLine();
    }

    /// <summary>One row of the table: what ran, its median wall seconds, the tokens it processed and their unit.</summary>
    record struct Row(string What, double Seconds, double Tokens, string Unit);

    /// <summary>Decoder-only passes: forward, fused and stepwise input gradients over one left-padded batch.</summary>
    static (List<Row> Table, long ArenaBytes) DecoderPasses(BenchSettings s, TransformerModel model)
    {
        var config = model.Config;
        var rng = new Random(7);
        var ids = Enumerable.Range(0, s.Batch)
            .Select(_ => Enumerable.Range(0, s.Sequence).Select(_ => rng.Next(config.VocabSize)).ToArray()).ToArray();
        var batch = TokenBatch.LeftPadded(ids.Select(a => (IReadOnlyList<int>)a).ToList(), 0);
        var k = s.Sequence - 1; // every position that predicts a next token inside the sequence
        using var ctx = model.CreateContext(s.Batch, s.Sequence, s.Batch * Math.Min(k, 64));
        var table = new List<Row>();

        var fwd = Median(s.Repeats, () => ctx.Forward(batch, LogitsMode.All));
        table.Add(new Row("forward (logits at every position)", fwd, s.Batch * s.Sequence, "tokens/s"));

        // Fused: one forward kept for backward + K cotangents per row from it.
        var positions = new int[s.Batch * k];
        var dlogits = Tensor.Zeros(s.Batch, k, config.VocabSize);
        for (var b = 0; b < s.Batch; b++)
            for (var j = 0; j < k; j++)
            {
                positions[b * k + j] = j;
                dlogits.Slice(b, j)[ids[b][j + 1]] = 1f;
            }
        var fused = Median(s.Repeats, () =>
        {
            ctx.Forward(batch, LogitsMode.All, keepForBackward: true);
            ctx.BackwardEmbeddings(positions, dlogits);
        });
        table.Add(new Row("input gradients, fused (1 forward + K cotangents)", fused, s.Batch * k, "attributed tokens/s"));

        // Stepwise: Inseq's algorithm, one prefix forward + one backward per attributed position.
        var stepwise = Median(Math.Min(s.Repeats, 2), () =>
        {
            for (var j = 0; j < k; j++)
            {
                var prefix = TokenBatch.LeftPadded(ids.Select(a => (IReadOnlyList<int>)a[..(j + 1)]).ToList(), 0);
                ctx.Forward(prefix, LogitsMode.All, keepForBackward: true);
                var pos = Enumerable.Repeat(j, s.Batch).ToArray();
                var dl = Tensor.Zeros(s.Batch, 1, config.VocabSize);
                for (var b = 0; b < s.Batch; b++) dl.Slice(b, 0)[ids[b][j + 1]] = 1f;
                ctx.BackwardEmbeddings(pos, dl);
            }
        });
        table.Add(new Row("input gradients, stepwise (prefix forward + backward per token)", stepwise, s.Batch * k, "attributed tokens/s"));

        return (table, ctx.ArenaBytes);
    }

    /// <summary>
    /// Encoder-decoder passes on a source of --seq ids and a decoder input of --seq ids (the decoder start token
    /// first): forward (encoder + the whole teacher-forced decoder); fused input gradients (that forward kept, then
    /// K = seq−1 cotangents — each target position's next-token logit — back to both embeddings); stepwise (per
    /// position, the encoder plus a decoder forward over the target prefix ending there, and one backward).
    /// </summary>
    static (List<Row> Table, long ArenaBytes) Seq2SeqPasses(BenchSettings s, TransformerModel model)
    {
        var config = model.Config;
        int n = s.Sequence, b = s.Batch, k = n - 1, v = config.VocabSize;
        var start = config.DecoderStartTokenId ?? 0;
        var rng = new Random(7);
        var special = BenchShapes.SpecialIds(config);
        int Draw()
        {
            int id;
            do id = rng.Next(v); while (special.Contains(id));
            return id;
        }
        var src = Enumerable.Range(0, b * n).Select(_ => Draw()).ToArray();
        var tgt = Enumerable.Range(0, b * n).Select(i => i % n == 0 ? start : Draw()).ToArray();
        using var ctx = model.CreateContext(b, n, b * Math.Min(k, 64));
        var table = new List<Row>();

        var fwd = Median(s.Repeats, () => ctx.Seq2SeqForward(b, src, null, tgt, null, LogitsMode.All));
        table.Add(new Row($"forward (encoder over {n} + teacher-forced decoder over {n} tokens)", fwd, b * 2 * n, "source+target tokens/s"));

        var positions = new int[b * k];
        var dlogits = Tensor.Zeros(b, k, v);
        for (var r = 0; r < b; r++)
            for (var j = 0; j < k; j++)
            {
                positions[r * k + j] = j;
                dlogits.Slice(r, j)[tgt[r * n + j + 1]] = 1f;
            }
        var fused = Median(s.Repeats, () =>
        {
            ctx.Seq2SeqForward(b, src, null, tgt, null, LogitsMode.All, keepForBackward: true);
            ctx.Seq2SeqBackward(positions, dlogits);
        });
        table.Add(new Row("input gradients, fused (1 forward + K cotangents to source and target)", fused, b * k, "attributed tokens/s"));

        var stepwise = Median(Math.Min(s.Repeats, 2), () =>
        {
            for (var j = 0; j < k; j++)
            {
                var prefix = Enumerable.Range(0, b).SelectMany(r => tgt[(r * n)..(r * n + j + 1)]).ToArray();
                ctx.Seq2SeqForward(b, src, null, prefix, null, LogitsMode.All, keepForBackward: true);
                var dl = Tensor.Zeros(b, 1, v);
                for (var r = 0; r < b; r++) dl.Slice(r, 0)[tgt[r * n + j + 1]] = 1f;
                ctx.Seq2SeqBackward(Enumerable.Repeat(j, b).ToArray(), dl);
            }
        });
        table.Add(new Row("input gradients, stepwise (source + target-prefix forward + backward per token)", stepwise, b * k, "attributed tokens/s"));
        return (table, ctx.ArenaBytes);
    }

    /// <summary>The nominal peak of the model's GEMM mode on its CUDA device (null on the CPU or an unknown GPU).</summary>
    public static (double Tflops, string What)? PeakLine(TransformerModel model)
    {
        if (model.Device.Kind != DeviceKind.Cuda) return null;
        var info = CudaDeviceInfo.Query(model.Device.Ordinal);
        return info.PeakTflops(model.Precision) is { } peak
            ? (peak, $"the {info.Architecture} nominal {model.Precision.Id()} peak {peak:0.0} TFLOP/s")
            : null;
    }

    static double Median(int repeats, Action action)
    {
        action(); // warm-up: page in weights, first-touch the arena
        var times = new double[repeats];
        for (var i = 0; i < repeats; i++)
        {
            var sw = Stopwatch.StartNew();
            action();
            times[i] = sw.Elapsed.TotalSeconds;
        }
        Array.Sort(times);
        return times[repeats / 2];
    }
}
