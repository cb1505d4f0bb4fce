namespace InseqNative.Aggregation;

/// <summary>How merged spans combine step scores by default (Inseq's DEFAULT_ATTRIBUTION_AGGREGATE_DICT): probabilities
/// multiply, information quantities add. Names not listed use the span aggregator's own function.</summary>
public static class StepScoreSpanFunctions
{
    public static IReadOnlyDictionary<string, AggregationFunction> Defaults { get; } =
        new Dictionary<string, AggregationFunction>
        {
            ["probability"] = AggregationFunction.Prod,
            ["entropy"] = AggregationFunction.Sum,
            ["crossentropy"] = AggregationFunction.Sum,
            ["perplexity"] = AggregationFunction.Prod,
            ["contrast_prob_diff"] = AggregationFunction.Prod,
            ["contrast_prob"] = AggregationFunction.Prod,
            ["pcxmi"] = AggregationFunction.Sum,
            ["kl_divergence"] = AggregationFunction.Sum,
            ["mc_dropout_prob_avg"] = AggregationFunction.Prod,
        };
}
