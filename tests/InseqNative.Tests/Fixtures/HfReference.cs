using System.Text.Json;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Fixtures;

/// <summary>One item of ../shared/fixtures/hf/&lt;model&gt;.json: what plain transformers computed (decoder-only layout).</summary>
public sealed record HfItem(string Prompt, int[] InputIds, string Target, int[] TargetIds, Tensor Logits,
    int[] GreedySequenceIds, int[] GreedyNewIds, string GreedyText);

public static class HfReference
{
    public static IReadOnlyList<HfItem> Load(string model)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(FixturePaths.Hf(model)));
        var items = new List<HfItem>();
        foreach (var it in doc.RootElement.GetProperty("items").EnumerateArray())
        {
            var greedy = it.GetProperty("greedy");
            items.Add(new HfItem(
                it.GetProperty("prompt").GetString()!,
                Ints(it.GetProperty("input_ids")),
                it.GetProperty("target").GetString()!,
                Ints(it.GetProperty("target_ids")),
                DecodeTensor(it.GetProperty("logits")),
                Ints(greedy.GetProperty("sequence_ids")),
                Ints(greedy.GetProperty("new_ids")),
                greedy.GetProperty("text").GetString()!));
        }
        return items;
    }

    public static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    /// <summary>{"dtype": "float32", "shape": [...], "data_base64": ...} little-endian row-major.</summary>
    public static Tensor DecodeTensor(JsonElement e)
    {
        if (e.GetProperty("dtype").GetString() != "float32") throw new NotSupportedException("fixture tensor dtype");
        var shape = Ints(e.GetProperty("shape"));
        var bytes = Convert.FromBase64String(e.GetProperty("data_base64").GetString()!);
        var data = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, data, 0, bytes.Length);
        return new Tensor(data, shape);
    }
}
