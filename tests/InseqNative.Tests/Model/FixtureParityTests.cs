using InseqNative.Generation;
using InseqNative.Tests.Fixtures;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Model;

/// <summary>Our native GPT-2 and Llama against what Hugging Face transformers and Python Inseq computed on the same folders.</summary>
public class FixtureParityTests
{
    public static TheoryData<string, int> HfItems()
    {
        var data = new TheoryData<string, int>();
        foreach (var m in new[] { "tiny-gpt2", "tiny-gpt2-bpe", "tiny-llama" })
            for (var i = 0; i < 3; i++) data.Add(m, i);
        return data;
    }

    [Theory]
    [MemberData(nameof(HfItems))]
    public void Logits_match_transformers_within_1e4_per_row(string modelName, int item)
    {
        var reference = HfReference.Load(modelName)[item];
        using var model = TransformerModel.Load(FixturePaths.Models(modelName), Device.Cpu);
        Assert.Equal(reference.TargetIds, model.Encode(reference.Target));
        var logits = model.Logits([reference.TargetIds]);
        Assert.Equal([1, reference.TargetIds.Length, model.Config.VocabSize], logits.Shape);
        Tolerance.RowsClose(reference.Logits.Data, logits.Data, model.Config.VocabSize, 1e-4, $"{modelName} item {item} logits");
    }

    [Theory]
    [MemberData(nameof(HfItems))]
    public void Greedy_generation_reproduces_transformers_ids(string modelName, int item)
    {
        var reference = HfReference.Load(modelName)[item];
        using var model = TransformerModel.Load(FixturePaths.Models(modelName), Device.Cpu);
        var result = model.Generate([reference.InputIds], new GenerationOptions { MaxNewTokens = 10 })[0];
        Assert.Equal(reference.GreedyNewIds, result.GeneratedIds);
        Assert.Equal(reference.GreedyText,
            model.Tokenizer!.Decode(result.AllIds, skipSpecialTokens: true));
    }

    public static TheoryData<string, string> GradientCases() => new()
    {
        { "tiny-gpt2", "saliency" }, { "tiny-gpt2", "input_x_gradient" },
        { "tiny-gpt2-bpe", "saliency" }, { "tiny-gpt2-bpe", "input_x_gradient" },
        { "tiny-llama", "saliency" }, { "tiny-llama", "input_x_gradient" },
    };

    /// <summary>
    /// Inseq's saliency / input×gradient raw tensors are |∂p/∂e| and e⊙∂p/∂e of the forced token's probability, one
    /// prefix forward per step. We compute every step from ONE forward over the full target with one cotangent per
    /// step (dp/dlogits = p(onehot − softmax)), which must give the same numbers.
    /// </summary>
    [Theory]
    [MemberData(nameof(GradientCases))]
    public void Embedding_gradients_of_the_forced_probability_reproduce_inseq_raw_attributions(string modelName, string method)
    {
        var seq = InseqCase.Load($"{modelName}__{method}")[0];
        using var model = TransformerModel.Load(FixturePaths.Models(modelName), Device.Cpu);
        int t = seq.TargetIds.Length, c = model.Config.HiddenSize, v = model.Config.VocabSize;
        var steps = seq.AttrPosEnd - seq.AttrPosStart;
        var embeddings = new Tensor(model.Embed(seq.TargetIds).Data, 1, t, c);
        var logits = model.LogitsFromEmbeddings(embeddings);

        var positions = new int[steps];
        var dlogits = Tensor.Zeros(1, steps, v);
        var probabilities = new float[steps];
        for (var k = 0; k < steps; k++)
        {
            var pos = seq.AttrPosStart + k - 1;          // the position whose logits predict target[attr_pos_start + k]
            var y = seq.TargetIds[seq.AttrPosStart + k];
            positions[k] = pos;
            var row = logits.Slice(0, pos);
            var softmax = Softmax(row);
            probabilities[k] = (float)softmax[y];
            var d = dlogits.Slice(0, k);
            for (var i = 0; i < v; i++) d[i] = (float)(softmax[y] * ((i == y ? 1 : 0) - softmax[i]));
        }
        var grads = model.EmbeddingGradients(embeddings, null, positions, dlogits); // [1, steps, t, c]

        var expected = seq.RawTarget!;                                                // [t, steps, c]
        Assert.Equal([t, steps, c], expected.Shape);
        for (var k = 0; k < steps; k++)
        {
            double maxRef = 0, maxErr = 0;
            for (var j = 0; j < t; j++)
                for (var h = 0; h < c; h++)
                {
                    var e = expected[j, k, h];
                    if (j >= seq.AttrPosStart + k)
                    {
                        Assert.True(float.IsNaN(e), "Inseq marks current and future positions NaN");
                        Assert.Equal(0f, grads[0, k, j, h]); // causal: no gradient flows back from the future
                        continue;
                    }
                    var g = grads[0, k, j, h];
                    var ours = method == "saliency" ? Math.Abs(g) : embeddings[0, j, h] * g;
                    maxRef = Math.Max(maxRef, Math.Abs(e));
                    maxErr = Math.Max(maxErr, Math.Abs(e - ours));
                }
            Assert.True(maxErr <= 1e-3 * maxRef, $"step {k}: max |Δ| {maxErr:E3} > 1e-3 · {maxRef:E3}");
        }
        if (seq.Probability is { } prob)
            for (var k = 0; k < steps; k++)
                Assert.True(Math.Abs(prob[k] - probabilities[k]) <= 1e-4 * Math.Abs(prob[k]),
                    $"probability step {k}: {probabilities[k]} vs {prob[k]}");
    }

    internal static double[] Softmax(ReadOnlySpan<float> row)
    {
        var max = double.NegativeInfinity;
        foreach (var x in row) max = Math.Max(max, x);
        var p = new double[row.Length];
        double sum = 0;
        for (var i = 0; i < row.Length; i++) { p[i] = Math.Exp(row[i] - max); sum += p[i]; }
        for (var i = 0; i < row.Length; i++) p[i] /= sum;
        return p;
    }
}
