using System.Text.Json;
using InseqNative.Outputs;
using InseqNative.Tests.Fixtures;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Outputs;

/// <summary>One sequence output of a ../shared/fixtures/cases/*.json file (harness format; null = NaN).</summary>
public sealed record ReferenceSequence(
    string Class,
    IReadOnlyList<TokenWithId> Source,
    IReadOnlyList<TokenWithId> Target,
    Tensor? SourceAttributions,
    Tensor? TargetAttributions,
    IReadOnlyDictionary<string, Tensor> StepScores,
    IReadOnlyDictionary<string, Tensor> SequenceScores,
    int AttrPosStart,
    int AttrPosEnd);

public sealed record ReferenceCaseSequence(ReferenceSequence? Raw, ReferenceSequence Aggregated);

public static class ReferenceCase
{
    public static IEnumerable<string> Names =>
        Directory.EnumerateFiles(FixturePaths.Cases, "*.json").Select(f => Path.GetFileNameWithoutExtension(f)!).Order();

    public static TheoryData<string> All()
    {
        var data = new TheoryData<string>();
        foreach (string name in Names) data.Add(name);
        return data;
    }

    public static string InseqJsonPath(string name) => Path.Combine(FixturePaths.InseqJson, name + ".inseq.json");

    public static IReadOnlyList<ReferenceCaseSequence> Load(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixturePaths.Cases, name + ".json")));
        var result = new List<ReferenceCaseSequence>();
        foreach (var s in doc.RootElement.GetProperty("sequences").EnumerateArray())
        {
            var source = Tokens(s, "source");
            var target = Tokens(s, "target");
            ReferenceSequence? Read(string key) =>
                s.TryGetProperty(key, out var r) && r.ValueKind == JsonValueKind.Object ? Sequence(r, source, target) : null;
            result.Add(new ReferenceCaseSequence(Read("raw"), Read("aggregated")!));
        }
        return result;
    }

    static IReadOnlyList<TokenWithId> Tokens(JsonElement s, string side)
    {
        var tokens = s.GetProperty(side + "_tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
        var ids = HfReference.Ints(s.GetProperty(side + "_ids"));
        return tokens.Zip(ids, (t, i) => new TokenWithId(t, i)).ToArray();
    }

    static ReferenceSequence Sequence(JsonElement r, IReadOnlyList<TokenWithId> source, IReadOnlyList<TokenWithId> target)
    {
        Tensor? T(JsonElement e) => e.ValueKind == JsonValueKind.Object ? InseqCase.ReadTensor(e) : null;
        Dictionary<string, Tensor> Dict(string key) => r.TryGetProperty(key, out var d) && d.ValueKind == JsonValueKind.Object
            ? d.EnumerateObject().ToDictionary(p => p.Name, p => T(p.Value)!)
            : [];
        return new ReferenceSequence(r.GetProperty("class").GetString()!, source, target,
            T(r.GetProperty("source_attributions")), T(r.GetProperty("target_attributions")),
            Dict("step_scores"), Dict("sequence_scores"),
            r.GetProperty("attr_pos_start").GetInt32(), r.GetProperty("attr_pos_end").GetInt32());
    }
}
