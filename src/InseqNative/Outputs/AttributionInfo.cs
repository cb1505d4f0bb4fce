using System.Text.Json.Nodes;
using InseqNative.Outputs.Serialization;

namespace InseqNative.Outputs;

/// <summary>
/// Inseq's <c>FeatureAttributionOutput.info</c>: an ordered, string-keyed bag of JSON values that round-trips whatever a
/// file holds (NaN and ±Infinity included), with typed accessors for the common keys.
/// </summary>
public sealed class AttributionInfo
{
    private readonly JsonObject _values;

    public AttributionInfo() : this(new JsonObject()) { }

    /// <summary>Wraps (without copying) a JSON object.</summary>
    public AttributionInfo(JsonObject values) => _values = values ?? throw new ArgumentNullException(nameof(values));

    /// <summary>Info from plain .NET values (strings, numbers, bools, lists, dictionaries, JSON nodes), in order.</summary>
    public static AttributionInfo FromValues(IEnumerable<KeyValuePair<string, object?>> values)
    {
        var obj = new JsonObject();
        foreach (var (key, value) in values)
            obj[key] = value switch
            {
                null => null,
                JsonNode node => node.DeepClone(),
                double d when !double.IsFinite(d) => NonFiniteJson.Node(d),
                float f when !float.IsFinite(f) => NonFiniteJson.Node(f),
                _ => System.Text.Json.JsonSerializer.SerializeToNode(value, value.GetType()),
            };
        return new AttributionInfo(obj);
    }

    public static implicit operator AttributionInfo(Dictionary<string, object?> values) => FromValues(values);

    public JsonNode? this[string key]
    {
        get => _values[key];
        set => _values[key] = value;
    }

    public IEnumerable<string> Keys => _values.Select(p => p.Key);
    public int Count => _values.Count;
    public bool ContainsKey(string key) => _values.ContainsKey(key);
    public bool Remove(string key) => _values.Remove(key);

    /// <summary>A deep copy of the values.</summary>
    public JsonObject ToJsonObject() => (JsonObject)_values.DeepClone();

    public AttributionInfo Clone() => new(ToJsonObject());

    public string? Method { get => GetString("attribution_method"); set => Set("attribution_method", value); }
    public string? ModelName { get => GetString("model_name"); set => Set("model_name", value); }
    public string? ModelClass { get => GetString("model_class"); set => Set("model_class", value); }
    public string? TokenizerName { get => GetString("tokenizer_name"); set => Set("tokenizer_name", value); }
    public string? TokenizerClass { get => GetString("tokenizer_class"); set => Set("tokenizer_class", value); }
    public string? AttributedFn { get => GetString("attributed_fn"); set => Set("attributed_fn", value); }

    /// <summary>Seconds the attribution took.</summary>
    public double? ExecTime { get => GetDouble("exec_time"); set => _values["exec_time"] = value is null ? null : NonFiniteJson.Node(value.Value); }

    public int? AttrPosStart { get => (int?)GetDouble("attr_pos_start"); set => _values["attr_pos_start"] = value; }
    public int? AttrPosEnd { get => (int?)GetDouble("attr_pos_end"); set => _values["attr_pos_end"] = value; }
    public bool? AttributeTarget { get => GetBool("attribute_target"); set => _values["attribute_target"] = value; }
    public bool? OutputStepAttributions { get => GetBool("output_step_attributions"); set => _values["output_step_attributions"] = value; }

    public IReadOnlyList<string>? InputTexts { get => GetStrings("input_texts"); set => SetStrings("input_texts", value); }
    public IReadOnlyList<string>? GeneratedTexts { get => GetStrings("generated_texts"); set => SetStrings("generated_texts", value); }

    /// <summary>Names of the step scores computed alongside attributions.</summary>
    public IReadOnlyList<string>? StepScores { get => GetStrings("step_scores"); set => SetStrings("step_scores", value); }

    public JsonObject? AttributionArgs { get => _values["attribution_args"] as JsonObject; set => _values["attribution_args"] = value; }
    public JsonObject? StepScoresArgs { get => _values["step_scores_args"] as JsonObject; set => _values["step_scores_args"] = value; }
    public JsonObject? AttributedFnArgs { get => _values["attributed_fn_args"] as JsonObject; set => _values["attributed_fn_args"] = value; }
    public JsonObject? GenerationArgs { get => _values["generation_args"] as JsonObject; set => _values["generation_args"] = value; }

    string? GetString(string key) => _values[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;

    void Set(string key, string? value) => _values[key] = value;

    double? GetDouble(string key)
    {
        if (_values[key] is not JsonValue v) return null;
        if (v.TryGetValue(out double d)) return d;
        if (v.TryGetValue(out long l)) return l;
        if (v.TryGetValue(out int i)) return i;
        return v.TryGetValue(out string? s) && NonFiniteJson.TryParseMarker(s, out double nf) ? nf : null;
    }

    bool? GetBool(string key) => _values[key] is JsonValue v && v.TryGetValue(out bool b) ? b : null;

    IReadOnlyList<string>? GetStrings(string key) => _values[key] is JsonArray a
        ? a.Select(x => x is JsonValue v && v.TryGetValue(out string? s) ? s : x?.ToJsonString() ?? "").ToArray()
        : null;

    void SetStrings(string key, IReadOnlyList<string>? values) =>
        _values[key] = values is null ? null : new JsonArray(values.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray());
}
