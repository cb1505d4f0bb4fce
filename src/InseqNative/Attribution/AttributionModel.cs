using System.Diagnostics;
using InseqNative.Attribution.Methods;
using InseqNative.Outputs;
using InseqNative.StepFunctions;

namespace InseqNative.Attribution;

/// <summary>
/// A model ready to attribute (Inseq's <c>AttributionModel</c>): the native transformer, a default method, and a
/// registry of step functions (built-ins plus yours). <see cref="Attribute(IReadOnlyList{string}, IReadOnlyList{string}?, AttributeOptions?)"/>
/// generates when no target is given, then attributes every generated token.
/// </summary>
public sealed class AttributionModel : IDisposable
{
    public TransformerModel Model { get; }
    /// <summary>The method used when the options name none.</summary>
    public string DefaultMethod { get; }
    public StepFunctionRegistry StepFunctions { get; } = new();

    /// <summary>Wraps a loaded (or in-memory) model; the model is disposed with this object.</summary>
    public AttributionModel(TransformerModel model, string defaultMethod = "saliency")
    {
        Model = model;
        MethodRegistry.Get(defaultMethod); // validates the id, listing the known ones
        DefaultMethod = defaultMethod;
    }

    /// <summary>Registers a user step function (Inseq's register_step_function) for this model.</summary>
    public void RegisterStepFunction(StepFunction function, bool overwrite = false) => StepFunctions.Register(function, overwrite);

    public FeatureAttributionOutput Attribute(string inputText, string? generatedText = null, AttributeOptions? options = null) =>
        Attribute([inputText], generatedText is null ? null : [generatedText], options);

    public FeatureAttributionOutput Attribute(IReadOnlyList<string> inputTexts, IReadOnlyList<string>? generatedTexts = null,
        AttributeOptions? options = null)
    {
        options ??= new AttributeOptions();
        var watch = Stopwatch.StartNew();
        Validate(options);
        var plans = PlanBuilder.Build(Model, inputTexts, generatedTexts, options);
        return Run(plans, inputTexts, generatedTexts is not null, options, watch);
    }

    /// <summary>Attributes pre-tokenized sequences: each target (prompt + continuation) is forced; works without a
    /// tokenizer (tokens are then shown as ids).</summary>
    /// <summary>The string-keyed form for Inseq users: Inseq's argument names and ids, e.g.
    /// <c>{"method": "integrated_gradients", "n_steps": 16, "step_scores": ["probability"], "attr_pos_start": -3}</c>.
    /// Unknown names are errors listing the known ones.</summary>
    public FeatureAttributionOutput Attribute(IReadOnlyList<string> inputTexts, IReadOnlyList<string>? generatedTexts,
        IReadOnlyDictionary<string, object?> inseqArguments) =>
        Attribute(inputTexts, generatedTexts, InseqArguments.ToOptions(inseqArguments));

    /// <param name="contrastTargetIds">Pre-tokenized contrast targets (one per sequence) instead of
    /// <see cref="AttributeOptions.ContrastTargets"/> texts.</param>
    public FeatureAttributionOutput AttributeIds(IReadOnlyList<int[]> promptIds, IReadOnlyList<int[]> targetIds,
        AttributeOptions? options = null, IReadOnlyList<int[]>? contrastTargetIds = null)
    {
        options ??= new AttributeOptions();
        var watch = Stopwatch.StartNew();
        Validate(options);
        var texts = promptIds.Select(ids => Model.Tokenizer?.Decode(ids) ?? string.Join(" ", ids)).ToArray();
        var generated = targetIds.Select(ids => Model.Tokenizer?.Decode(ids) ?? string.Join(" ", ids)).ToArray();
        var plans = PlanBuilder.FromIds(Model, texts, generated, promptIds, targetIds, options, contrastTargetIds);
        return Run(plans, texts, true, options, watch);
    }

    void Validate(AttributeOptions options)
    {
        var method = MethodRegistry.Get(options.Method ?? DefaultMethod);
        var methodOptions = options.MethodOptions ?? method.DefaultOptions;
        if (!method.OptionsType.IsInstanceOfType(methodOptions))
            throw new InvalidInputException(
                $"method '{method.Id}' takes {method.OptionsType.Name}, got {methodOptions.GetType().Name}");
        foreach (var id in options.StepScores) StepFunctions.Get(id);
        if (options.AttributedFn is { } fnId) StepFunctions.Get(fnId);
    }

    FeatureAttributionOutput Run(IReadOnlyList<SequencePlan> plans, IReadOnlyList<string> inputTexts, bool constrained,
        AttributeOptions options, Stopwatch watch)
    {
        var prepareSeconds = watch.Elapsed.TotalSeconds; // tokenization (+ generation when no target was given)
        var method = MethodRegistry.Get(options.Method ?? DefaultMethod);
        var methodOptions = options.MethodOptions ?? method.DefaultOptions;
        var (strategy, reason) = ChooseStrategy(options);
        var (rowChunk, cotangents) = SizeChunks(plans.Max(p => Math.Max(p.Length, p.SourceOffset)), plans.Max(p => p.Steps), methodOptions, options);
        var attributor = new SequenceAttributor(Model, StepFunctions, options, method, methodOptions,
            CreateRunner(strategy, rowChunk, cotangents, options));
        var sequences = new List<FeatureAttributionSequenceOutput>();
        var stepsDone = 0;
        var memoryRetries = new List<string>();
        foreach (var plan in plans)
        {
            while (true)
            {
                try
                {
                    sequences.Add(attributor.Attribute(plan));
                    break;
                }
                catch (DeviceOutOfMemoryException e) when (Shrink(ref rowChunk, ref cotangents))
                {
                    // The device had less free memory than the budget assumed (another process, fragmentation): the
                    // arena that failed is already released; the sequence runs again with half the chunk.
                    memoryRetries.Add($"{e.NativeMessage} -> retried with {rowChunk} rows, {cotangents} cotangent rows");
                    attributor = new SequenceAttributor(Model, StepFunctions, options, method, methodOptions,
                        CreateRunner(strategy, rowChunk, cotangents, options));
                }
            }
            stepsDone += plan.Steps;
            options.Progress?.Report(new AttributionProgress(sequences.Count, plans.Count, stepsDone));
        }

        var info = AttributionInfoBuilder.Build(this, method, methodOptions, options, inputTexts, plans,
            constrained, strategy, reason, watch.Elapsed.TotalSeconds);
        info["timings"] = new Dictionary<string, object?>
        {
            ["prepare_s"] = prepareSeconds,
            ["attribute_s"] = watch.Elapsed.TotalSeconds - prepareSeconds,
            ["attributed_tokens"] = stepsDone,
            ["row_chunk"] = rowChunk,
            ["cotangent_rows"] = cotangents,
        };
        if (memoryRetries.Count > 0) ((Dictionary<string, object?>)info["timings"]!)["out_of_memory_retries"] = memoryRetries;
        var steps = options.OutputStepAttributions ? StepOutputs.From(sequences) : null;
        return new FeatureAttributionOutput(sequences, steps, info);
    }

    StepRunner CreateRunner(AttributionStrategy strategy, int rowChunk, int cotangents, AttributeOptions options)
    {
        var runner = StepRunner.Create(strategy, Model, rowChunk, cotangents);
        runner.HostAccumulation = options.HostGradientAccumulation;
        return runner;
    }

    /// <summary>Every method of this engine can run fused; Stepwise is Inseq's algorithm, on request.</summary>
    static (AttributionStrategy, string) ChooseStrategy(AttributeOptions options) => options.Strategy switch
    {
        AttributionStrategy.Stepwise => (AttributionStrategy.Stepwise, "requested"),
        AttributionStrategy.Fused => (AttributionStrategy.Fused, "requested"),
        _ => (AttributionStrategy.Fused, "default: forced targets, every step shares one teacher-forced forward"),
    };

    /// <summary>Rows forwarded together and cotangent rows per backward, shrunk until the arena fits the budget.</summary>
    (int Rows, int Cotangents) SizeChunks(int length, int steps, MethodOptions methodOptions, AttributeOptions options)
    {
        var rows = methodOptions is IntegratedGradientsOptions { InternalBatchSize: { } ibs } ? Math.Max(1, ibs) : 8;
        var cot = Math.Min(Math.Max(rows, rows * Math.Max(1, steps)), 512);
        while (Model.ContextMemoryBytes(rows, length, cot) > options.MemoryBudgetBytes && Shrink(ref rows, ref cot)) { }
        return (rows, cot);
    }

    /// <summary>Halves the cotangent rows down to the row chunk, else the row chunk; false at 1 row, 1 cotangent row.</summary>
    static bool Shrink(ref int rows, ref int cotangents)
    {
        if (cotangents > rows) cotangents = Math.Max(rows, cotangents / 2);
        else if (rows > 1) rows /= 2;
        else return false;
        return true;
    }

    public void Dispose() => Model.Dispose();
}
