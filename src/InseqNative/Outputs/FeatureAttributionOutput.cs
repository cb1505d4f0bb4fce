using System.Text.Json;
using System.Text.Json.Nodes;
using InseqNative.Aggregation;
using InseqNative.Outputs.Rendering;
using InseqNative.Outputs.Serialization;

namespace InseqNative.Outputs;

/// <summary>
/// The result of an attribution call (Inseq's <c>FeatureAttributionOutput</c>): one
/// <see cref="FeatureAttributionSequenceOutput"/> per input sequence, optional per-step outputs, and metadata.
/// Immutable: aggregation, weighting and merging return new outputs.
/// </summary>
public sealed class FeatureAttributionOutput
{
    public FeatureAttributionOutput(
        IEnumerable<FeatureAttributionSequenceOutput> sequenceAttributions,
        IEnumerable<FeatureAttributionStepOutput>? stepAttributions = null,
        AttributionInfo? info = null)
    {
        SequenceAttributions = sequenceAttributions?.ToArray() ?? throw new ArgumentNullException(nameof(sequenceAttributions));
        StepAttributions = stepAttributions?.ToArray();
        Info = info ?? new AttributionInfo();
    }

    public IReadOnlyList<FeatureAttributionSequenceOutput> SequenceAttributions { get; }
    public IReadOnlyList<FeatureAttributionStepOutput>? StepAttributions { get; }
    public AttributionInfo Info { get; }

    public FeatureAttributionSequenceOutput this[int index] => SequenceAttributions[index];

    /// <summary>Every sequence aggregated with its own default aggregator.</summary>
    public FeatureAttributionOutput Aggregate() => Map(s => s.Aggregate());

    public FeatureAttributionOutput Aggregate(IAggregator aggregator) => Map(s => s.Aggregate(aggregator));

    public FeatureAttributionOutput Aggregate(string name) => Map(s => s.Aggregate(name));

    /// <summary>Every sequence's aggregated attributions weighted by one of its step scores.</summary>
    public FeatureAttributionOutput WeightAttributions(string stepScoreName) => Map(s => s.WeightAttributions(stepScoreName));

    /// <summary>Per sequence, the scores of every attributed token for every generated token.</summary>
    public IReadOnlyList<SequenceScoresDict> GetScoresDicts(bool aggregate = true) =>
        SequenceAttributions.Select(s => s.GetScoresDict(aggregate)).ToArray();

    FeatureAttributionOutput Map(Func<FeatureAttributionSequenceOutput, FeatureAttributionSequenceOutput> f) =>
        new(SequenceAttributions.Select(f), StepAttributions, Info.Clone());

    /// <summary>
    /// Concatenates outputs (Inseq's <c>merge_attributions</c>): sequences in order; step outputs only when every input
    /// has them; info keys in first-seen order, with input_texts and generated_texts concatenated, exec_time summed,
    /// attr_pos_start the minimum and attr_pos_end the maximum. Any other key whose values differ is an error.
    /// </summary>
    public static FeatureAttributionOutput Merge(IEnumerable<FeatureAttributionOutput> outputs)
    {
        var list = outputs?.ToList() ?? throw new ArgumentNullException(nameof(outputs));
        if (list.Count == 0) throw new InvalidInputException("nothing to merge: no attribution outputs given");
        var info = new JsonObject();
        foreach (var output in list)
            foreach (string key in output.Info.Keys)
            {
                JsonNode? value = output.Info[key]?.DeepClone();
                if (!info.ContainsKey(key))
                {
                    info[key] = value;
                    continue;
                }
                switch (key)
                {
                    case "input_texts" or "generated_texts":
                        var merged = info[key] as JsonArray ?? [];
                        foreach (var item in value as JsonArray ?? []) merged.Add(item?.DeepClone());
                        info[key] = merged;
                        break;
                    case "exec_time":
                        info[key] = (info[key]?.GetValue<double>() ?? 0) + (value?.GetValue<double>() ?? 0);
                        break;
                    case "attr_pos_start" or "attr_pos_end":
                        int a = info[key]?.GetValue<int>() ?? 0, b = value?.GetValue<int>() ?? 0;
                        info[key] = key == "attr_pos_start" ? Math.Min(a, b) : Math.Max(a, b);
                        break;
                    default:
                        if (!JsonNode.DeepEquals(info[key], value))
                            throw new InvalidInputException(
                                $"cannot merge attribution outputs whose info '{key}' differs ({info[key]?.ToJsonString() ?? "null"} vs {value?.ToJsonString() ?? "null"})");
                        break;
                }
            }
        var steps = list.All(o => o.StepAttributions is not null) ? list.SelectMany(o => o.StepAttributions!) : null;
        return new FeatureAttributionOutput(list.SelectMany(o => o.SequenceAttributions), steps, new AttributionInfo(info));
    }

    /// <summary>The output restricted to one sequence, with that sequence's input and generated text in info and no
    /// step outputs (what Inseq's split_sequences saves per file).</summary>
    public FeatureAttributionOutput SingleSequence(int index)
    {
        var info = Info.Clone();
        foreach (string key in new[] { "input_texts", "generated_texts" })
            if (info[key] is JsonArray texts && texts.Count == SequenceAttributions.Count)
                info[key] = new JsonArray(texts[index]?.DeepClone());
        return new FeatureAttributionOutput([SequenceAttributions[index]], null, info);
    }

    /// <summary>Saves in Inseq's JSON format; returns the paths written.</summary>
    public IReadOnlyList<string> Save(string path, AttributionSaveOptions? options = null) =>
        AttributionFile.Save(this, path, options);

    /// <summary>Loads a file saved by Inseq (0.6 or ≥ 0.7) or by <see cref="Save"/>; gzip'd files are detected.</summary>
    public static FeatureAttributionOutput Load(string path) => AttributionFile.Load(path);

    /// <summary>Loads several files (e.g. the per-sequence files of a split save) and merges them.</summary>
    public static FeatureAttributionOutput Load(IEnumerable<string> paths) => Merge(paths.Select(Load));

    public string ToJson(AttributionSaveOptions? options = null) => AttributionFile.ToJson(this, options);

    public static FeatureAttributionOutput FromJson(string json) =>
        AttributionFile.Parse(System.Text.Encoding.UTF8.GetBytes(json));

    /// <summary>Self-contained HTML heatmaps of every sequence (aggregated with its default aggregator when needed).</summary>
    public string ToHtml(string title = "Inseq attributions") => AttributionHtmlRenderer.Render(this, title);

    /// <summary>Renderer-agnostic tables (source and target heatmaps, step score rows) per sequence.</summary>
    public IReadOnlyList<IReadOnlyList<AttributionTableView>> ToTableViews() =>
        SequenceAttributions.Select(s => AttributionTableView.From(s)).ToArray();

    public override string ToString() => AttributionTextRenderer.Render(this);
}
