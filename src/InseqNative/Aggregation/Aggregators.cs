namespace InseqNative.Aggregation;

/// <summary>Look-up of aggregators by their Inseq identifiers.</summary>
public static class Aggregators
{
    static readonly string[] NeedArguments = ["spans", "split", "pair", "slices"];

    /// <summary>"subwords" → <see cref="SubwordAggregator"/> with defaults; an aggregation function name ("vnorm",
    /// "mean", ...) → <see cref="ScoresAggregator"/> with that function. Aggregators needing arguments must be
    /// constructed.</summary>
    public static IAggregator FromName(string name)
    {
        if (name == "subwords") return new SubwordAggregator();
        if (name == "scores") return new ScoresAggregator(AggregationFunction.VectorNorm);
        if (AggregationFunction.TryGet(name, out var function)) return new ScoresAggregator(function);
        if (NeedArguments.Contains(name))
            throw new InvalidInputException(
                $"aggregator '{name}' needs arguments; construct {name switch { "spans" => nameof(SpansAggregator), "split" => nameof(SplitAggregator), "pair" => nameof(PairAggregator), _ => nameof(SliceAggregator) }} instead");
        throw new InvalidInputException(
            $"unknown aggregator or aggregation function '{name}'; known aggregators: scores, spans, subwords, split, " +
            $"pair, slices; functions: {string.Join(", ", AggregationFunction.All.Select(f => f.Name))}");
    }
}
