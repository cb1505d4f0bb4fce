using System.Text.Json;
using InseqNative.Generation;
using InseqNative.StepFunctions;

namespace InseqNative.Attribution;

/// <summary>
/// Maps Inseq's snake_case keyword arguments onto the typed options (the string-keyed API and the CLI use it).
/// Values may be CLR values or <see cref="JsonElement"/>s. Unknown names are errors that list the known ones.
/// </summary>
public static class InseqArguments
{
    static readonly string[] TopLevel =
    [
        "method", "attr_pos_start", "attr_pos_end", "step_scores", "attributed_fn", "include_eos_baseline", "attribute_target",
        "batch_size", "generation_args", "output_step_attributions", "skip_special_tokens", "clean_special_chars",
        "contrast_targets", "contrast_sources", "contrast_targets_alignments", "contrast_force_inputs", "strategy", "logprob", "top_k",
        "top_p", "min_tokens_to_keep", "attribution_args", "step_scores_args", "attributed_fn_args",
        "reproduce_inseq_round_trip",
    ];

    static readonly string[] MethodArgNames =
        ["n_steps", "method", "internal_batch_size", "return_convergence_delta", "n_samples", "stdevs", "seed", "layer", "target_layer"];

    /// <summary>Top-level arguments of <c>model.attribute</c>, plus any method arguments (n_steps, ...) given at
    /// the top level as Inseq allows.</summary>
    public static AttributeOptions ToOptions(IReadOnlyDictionary<string, object?> kwargs, AttributeOptions? start = null)
    {
        var o = start ?? new AttributeOptions();
        var methodArgs = new Dictionary<string, object?>();
        var stepArgs = o.StepFunctionArgs;
        foreach (var (key, value) in kwargs)
        {
            switch (key)
            {
                case "method": o = o with { Method = Str(key, value) }; break;
                case "attr_pos_start": o = o with { AttrPosStart = NullableInt(key, value) }; break;
                case "attr_pos_end": o = o with { AttrPosEnd = NullableInt(key, value) }; break;
                case "step_scores": o = o with { StepScores = Strings(key, value) }; break;
                case "attributed_fn": o = o with { AttributedFn = value is null ? null : Str(key, value) }; break;
                case "include_eos_baseline": o = o with { IncludeEosBaseline = Bool(key, value) }; break;
                case "attribute_target": o = o with { AttributeTarget = Bool(key, value) }; break;
                case "batch_size": o = o with { BatchSize = NullableInt(key, value) }; break;
                case "generation_args": o = o with { Generation = ToGeneration(Dict(key, value)) }; break;
                case "output_step_attributions": o = o with { OutputStepAttributions = Bool(key, value) }; break;
                case "skip_special_tokens": o = o with { SkipSpecialTokens = Bool(key, value) }; break;
                case "clean_special_chars": o = o with { CleanSpecialChars = Bool(key, value) }; break;
                case "contrast_targets": o = o with { ContrastTargets = Strings(key, value) }; break;
                case "contrast_sources": o = o with { ContrastSources = Strings(key, value) }; break;
                case "contrast_targets_alignments": o = o with { ContrastTargetsAlignments = Alignments(key, value) }; break;
                case "contrast_force_inputs": o = o with { ContrastForceInputs = Bool(key, value) }; break;
                case "reproduce_inseq_round_trip": o = o with { ReproduceInseqRoundTrip = Bool(key, value) }; break;
                case "strategy":
                    o = o with
                    {
                        Strategy = Str(key, value).ToLowerInvariant() switch
                        {
                            "auto" => AttributionStrategy.Auto, "fused" => AttributionStrategy.Fused,
                            "stepwise" => AttributionStrategy.Stepwise,
                            var s => throw new InvalidInputException($"unknown strategy '{s}' (auto, fused, stepwise)"),
                        },
                    };
                    break;
                case "logprob": stepArgs = stepArgs with { LogProb = Bool(key, value) }; break;
                case "top_k": stepArgs = stepArgs with { TopK = Int(key, value) }; break;
                case "top_p": stepArgs = stepArgs with { TopP = Float(key, value) }; break;
                case "min_tokens_to_keep": stepArgs = stepArgs with { MinTokensToKeep = Int(key, value) }; break;
                case "step_scores_args" or "attributed_fn_args":
                    foreach (var (k, v) in Dict(key, value))
                        stepArgs = k switch
                        {
                            "logprob" => stepArgs with { LogProb = Bool(k, v) },
                            "top_k" => stepArgs with { TopK = Int(k, v) },
                            "top_p" => stepArgs with { TopP = Float(k, v) },
                            "min_tokens_to_keep" => stepArgs with { MinTokensToKeep = Int(k, v) },
                            "contrast_targets" or "contrast_sources" => stepArgs,
                            _ => throw new InvalidInputException($"unknown step function argument '{k}' (logprob, top_k, top_p, min_tokens_to_keep)"),
                        };
                    break;
                case "attribution_args":
                    foreach (var (k, v) in Dict(key, value)) methodArgs[k] = v;
                    break;
                default:
                    if (MethodArgNames.Contains(key)) { methodArgs[key] = value; break; }
                    throw new InvalidInputException(
                        $"unknown argument '{key}'; known: {string.Join(", ", TopLevel.Concat(MethodArgNames).Order())}");
            }
        }
        o = o with { StepFunctionArgs = stepArgs };
        if (methodArgs.Count > 0)
            o = o with { MethodOptions = ToMethodOptions(o.Method ?? "saliency", methodArgs, o.MethodOptions) };
        return o;
    }

    /// <summary>Method options from Inseq/Captum argument names (e.g. {"n_steps": 16, "method": "riemann_trapezoid"}).</summary>
    public static MethodOptions ToMethodOptions(string method, IReadOnlyDictionary<string, object?> args, MethodOptions? start = null)
    {
        switch (method)
        {
            case "integrated_gradients":
                return ToIntegrated(args, start as IntegratedGradientsOptions ?? new IntegratedGradientsOptions(), method);
            case "layer_integrated_gradients" or "layer_gradient_x_activation":
            {
                var layer = start as LayerOptions ?? new LayerOptions();
                var rest = new Dictionary<string, object?>();
                foreach (var (k, v) in args)
                    if (k is "layer" or "target_layer") layer = layer with { Layer = Str(k, v) };
                    else rest[k] = v;
                if (rest.Count > 0)
                {
                    if (method == "layer_gradient_x_activation")
                        throw new InvalidInputException($"layer_gradient_x_activation takes only 'layer', got {string.Join(", ", rest.Keys)}");
                    layer = layer with { Integration = ToIntegrated(rest, layer.Integration, method) };
                }
                return layer;
            }
            case "gradient_shap":
            {
                var g = start as GradientShapOptions ?? new GradientShapOptions();
                foreach (var (k, v) in args)
                    g = k switch
                    {
                        "n_samples" => g with { Samples = Int(k, v) },
                        "stdevs" => g with { StdDev = Float(k, v) },
                        "seed" => g with { Seed = Int(k, v) },
                        _ => throw new InvalidInputException($"gradient_shap has no argument '{k}' (n_samples, stdevs, seed)"),
                    };
                return g;
            }
            default:
                if (args.Count > 0)
                    throw new InvalidInputException($"method '{method}' takes no arguments, got {string.Join(", ", args.Keys)}");
                return start ?? NoOptions.Instance;
        }
    }

    static IntegratedGradientsOptions ToIntegrated(IReadOnlyDictionary<string, object?> args, IntegratedGradientsOptions ig, string method)
    {
        foreach (var (k, v) in args)
            ig = k switch
            {
                "n_steps" => ig with { Steps = Int(k, v) },
                "method" => ig with { Rule = QuadratureRule.Parse(Str(k, v)) },
                "internal_batch_size" => ig with { InternalBatchSize = NullableInt(k, v) },
                "return_convergence_delta" => ig with { ReturnConvergenceDelta = Bool(k, v) },
                _ => throw new InvalidInputException(
                    $"{method} has no argument '{k}' (n_steps, method, internal_batch_size, return_convergence_delta)"),
            };
        return ig;
    }

    public static GenerationOptions ToGeneration(IReadOnlyDictionary<string, object?> args)
    {
        var g = new GenerationOptions();
        foreach (var (k, v) in args)
            g = k switch
            {
                "max_new_tokens" => g with { MaxNewTokens = Int(k, v) },
                "do_sample" => g with { DoSample = Bool(k, v) },
                "temperature" => g with { Temperature = Float(k, v) },
                "top_k" => g with { TopK = Int(k, v) },
                "top_p" => g with { TopP = Float(k, v) },
                "seed" => g with { Seed = Int(k, v) },
                _ => throw new InvalidInputException(
                    $"unsupported generation argument '{k}' (max_new_tokens, do_sample, temperature, top_k, top_p, seed)"),
            };
        return g;
    }

    /// <summary>Parses a JSON object into a string-keyed dictionary of JsonElements.</summary>
    public static Dictionary<string, object?> ParseJsonObject(string json, string what)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new InvalidInputException($"{what} must be a JSON object, got {doc.RootElement.ValueKind}");
            return doc.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone());
        }
        catch (JsonException e)
        {
            throw new InvalidInputException($"{what} is not valid JSON: {e.Message}");
        }
    }

    static string Str(string key, object? v) => v switch
    {
        string s => s,
        JsonElement { ValueKind: JsonValueKind.String } e => e.GetString()!,
        _ => throw Bad(key, v, "a string"),
    };

    static int Int(string key, object? v) => NullableInt(key, v) ?? throw Bad(key, v, "an integer");

    static int? NullableInt(string key, object? v) => v switch
    {
        null => null,
        int i => i,
        long l => checked((int)l),
        JsonElement { ValueKind: JsonValueKind.Null } => null,
        JsonElement { ValueKind: JsonValueKind.Number } e when e.TryGetInt32(out var i) => i,
        _ => throw Bad(key, v, "an integer"),
    };

    static float Float(string key, object? v) => v switch
    {
        float f => f,
        double d => (float)d,
        int i => i,
        JsonElement { ValueKind: JsonValueKind.Number } e => e.GetSingle(),
        _ => throw Bad(key, v, "a number"),
    };

    static bool Bool(string key, object? v) => v switch
    {
        bool b => b,
        JsonElement { ValueKind: JsonValueKind.True } => true,
        JsonElement { ValueKind: JsonValueKind.False } => false,
        _ => throw Bad(key, v, "true or false"),
    };

    static IReadOnlyList<string> Strings(string key, object? v) => v switch
    {
        string s => [s],
        IEnumerable<string> list => list.ToArray(),
        JsonElement { ValueKind: JsonValueKind.String } e => [e.GetString()!],
        JsonElement { ValueKind: JsonValueKind.Array } e => e.EnumerateArray().Select(x => Str(key, x)).ToArray(),
        _ => throw Bad(key, v, "a string or a list of strings"),
    };

    static IReadOnlyDictionary<string, object?> Dict(string key, object? v) => v switch
    {
        IReadOnlyDictionary<string, object?> d => d,
        JsonElement { ValueKind: JsonValueKind.Object } e => e.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value),
        _ => throw Bad(key, v, "an object"),
    };

    static IReadOnlyList<IReadOnlyList<(int, int)>> Alignments(string key, object? v)
    {
        if (v is IReadOnlyList<IReadOnlyList<(int, int)>> typed) return typed;
        if (v is not JsonElement { ValueKind: JsonValueKind.Array } e) throw Bad(key, v, "a list of [target, contrast] pairs");
        var items = e.EnumerateArray().ToList();
        // One list of pairs for a single sequence, or one list per sequence.
        var perSequence = items.Count > 0 && items[0].ValueKind == JsonValueKind.Array && items[0].GetArrayLength() > 0
                          && items[0][0].ValueKind == JsonValueKind.Array;
        IReadOnlyList<(int, int)> Pairs(JsonElement list) => list.EnumerateArray()
            .Select(p => p.GetArrayLength() == 2 ? (p[0].GetInt32(), p[1].GetInt32()) : throw Bad(key, v, "pairs of two integers"))
            .ToArray();
        return perSequence ? items.Select(Pairs).ToArray() : [Pairs(e)];
    }

    static InvalidInputException Bad(string key, object? v, string expected) =>
        new($"argument '{key}' must be {expected}, got {(v is JsonElement e ? e.GetRawText() : v?.ToString() ?? "null")}");
}
