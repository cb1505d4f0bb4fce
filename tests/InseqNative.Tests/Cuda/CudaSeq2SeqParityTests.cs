using InseqNative.Tests.Loading;
using static InseqNative.Tests.Cuda.CudaTest;

namespace InseqNative.Tests.Cuda;

/// <summary>
/// The encoder-decoder graph (Marian, M2M100, T5) on the CPU and on CUDA device 0: logits of a right-padded batch,
/// every kind of attention, gradients to both embeddings and KV-cached decoding steps agree within 1e-4 of each
/// row's largest value, and a second CUDA run is bitwise identical. Skipped without a CUDA device.
/// </summary>
public class CudaSeq2SeqParityTests
{
    const double Rel = 1e-4;

    public static TheoryData<string> Models() => new() { "tiny-marian", "tiny-m2m100", "tiny-t5" };

    static (int[] Src, int[] Mask, int[] Tgt) Batch(TransformerModel m)
    {
        var v = m.Config.VocabSize;
        var pad = m.Config.PadTokenId ?? 0;
        var a = RandomInts(9, v, 1);
        var b = RandomInts(5, v, 2);
        int[] src = [.. a, .. b, .. Enumerable.Repeat(pad, 4)];
        int[] mask = [.. Enumerable.Repeat(1, 14), .. Enumerable.Repeat(0, 4)];
        int[] tgt = [.. RandomInts(6, v, 3), .. RandomInts(6, v, 4)];
        return (src, mask, tgt);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Forward_attention_backward_and_cache_match_the_cpu(string name)
    {
        RequireDevice();
        using var cpu = TransformerModel.Load(FixturePaths.Models(name), Device.Cpu);
        using var cuda = TransformerModel.Load(FixturePaths.Models(name), Device.Cuda(0));
        var (src, mask, tgt) = Batch(cpu);
        int v = cpu.Config.VocabSize, c = cpu.Config.HiddenSize;
        using var cc = cpu.CreateContext(2, 9, 4);
        using var gc = cuda.CreateContext(2, 9, 4);

        var a = cc.Seq2SeqForward(2, src, mask, tgt, null, keepForBackward: true)!;
        var b = gc.Seq2SeqForward(2, src, mask, tgt, null, keepForBackward: true)!;
        AssertRowsClose(a.Data, b.Data, v, Rel, $"{name} logits");
        foreach (var kind in Enum.GetValues<Seq2SeqAttentionKind>())
            AssertRowsClose(cc.Seq2SeqAttention(kind, 1).Data, gc.Seq2SeqAttention(kind, 1).Data,
                kind == Seq2SeqAttentionKind.Decoder ? 6 : 9, Rel, $"{name} {kind} attention");

        var dl = new Tensor(Random(2 * 2 * v, 5), 2, 2, v);
        int[] positions = [5, 2, 3, 0];
        var (cs, ct) = cc.Seq2SeqBackward(positions, dl);
        var (gs, gt) = gc.Seq2SeqBackward(positions, dl);
        AssertRowsClose(cs.Data, gs.Data, 9 * c, Rel, $"{name} source gradients");
        AssertRowsClose(ct.Data, gt.Data, 6 * c, Rel, $"{name} target gradients");
        var (gs2, gt2) = gc.Seq2SeqBackward(positions, dl);
        Assert.Equal(gs.Data, gs2.Data); // bitwise rerun
        Assert.Equal(gt.Data, gt2.Data);

        int[] starts = [tgt[0], tgt[6]];
        var x = cc.Seq2SeqForward(2, src, mask, starts, null, fillCache: true)!;
        var y = gc.Seq2SeqForward(2, src, mask, starts, null, fillCache: true)!;
        AssertRowsClose(x.Data, y.Data, v, Rel, $"{name} prefill");
        for (var p = 1; p < 6; p++)
        {
            int[] next = [tgt[p], tgt[6 + p]];
            AssertRowsClose(cc.Seq2SeqCacheStep(next).Data, gc.Seq2SeqCacheStep(next).Data, v, Rel, $"{name} step {p}");
        }
    }
}
