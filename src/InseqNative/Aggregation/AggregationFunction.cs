namespace InseqNative.Aggregation;

/// <summary>
/// Reduces the values along one dimension to one value (Inseq's aggregation functions). NaN propagates as in torch:
/// any NaN among the reduced values gives NaN (target rows at or after the predicted position stay NaN).
/// </summary>
public abstract class AggregationFunction
{
    /// <summary>The Inseq identifier ("mean", "vnorm", ...).</summary>
    public abstract string Name { get; }

    /// <summary>Reduces a non-empty run of values.</summary>
    public abstract float Reduce(ReadOnlySpan<float> values);

    /// <summary>Reduces dimension <paramref name="dim"/> of <paramref name="t"/> (negative counts from the end).</summary>
    public Tensor Apply(Tensor t, int dim) => t.Reduce(dim, Reduce);

    public override string ToString() => Name;

    public static AggregationFunction Mean { get; } = new MeanFunction();
    public static AggregationFunction Max { get; } = new MaxFunction();
    public static AggregationFunction Min { get; } = new MinFunction();
    public static AggregationFunction Sum { get; } = new SumFunction();
    public static AggregationFunction Prod { get; } = new ProdFunction();
    public static AggregationFunction AbsMax { get; } = new AbsMaxFunction();
    public static AggregationFunction VectorNorm { get; } = new VectorNormFunction();

    public static IReadOnlyList<AggregationFunction> All { get; } = [Mean, Max, Min, Sum, Prod, AbsMax, VectorNorm];

    public static bool TryGet(string name, out AggregationFunction function)
    {
        function = All.FirstOrDefault(f => f.Name == name)!;
        return function is not null;
    }

    /// <summary>The function with an Inseq identifier; unknown names get an error listing the known ones.</summary>
    public static AggregationFunction Get(string name) => TryGet(name, out var f)
        ? f
        : throw new InvalidInputException(
            $"unknown aggregation function '{name}'; known: {string.Join(", ", All.Select(x => x.Name))}");
}
