using System.Diagnostics;
using System.Globalization;
using InseqNative.Interop;
using InseqNative.Loading;

namespace InseqNative.Bench;

/// <summary>
/// <c>inseq bench</c>: builds the shape once with random weights, prints the header (machine, build, precision,
/// date), then the model-pass table for each requested thread count and the attribution table (fused vs stepwise).
/// Everything on stdout is Markdown, ready to paste into bench/RESULTS.md; progress goes to stderr.
/// </summary>
public static class BenchRunner
{
    public static void Run(BenchSettings s, TextWriter output, TextWriter progress)
    {
        foreach (var section in s.Sections)
            if (section is not ("model" or "attribution"))
                throw new InvalidInputException($"unknown bench section '{section}' (known: model, attribution)");
        foreach (var t in s.ModelThreads.Append(s.Threads))
            if (t < 0) throw new InvalidInputException("thread counts must be 0 (all cores) or more");
        var config = BenchShapes.Get(s.Shape);
        if (s.Precisions.Count == 0) throw new InvalidInputException("--precision needs at least one mode");
        for (var i = 0; i < s.Precisions.Count; i++)
        {
            var sw = Stopwatch.StartNew();
            using var model = TransformerModel.CreateRandom(config, seed: 1234, s.Device, precision: s.Precisions[i]);
            var buildSeconds = sw.Elapsed.TotalSeconds;
            if (i == 0) Header(s, config, model, buildSeconds, output);
            if (s.Precisions.Count > 1)
            {
                output.WriteLine($"# GEMM precision {model.Precision.Id()}");
                output.WriteLine();
            }
            Sections(s, config, model, output, progress);
        }
    }

    static void Header(BenchSettings s, ModelConfig config, TransformerModel model, double buildSeconds, TextWriter output)
    {
        var memory = MachineInfo.MemoryGib() is { } gib ? $", {gib:0.0} GiB memory" : "";
        output.WriteLine($"# inseq bench — {s.Shape}: {BenchShapes.Describe(config)}; random weights ({model.WeightBytes / 1e6:0.0} MB, built in {buildSeconds:0.0} s)");
        output.WriteLine();
        output.WriteLine($"- date: {DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture)}");
        output.WriteLine($"- device: {model.Device}; CPU: {MachineInfo.CpuModel()}, {Environment.ProcessorCount} cores visible{memory}");
        if (model.Device.Kind == DeviceKind.Cuda)
        {
            var info = CudaDeviceInfo.Query(model.Device.Ordinal);
            output.WriteLine($"- GPU: {info}; nominal peaks (TFLOP/s at the peak clock): " +
                             string.Join(", ", Enum.GetValues<GemmPrecision>().Select(p => $"{p.Id()} {info.PeakTflops(p)?.ToString("0.0", CultureInfo.InvariantCulture) ?? "?"}")));
        }
        output.WriteLine($"- native: {NativeInfo.BuildInfo()}");
        output.WriteLine($"- precision: {string.Join(", ", s.Precisions.Select(p => p.Id()))} (GEMMs; everything else fp32); load average at start: {MachineInfo.LoadAverage()} (other processes may share the cores)");
        output.WriteLine();
    }

    static void Sections(BenchSettings s, ModelConfig config, TransformerModel model, TextWriter output, TextWriter progress)
    {
        if (s.Runs("model"))
            foreach (var threads in s.ModelThreads.Count > 0 ? s.ModelThreads : [s.Threads])
            {
                SetThreads(threads);
                ModelBench.Run(s, model, output);
            }

        if (s.Runs("attribution"))
        {
            var threads = SetThreads(s.Threads);
            var lengths = string.Join(", ", s.Lengths.Select(l => $"{l.Prompt}+{l.Forced}"));
            var layout = config.IsEncoderDecoder
                ? "source+target" // target: the decoder start token + that many forced tokens, attributed with attribute_target
                : "prompt+forced";
            output.WriteLine($"## Attribution — {threads} thread{(threads == 1 ? "" : "s")}, one sequence, {layout} {lengths}, " +
                             $"median of {s.AttributionRepeats}" + (s.Granular ? "" : ", aggregated output (--no-granular)") + (config.IsEncoderDecoder ? ", attribute_target" : "") + (s.MaxSeconds > 0 ? $", cells over {s.MaxSeconds:0} s estimated skipped" : ""));
            output.WriteLine();
            AttributionBench.Run(s, model, output, progress);
            output.WriteLine();
            output.WriteLine($"load average at end: {MachineInfo.LoadAverage()}");
        }
    }

    /// <summary>Sets the native thread count (0: leave all cores) and returns the count in effect.</summary>
    static int SetThreads(int threads)
    {
        if (threads > 0) NativeCheck.Ok(NativeMethods.SetNumThreads(threads), "inq_set_num_threads");
        else NativeCheck.Ok(NativeMethods.SetNumThreads(Environment.ProcessorCount), "inq_set_num_threads");
        NativeCheck.Ok(NativeMethods.GetNumThreads(out var actual), "inq_get_num_threads");
        return actual;
    }
}
