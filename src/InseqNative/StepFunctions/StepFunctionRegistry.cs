namespace InseqNative.StepFunctions;

/// <summary>
/// Step functions by id: Inseq's built-ins plus any the caller registers. One registry per
/// <c>AttributionModel</c> (never process-global state); ids are Inseq's.
/// </summary>
public sealed class StepFunctionRegistry
{
    readonly Dictionary<string, StepFunction> _functions = new(StringComparer.Ordinal);

    public StepFunctionRegistry()
    {
        foreach (var f in BuiltIns()) _functions[f.Id] = f;
    }

    public static IEnumerable<StepFunction> BuiltIns() =>
    [
        new LogitFunction(), new ProbabilityFunction(), new EntropyFunction(), new CrossEntropyFunction(),
        new PerplexityFunction(), new ContrastLogitsFunction(), new ContrastProbFunction(),
        new ContrastLogitsDiffFunction(), new ContrastProbDiffFunction(), new PcxmiFunction(),
        new KlDivergenceFunction(), new InContextPviFunction(), new TopPSizeFunction(),
    ];

    public IReadOnlyCollection<string> Ids => _functions.Keys;

    public StepFunction Get(string id)
    {
        var key = id.EndsWith("_fn", StringComparison.Ordinal) ? id[..^3] : id; // Inseq's info writes "probability_fn"
        if (_functions.TryGetValue(key, out var f)) return f;
        throw new InvalidInputException(
            $"unknown step function '{id}'; known: {string.Join(", ", _functions.Keys.Order())}. Register your own with RegisterStepFunction.");
    }

    public void Register(StepFunction function, bool overwrite = false)
    {
        if (_functions.ContainsKey(function.Id) && !overwrite)
            throw new InvalidInputException($"step function '{function.Id}' is already registered (pass overwrite: true to replace it)");
        _functions[function.Id] = function;
    }
}
