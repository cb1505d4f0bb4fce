using System.Text.Json;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Fixtures;

/// <summary>The parts of a ../shared/fixtures/cases/*.json file the core tests use (harness format, NaN as null).</summary>
public sealed record InseqCaseSequence(int[] TargetIds, int AttrPosStart, int AttrPosEnd, Tensor? RawTarget,
    float[]? Probability);

public static class InseqCase
{
    public static IReadOnlyList<InseqCaseSequence> Load(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixturePaths.Cases, name + ".json")));
        var result = new List<InseqCaseSequence>();
        foreach (var s in doc.RootElement.GetProperty("sequences").EnumerateArray())
        {
            Tensor? raw = null;
            float[]? prob = null;
            if (s.TryGetProperty("raw", out var r) && r.ValueKind == JsonValueKind.Object)
            {
                if (r.GetProperty("target_attributions").ValueKind == JsonValueKind.Object)
                    raw = ReadTensor(r.GetProperty("target_attributions"));
                if (r.GetProperty("step_scores").TryGetProperty("probability", out var p))
                    prob = ReadTensor(p).Data;
            }
            result.Add(new InseqCaseSequence(HfReference.Ints(s.GetProperty("target_ids")),
                s.GetProperty("attr_pos_start").GetInt32(), s.GetProperty("attr_pos_end").GetInt32(), raw, prob));
        }
        return result;
    }

    /// <summary>{"dtype", "shape", "data": nested lists, null = NaN}.</summary>
    public static Tensor ReadTensor(JsonElement e)
    {
        var shape = HfReference.Ints(e.GetProperty("shape"));
        var data = new List<float>();
        Flatten(e.GetProperty("data"), data);
        return new Tensor(data.ToArray(), shape);
    }

    static void Flatten(JsonElement e, List<float> into)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Array:
                foreach (var x in e.EnumerateArray()) Flatten(x, into);
                break;
            case JsonValueKind.Null:
                into.Add(float.NaN);
                break;
            default:
                into.Add(e.GetSingle());
                break;
        }
    }
}
