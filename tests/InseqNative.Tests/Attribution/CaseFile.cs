using System.Text.Json;
using InseqNative.Tests.Fixtures;
using InseqNative.Tests.Loading;

namespace InseqNative.Tests.Attribution;

/// <summary>A fixture case: the Python Inseq call (args) and what it produced, per sequence.</summary>
public sealed record CaseFile(string Name, CaseArgs Args, IReadOnlyList<CaseSequence> Sequences, bool FinalStepMethod)
{
    public static CaseFile Load(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(FixturePaths.Cases, name + ".json")));
        var root = doc.RootElement;
        var a = root.GetProperty("args");
        string[]? Strings(string key) => a.TryGetProperty(key, out var e) && e.ValueKind == JsonValueKind.Array
            ? e.EnumerateArray().Select(x => x.GetString()!).ToArray()
            : a.TryGetProperty(key, out e) && e.ValueKind == JsonValueKind.String ? [e.GetString()!] : null;
        int? Int(string key) => a.TryGetProperty(key, out var e) && e.ValueKind == JsonValueKind.Number ? e.GetInt32() : null;
        var args = new CaseArgs(
            a.GetProperty("model").GetString()!.Replace("models/", ""),
            a.GetProperty("method").GetString()!,
            Strings("input")!, Strings("target"), Strings("step_scores") ?? [],
            a.TryGetProperty("attributed_fn", out var af) && af.ValueKind == JsonValueKind.String ? af.GetString() : null,
            Strings("contrast_target"),
            Int("n_steps"), Int("attr_pos_start"), Int("attr_pos_end"),
            a.TryGetProperty("include_eos_baseline", out var eos) && eos.GetBoolean(),
            JsonDocument.Parse(a.TryGetProperty("method_kwargs", out var mk) ? mk.GetString() ?? "{}" : "{}").RootElement.Clone(),
            JsonDocument.Parse(a.TryGetProperty("generation_args", out var ga) ? ga.GetString() ?? "{}" : "{}").RootElement.Clone(),
            a.TryGetProperty("attribute_target", out var at) && at.ValueKind == JsonValueKind.True);
        var sequences = root.GetProperty("sequences").EnumerateArray().Select(s => new CaseSequence(
            s.GetProperty("source_tokens").EnumerateArray().Select(x => x.GetString()!).ToArray(),
            HfReference.Ints(s.GetProperty("source_ids")),
            s.GetProperty("target_tokens").EnumerateArray().Select(x => x.GetString()!).ToArray(),
            HfReference.Ints(s.GetProperty("target_ids")),
            s.GetProperty("attr_pos_start").GetInt32(), s.GetProperty("attr_pos_end").GetInt32(),
            ReadPart(s, "raw"), ReadPart(s, "aggregated"),
            s.TryGetProperty("dummy_step_scores", out var d) && d.ValueKind == JsonValueKind.Object ? ReadScores(d) : null)).ToList();
        return new CaseFile(name, args, sequences, root.TryGetProperty("final_step_method", out var f) && f.GetBoolean());
    }

    static CasePart? ReadPart(JsonElement s, string key)
    {
        if (!s.TryGetProperty(key, out var p) || p.ValueKind != JsonValueKind.Object) return null;
        Tensor? T(string k) => p.TryGetProperty(k, out var e) && e.ValueKind == JsonValueKind.Object ? InseqCase.ReadTensor(e) : null;
        var sequence = new Dictionary<string, Tensor>();
        if (p.TryGetProperty("sequence_scores", out var sq) && sq.ValueKind == JsonValueKind.Object)
            foreach (var prop in sq.EnumerateObject()) sequence[prop.Name] = InseqCase.ReadTensor(prop.Value);
        return new CasePart(T("source_attributions"), T("target_attributions"), ReadScores(p), sequence);
    }

    static Dictionary<string, float[]> ReadScores(JsonElement p)
    {
        var scores = new Dictionary<string, float[]>();
        if (p.TryGetProperty("step_scores", out var ss) && ss.ValueKind == JsonValueKind.Object)
            foreach (var prop in ss.EnumerateObject()) scores[prop.Name] = InseqCase.ReadTensor(prop.Value).Data;
        return scores;
    }
}

public sealed record CaseArgs(string Model, string Method, string[] Inputs, string[]? Targets, string[] StepScores,
    string? AttributedFn, string[]? ContrastTargets, int? NSteps, int? AttrPosStart, int? AttrPosEnd,
    bool IncludeEosBaseline, JsonElement MethodKwargs, JsonElement GenerationArgs, bool AttributeTarget = false);

public sealed record CaseSequence(string[] SourceTokens, int[] SourceIds, string[] TargetTokens, int[] TargetIds,
    int AttrPosStart, int AttrPosEnd, CasePart? Raw, CasePart? Aggregated, Dictionary<string, float[]>? DummyStepScores);

public sealed record CasePart(Tensor? Source, Tensor? Target, Dictionary<string, float[]> StepScores,
    Dictionary<string, Tensor>? SequenceScores = null);
