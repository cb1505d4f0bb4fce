namespace InseqNative.Aggregation;

/// <summary>Token positions <see cref="Start"/> (inclusive) to <see cref="End"/> (exclusive), as Inseq's (start, end)
/// index spans.</summary>
public readonly record struct TokenSpan(int Start, int End)
{
    public int Length => End - Start;

    public static implicit operator TokenSpan((int Start, int End) span) => new(span.Start, span.End);

    public override string ToString() => $"({Start}, {End})";
}
