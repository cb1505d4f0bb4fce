namespace InseqNative.Aggregation;

/// <summary>Where separator tokens go when <see cref="SplitAggregator"/> cuts a sequence into spans.</summary>
public enum SplitMode
{
    /// <summary>Separators stay on their own; the tokens between them are merged.</summary>
    Single,

    /// <summary>A separator starts the span that follows it.</summary>
    Start,

    /// <summary>A separator ends the span that precedes it.</summary>
    End,
}
