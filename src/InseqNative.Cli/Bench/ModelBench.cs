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
/// each reported as attributed tokens/s. Plus the backend GEMM's GFLOP/s on a square product.
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
        output.WriteLine($"## Model passes — {threads} thread{(threads == 1 ? "" : "s")}, batch {s.Batch} × {s.Sequence} tokens, median of {s.Repeats}");
        output.WriteLine();

        var rng = new Random(7);
        var ids = Enumerable.Range(0, s.Batch)
            .Select(_ => Enumerable.Range(0, s.Sequence).Select(_ => rng.Next(config.VocabSize)).ToArray()).ToArray();
        var batch = TokenBatch.LeftPadded(ids.Select(a => (IReadOnlyList<int>)a).ToList(), 0);
        var k = s.Sequence - 1; // every position that predicts a next token inside the sequence
        using var ctx = model.CreateContext(s.Batch, s.Sequence, s.Batch * Math.Min(k, 64));
        var table = new List<(string What, double Seconds, double Tokens, string Unit)>();

        var fwd = Median(s.Repeats, () => ctx.Forward(batch, LogitsMode.All));
        table.Add(("forward (logits at every position)", fwd, s.Batch * s.Sequence, "tokens/s"));

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
        table.Add(("input gradients, fused (1 forward + K cotangents)", fused, s.Batch * k, "attributed tokens/s"));

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
        table.Add(("input gradients, stepwise (prefix forward + backward per token)", stepwise, s.Batch * k, "attributed tokens/s"));

        output.WriteLine($"| pass | wall (ms) | throughput |");
        output.WriteLine($"| --- | ---: | ---: |");
        foreach (var (what, seconds, tokens, unit) in table)
            output.WriteLine($"| {what} | {seconds * 1e3:0.0} | {tokens / seconds:0.0} {unit} |");
        output.WriteLine($"| fused vs stepwise | | {stepwise / fused:0.00}× |");
        output.WriteLine();
        output.WriteLine($"context arena {ctx.ArenaBytes / 1e6:0.0} MB, weights {model.WeightBytes / 1e6:0.0} MB, " +
                         $"process peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1e6:0} MB (process lifetime)");
        if (s.GemmSize > 0) output.WriteLine(GemmBench.Run(s.GemmSize, model.Device, s.Repeats));
        output.WriteLine();
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
