using InseqNative.Attribution.Methods;
using InseqNative.Interop;

namespace InseqNative.Attribution;

/// <summary>The output's info: Inseq's keys (so files open in Python Inseq) plus ours (backend, strategy and why,
/// device, native build).</summary>
static class AttributionInfoBuilder
{
    public static Dictionary<string, object?> Build(AttributionModel model, AttributionMethod method,
        MethodOptions methodOptions, AttributeOptions options, IReadOnlyList<string> inputTexts,
        IReadOnlyList<SequencePlan> plans, bool constrained, AttributionStrategy strategy, string reason, double seconds)
    {
        var m = model.Model;
        var generation = new Dictionary<string, object?>();
        if (options.Generation is { } g)
        {
            if (g.MaxNewTokens is { } n) generation["max_new_tokens"] = n;
            if (g.DoSample is { } s) generation["do_sample"] = s;
            if (g.Temperature is { } t) generation["temperature"] = t;
            if (g.TopK is { } k) generation["top_k"] = k;
            if (g.TopP is { } p) generation["top_p"] = p;
            if (g.Seed is { } seed) generation["seed"] = seed;
        }
        var stepArgs = new Dictionary<string, object?>();
        if (options.StepFunctionArgs.LogProb) stepArgs["logprob"] = true;
        if (options.StepFunctionArgs.TopK != 0) stepArgs["top_k"] = options.StepFunctionArgs.TopK;
        if (options.StepFunctionArgs.TopP < 1) stepArgs["top_p"] = options.StepFunctionArgs.TopP;
        if (options.ContrastTargets is { } ct) stepArgs["contrast_targets"] = ct.ToList();
        if (options.ContrastSources is { } cs) stepArgs["contrast_sources"] = cs.ToList();
        if (options.ContrastForceInputs) stepArgs["contrast_force_inputs"] = true;
        return new Dictionary<string, object?>
        {
            ["attribution_method"] = method.Id,
            ["attr_pos_start"] = options.AttrPosStart ?? plans[0].AttrPosStart,
            ["attr_pos_end"] = options.AttrPosEnd ?? plans[0].AttrPosEnd,
            ["output_step_attributions"] = options.OutputStepAttributions,
            ["attribute_target"] = m.Config.IsEncoderDecoder && options.AttributeTarget,
            ["step_scores"] = options.StepScores.ToList(),
            ["exec_time"] = seconds,
            ["model_name"] = m.FolderPath,
            ["model_class"] = ModelClass(m),
            ["tokenizer_name"] = null,
            ["tokenizer_class"] = m.Tokenizer?.GetType().Name,
            ["include_eos_baseline"] = options.IncludeEosBaseline,
            ["attributed_fn"] = method.UsesAttributedFunction ? (options.AttributedFn ?? "probability") + "_fn" : null,
            ["attribution_args"] = methodOptions.ToInseqArgs().ToDictionary(p => p.Key, p => p.Value),
            ["attributed_fn_args"] = method.UsesAttributedFunction ? stepArgs : new Dictionary<string, object?>(),
            ["step_scores_args"] = stepArgs,
            ["input_texts"] = inputTexts.ToList(),
            ["generated_texts"] = plans.Select(p => p.GeneratedText).ToList(),
            ["generation_args"] = generation,
            ["constrained_decoding"] = constrained,
            ["generate_from_target_prefix"] = false,
            // Ours (not in Inseq): where and how it ran.
            ["backend"] = m.Device.Kind == DeviceKind.Cuda ? "cuda" : "cpu",
            ["device"] = m.Device.ToString(),
            ["device_name"] = DeviceName(m.Device),
            ["gemm_precision"] = m.Precision.Id(),
            ["granular_attributions"] = options.GranularAttributions,
            ["strategy"] = strategy.ToString().ToLowerInvariant(),
            ["strategy_reason"] = reason,
            ["native_build"] = NativeInfo.BuildInfo(),
            ["generated_ids_round_trip"] = options.ReproduceInseqRoundTrip,
        };
    }

    /// <summary>"cpu" or the CUDA device's name, architecture and driver / runtime versions.</summary>
    static string DeviceName(Device device) =>
        device.Kind == DeviceKind.Cuda ? CudaDeviceInfo.Query(device.Ordinal).ToString() : "cpu";

    static string ModelClass(TransformerModel m) => m.Config.ModelType switch
    {
        "gpt2" => "GPT2LMHeadModel",
        "llama" => "LlamaForCausalLM",
        "mistral" => "MistralForCausalLM",
        "qwen2" => "Qwen2ForCausalLM",
        "marian" => "MarianMTModel",
        "m2m_100" => "M2M100ForConditionalGeneration",
        "t5" => "T5ForConditionalGeneration",
        var t => t,
    };
}
