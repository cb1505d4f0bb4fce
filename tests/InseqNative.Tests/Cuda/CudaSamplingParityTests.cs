using InseqNative.Generation;
using InseqNative.Interop;
using InseqNative.Tests.Fixtures;
using InseqNative.Tests.Loading;
using InseqNative.Tests.Native;
using static InseqNative.Tests.Cuda.CudaTest;

namespace InseqNative.Tests.Cuda;

/// <summary>
/// Device sampling on CUDA device 0 against the CPU twin: op sample_tokens picks the same ids (the kernel searches
/// the order instead of sorting it; ids can differ only where a running sum lies within rounding of top_p or of
/// u × sum, which these seeds avoid) with log-probabilities within 1e-6, bitwise equal on a second run, for vocabularies
/// up to GPT-2's and Llama-3's sizes; inq_sample_next on a CUDA context equals the CPU op on the logits that context
/// downloads; greedy generation on CUDA reproduces the transformers fixtures. Skipped without a CUDA device.
/// </summary>
public class CudaSamplingParityTests
{
    public static TheoryData<bool, float, int, float> Settings() => NativeSamplingTests.Settings();

    [Theory]
    [MemberData(nameof(Settings))]
    public void Op_matches_the_cpu(bool sample, float temperature, int topK, float topP)
    {
        RequireDevice();
        var s = new SamplingSettings(sample, temperature, topK, topP);
        foreach (var (v, ties, seed) in new[] { (37, true, 2), (5003, false, 5), (50257, false, 6), (128256, true, 7) })
        {
            const int n = 5;
            var logits = NativeSamplingTests.Logits(n * v, seed, 6f, ties);
            var u = NativeSamplingTests.Uniforms(n, seed + 100);
            int[] offsets = [0, 2, 2, 3, 3, 4];
            int[] bans = [0, TokenSampler.ArgMax(logits.AsSpan(0, v)), v - 1, 1];
            int[] forced = [-1, -1, 3, -1, -1];
            var cpu = NativeSamplingTests.RunOp(logits, v, s, u, forced, offsets, bans);
            var cuda = NativeSamplingTests.RunOp(logits, v, s, u, forced, offsets, bans, Device0);
            var again = NativeSamplingTests.RunOp(logits, v, s, u, forced, offsets, bans, Device0);
            Assert.Equal(cpu.Ids, cuda.Ids);
            AssertClose(cpu.LogProbs, cuda.LogProbs, 1e-6, $"sample_tokens V={v} log-probabilities");
            Assert.Equal(cuda.Ids, again.Ids);
            Assert.Equal(cuda.LogProbs, again.LogProbs);
        }
    }

    [Fact]
    public void Op_handles_degenerate_rows_as_the_cpu()
    {
        RequireDevice();
        const int v = 9;
        var inf = float.NegativeInfinity;
        float[] logits =
        [
            inf, inf, inf, inf, inf, inf, inf, inf, inf,
            1, 1, 1, 1, 1, 1, 1, 1, 1,
            -0f, 0f, -0f, 0f, -1, -2, -3, -4, -5,
            inf, 3, inf, 3, 2, inf, 1, 0.5f, 3,
        ];
        var u = NativeSamplingTests.Uniforms(4, 3);
        foreach (var s in new[] { SamplingSettings.Greedy, new SamplingSettings(true, 1f, 0, 1f),
                     new SamplingSettings(true, 0.3f, 2, 0.5f), new SamplingSettings(true, 1f, 4, 1f) })
        {
            var cpu = NativeSamplingTests.RunOp(logits, v, s, u, null, null, null);
            var cuda = NativeSamplingTests.RunOp(logits, v, s, u, null, null, null, Device0);
            Assert.Equal(cpu.Ids, cuda.Ids);
            Assert.Equal(cpu.LogProbs, cuda.LogProbs);
        }
    }

    public static TheoryData<string> Models() => new() { "tiny-gpt2", "tiny-llama", "tiny-marian", "tiny-t5" };

    [Theory]
    [MemberData(nameof(Models))]
    public void Export_on_a_cuda_context_equals_the_cpu_op_on_its_logits(string name)
    {
        RequireDevice();
        using var model = TransformerModel.Load(FixturePaths.Models(name), Device.Cuda(Device0));
        int v = model.Config.VocabSize;
        using var ctx = model.CreateContext(2, 8);
        var settings = new[] { SamplingSettings.Greedy, new SamplingSettings(true, 0.8f, 10, 0.9f) };
        int[] next = [11, 12];
        void Check(float[] logits, int seed, string what)
        {
            var u = NativeSamplingTests.Uniforms(2, seed);
            int[] forced = [-1, 4];
            foreach (var s in settings)
            {
                var expected = NativeSamplingTests.RunOp(logits, v, s, u, forced, [0, 1, 1], [2]);
                var (ids, lps) = ctx.SampleNext(s, u, forced, [[2], null]);
                Assert.Equal(expected.Ids, ids);
                AssertClose(expected.LogProbs, lps, 1e-6, $"{name} {what} log-probabilities");
            }
        }
        if (model.Config.IsEncoderDecoder)
        {
            Check(ctx.Seq2SeqForward(2, [5, 9, 13, 2, 7, 1, 4, 4], null, [0, 0], null, LogitsMode.All, fillCache: true)!.Data,
                1, "forward");
            for (var step = 0; step < 3; step++) Check(ctx.Seq2SeqCacheStep(next).Data, 2 + step, $"step {step}");
        }
        else
        {
            Check(ctx.CachePrefill(TokenBatch.LeftPadded([[5, 9, 13, 2], [7, 1]], 0)).Data, 1, "prefill");
            for (var step = 0; step < 3; step++) Check(ctx.CacheStep(next).Data, 2 + step, $"step {step}");
        }
    }

    [Theory]
    [InlineData("tiny-gpt2")]
    [InlineData("tiny-llama")]
    public void Greedy_generation_on_cuda_reproduces_transformers_ids(string name)
    {
        RequireDevice();
        using var model = TransformerModel.Load(FixturePaths.Models(name), Device.Cuda(Device0));
        foreach (var reference in HfReference.Load(name))
        {
            var result = model.Generate([reference.InputIds], new GenerationOptions { MaxNewTokens = 10 })[0];
            Assert.Equal(reference.GreedyNewIds, result.GeneratedIds);
        }
    }
}
