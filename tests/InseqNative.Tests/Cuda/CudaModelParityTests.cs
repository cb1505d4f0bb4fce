using InseqNative.Interop;
using InseqNative.Loading;
using InseqNative.StepFunctions;
using InseqNative.Tests.Loading;
using static InseqNative.Tests.Cuda.CudaTest;

namespace InseqNative.Tests.Cuda;

/// <summary>
/// The same model on the CPU and on CUDA device 0 (both backends in one process: the CUDA flavour contains the CPU
/// twin): logits, attention, cached decoding, step scores, BackwardEmbeddings and BackwardStep agree within the
/// fixtures' tolerance (1e-4 of each row's largest value: whole forwards and backwards accumulate fp32 rounding of
/// different summation orders), and a second CUDA run is bitwise identical. Skipped without a CUDA device.
/// </summary>
public class CudaModelParityTests
{
    const double Rel = 1e-4;

    static TransformerModel Gpt2(Device device) =>
        TransformerModel.CreateRandom(
            ModelConfig.ForGpt2(layers: 3, heads: 4, hidden: 64, vocab: 301, positions: 48, activation: "gelu_new"),
            seed: 11, device, std: 0.3f);

    static TransformerModel Llama(Device device) =>
        TransformerModel.CreateRandom(
            ModelConfig.ForLlama(layers: 2, heads: 4, hidden: 64, intermediate: 96, vocab: 257, positions: 64,
                kvHeads: 2), seed: 12, device, std: 0.3f);

    public static TheoryData<string> Models() => new() { "gpt2", "llama", "tiny-gpt2", "tiny-llama" };

    static (TransformerModel Cpu, TransformerModel Cuda) Pair(string name)
    {
        RequireDevice();
        return name switch
        {
            "gpt2" => (Gpt2(Device.Cpu), Gpt2(Device.Cuda(0))),
            "llama" => (Llama(Device.Cpu), Llama(Device.Cuda(0))),
            _ => (TransformerModel.Load(FixturePaths.Models(name), Device.Cpu),
                  TransformerModel.Load(FixturePaths.Models(name), Device.Cuda(0))),
        };
    }

    static TokenBatch Batch(int vocab) =>
        TokenBatch.LeftPadded([RandomInts(14, vocab, 1), RandomInts(9, vocab, 2), RandomInts(12, vocab, 3)], 0);

    [Theory]
    [MemberData(nameof(Models))]
    public void Logits_and_attention_match_the_cpu(string name)
    {
        var (cpu, cuda) = Pair(name);
        using var _c = cpu;
        using var _g = cuda;
        Assert.Equal(Device.Cuda(0), cuda.Device);
        var v = cpu.Config.VocabSize;
        var batch = Batch(v);
        using var cc = cpu.CreateContext(batch.Batch, batch.Length, keepAttention: true);
        using var gc = cuda.CreateContext(batch.Batch, batch.Length, keepAttention: true);
        var a = cc.Forward(batch, LogitsMode.All, keepAttention: true)!;
        var b = gc.Forward(batch, LogitsMode.All, keepAttention: true)!;
        AssertRowsClose(a.Data, b.Data, v, Rel, $"{name} logits");
        for (var l = 0; l < cpu.Config.NumLayers; l++)
            AssertRowsClose(cc.Attention(l).Data, gc.Attention(l).Data, batch.Length, Rel, $"{name} attention layer {l}");
        var last = gc.Forward(batch, LogitsMode.Last)!;
        AssertRowsClose(cc.Forward(batch, LogitsMode.Last)!.Data, last.Data, v, Rel, $"{name} last logits");
        var again = gc.Forward(batch, LogitsMode.All)!;
        Assert.True(b.Data.AsSpan().SequenceEqual(again.Data), $"{name}: a second CUDA forward differs");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Cached_decoding_matches_the_cpu_and_the_full_forward(string name)
    {
        var (cpu, cuda) = Pair(name);
        using var _c = cpu;
        using var _g = cuda;
        var v = cpu.Config.VocabSize;
        var ids = RandomInts(12, v, 4);
        var full = cuda.Logits([ids]);
        using var cc = cpu.CreateContext(1, 12);
        using var gc = cuda.CreateContext(1, 12);
        AssertRowsClose(cc.CachePrefill(TokenBatch.Single(ids[..6])).Data, gc.CachePrefill(TokenBatch.Single(ids[..6])).Data,
            v, Rel, $"{name} prefill");
        for (var t = 6; t < 12; t++)
        {
            var step = gc.CacheStep([ids[t]]);
            AssertRowsClose(cc.CacheStep([ids[t]]).Data, step.Data, v, Rel, $"{name} cache step {t}");
            AssertRowsClose(full.Data.AsSpan(t * v, v).ToArray(), step.Data, v, Rel, $"{name} step {t} vs full forward");
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Backward_embeddings_match_the_cpu_and_repeat_bitwise(string name)
    {
        var (cpu, cuda) = Pair(name);
        using var _c = cpu;
        using var _g = cuda;
        int v = cpu.Config.VocabSize, c = cpu.Config.HiddenSize;
        var batch = Batch(v);
        int b = batch.Batch, t = batch.Length;
        int[] positions = [13, 5, -1, 13, 8, 4, 13, 12, 0];  // 3 cotangents per row; -1: none
        var dl = new Tensor(Random(b * 3 * v, 5), b, 3, v);
        Tensor Grad(TransformerModel m)
        {
            using var ctx = m.CreateContext(b, t, maxCotangents: 9);
            ctx.Forward(batch, LogitsMode.None, keepForBackward: true);
            return ctx.BackwardEmbeddings(positions, dl);
        }
        var a = Grad(cpu);
        var g = Grad(cuda);
        AssertRowsClose(a.Data, g.Data, t * c, Rel, $"{name} d/d embeddings");
        Assert.True(g.Data.AsSpan().SequenceEqual(Grad(cuda).Data), $"{name}: a second CUDA backward differs");

        // Embeddings in, hidden states out, backward to a middle point.
        var emb = new Tensor(cuda.Embed(batch.Ids).Data, b, t, c);
        Assert.Equal(cpu.Embed(batch.Ids).Data, emb.Data);  // a gather: exact
        Tensor Mid(TransformerModel m, out Tensor hidden)
        {
            using var ctx = m.CreateContext(b, t, maxCotangents: 9);
            ctx.ForwardEmbeddings(emb, batch.Mask, LogitsMode.None, keepForBackward: true);
            hidden = ctx.HiddenState(1);
            return ctx.Backward(1, positions, dl);
        }
        var ma = Mid(cpu, out var ha);
        var mg = Mid(cuda, out var hg);
        AssertRowsClose(ha.Data, hg.Data, c, Rel, $"{name} hidden state 1");
        AssertRowsClose(ma.Data, mg.Data, t * c, Rel, $"{name} d/d hidden state 1");
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Backward_step_and_step_scores_match_the_cpu(string name)
    {
        var (cpu, cuda) = Pair(name);
        using var _c = cpu;
        using var _g = cuda;
        int v = cpu.Config.VocabSize, c = cpu.Config.HiddenSize;
        var batch = Batch(v);
        int b = batch.Batch, t = batch.Length;
        int[] positions = [13, 5, 13, -1, 13, 12];
        var targets = RandomInts(b * 2, v, 6);
        var contrast = RandomInts(b * 2, v, 7);
        (Tensor, float[], float[]) Run(TransformerModel m, NativeStepFunction fn)
        {
            using var ctx = m.CreateContext(b, t, maxCotangents: 6);
            ctx.Forward(batch, LogitsMode.None, keepForBackward: true);
            var rows = Enumerable.Range(0, b * 2).Where(i => positions[i] >= 0).ToArray();
            var scores = ctx.StepScores(fn, new StepFunctionArgs(), rows.Select(i => i / 2).ToArray(),
                rows.Select(i => positions[i]).ToArray(), rows.Select(i => targets[i]).ToArray(),
                rows.Select(i => contrast[i]).ToArray());
            var (grad, s) = ctx.BackwardStep(fn, new StepFunctionArgs(), 0, positions, targets, contrast);
            return (grad, s, scores);
        }
        foreach (var fn in new[] { NativeStepFunction.Probability, NativeStepFunction.Entropy,
                     NativeStepFunction.ContrastProbDiff, NativeStepFunction.Pcxmi })
        {
            var (ga, sa, pa) = Run(cpu, fn);
            var (gg, sg, pg) = Run(cuda, fn);
            AssertRowsClose(ga.Data, gg.Data, t * c, Rel, $"{name} {fn} gradients");
            AssertClose(sa, sg, Rel, $"{name} {fn} backward-step scores");
            AssertClose(pa, pg, Rel, $"{name} {fn} step scores");
            Assert.True(float.IsNaN(sg[3]), $"{name} {fn}: the score of a row without cotangent is NaN");
            var (gg2, sg2, _) = Run(cuda, fn);
            Assert.True(gg.Data.AsSpan().SequenceEqual(gg2.Data) && sg.AsSpan().SequenceEqual(sg2),
                $"{name} {fn}: a second CUDA backward step differs");
        }
    }

    [Fact]
    public void A_cuda_request_is_reported_and_the_cpu_twin_runs_in_the_same_process()
    {
        RequireDevice();
        Assert.Contains("cuda", NativeInfo.BuildInfo());
        Assert.EndsWith("libinseqnative_cuda.so", NativeLibraryResolver.LoadedPath);
        using var model = Gpt2(Device.Auto);
        Assert.Equal(Device.Cuda(0), model.Device);
        var e = Assert.Throws<DeviceUnavailableException>(() => Device.Cuda(NativeInfo.CudaDeviceCount()).Resolve());
        Assert.Contains("device", e.Message);
    }
}
