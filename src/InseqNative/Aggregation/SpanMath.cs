using InseqNative.Outputs;

namespace InseqNative.Aggregation;

/// <summary>Shared arithmetic of the span-merging aggregators: validating spans, merging tokens, and collapsing each
/// span of a tensor dimension into one entry.</summary>
internal static class SpanMath
{
    /// <summary>Checks spans are non-empty, ascending, non-overlapping and inside a sequence of
    /// <paramref name="count"/> tokens; returns them sorted as given.</summary>
    public static IReadOnlyList<TokenSpan> Validate(IReadOnlyList<TokenSpan>? spans, int count, string side)
    {
        if (spans is null || spans.Count == 0) return [];
        int previousEnd = 0;
        foreach (var s in spans)
        {
            if (s.End <= s.Start)
                throw new InvalidInputException($"{side} span {s} is empty; spans are (start, end) with end > start");
            if (s.Start < previousEnd)
                throw new InvalidInputException(
                    $"{side} spans must be non-negative, non-overlapping and in ascending order, got [{string.Join(", ", spans)}]");
            if (s.End > count)
                throw new InvalidInputException($"{side} span {s} goes past the {count} {side} tokens");
            previousEnd = s.End;
        }
        return spans.Where(s => s.Length > 1).ToArray();
    }

    /// <summary>Cuts spans at the given positions so no span crosses one (e.g. attr_pos_start).</summary>
    public static IReadOnlyList<TokenSpan> CutAt(IReadOnlyList<TokenSpan> spans, params int[] cuts)
    {
        var result = new List<TokenSpan>();
        foreach (var span in spans)
        {
            int start = span.Start;
            foreach (int cut in cuts.Where(c => c > span.Start && c < span.End).Order())
            {
                result.Add(new TokenSpan(start, cut));
                start = cut;
            }
            result.Add(new TokenSpan(start, span.End));
        }
        return result.Where(s => s.Length > 1).ToArray();
    }

    /// <summary>Spans inside [from, to), shifted to start at 0 (target spans → step columns).</summary>
    public static IReadOnlyList<TokenSpan> Relative(IReadOnlyList<TokenSpan> spans, int from, int to) =>
        spans.Where(s => s.Start >= from && s.End <= to).Select(s => new TokenSpan(s.Start - from, s.End - from)).ToArray();

    /// <summary>Spans clipped to [0, count).</summary>
    public static IReadOnlyList<TokenSpan> Clip(IReadOnlyList<TokenSpan> spans, int count) =>
        spans.Where(s => s.Start < count).Select(s => new TokenSpan(s.Start, Math.Min(s.End, count)))
            .Where(s => s.Length > 1).ToArray();

    /// <summary>Number of entries before <paramref name="position"/> once the spans are merged.</summary>
    public static int MergedPosition(IReadOnlyList<TokenSpan> spans, int position) =>
        position - spans.Where(s => s.End <= position).Sum(s => s.Length - 1);

    /// <summary>Merges each span of tokens into one token with the concatenated text and id −1.</summary>
    public static IReadOnlyList<TokenWithId> MergeTokens(IReadOnlyList<TokenWithId> tokens, IReadOnlyList<TokenSpan> spans)
    {
        var result = new List<TokenWithId>();
        foreach (var group in Groups(tokens.Count, spans))
            result.Add(group.Length == 1
                ? tokens[group.Start]
                : new TokenWithId(string.Concat(tokens.Skip(group.Start).Take(group.Length).Select(t => t.Token)), -1));
        return result;
    }

    /// <summary>Collapses every span of dimension <paramref name="dim"/> with <paramref name="function"/>; other entries
    /// are copied.</summary>
    public static Tensor Collapse(Tensor t, int dim, IReadOnlyList<TokenSpan> spans, AggregationFunction function)
    {
        if (spans.Count == 0) return t;
        int axis = t.Axis(dim);
        int size = t.Shape[axis];
        var groups = Groups(size, spans);
        int outer = 1, inner = 1;
        for (int i = 0; i < axis; i++) outer *= t.Shape[i];
        for (int i = axis + 1; i < t.Rank; i++) inner *= t.Shape[i];
        var shape = (int[])t.Shape.Clone();
        shape[axis] = groups.Count;
        var result = new float[(long)outer * groups.Count * inner];
        var buffer = new float[size];
        for (int o = 0; o < outer; o++)
            for (int g = 0; g < groups.Count; g++)
                for (int n = 0; n < inner; n++)
                {
                    var group = groups[g];
                    for (int i = 0; i < group.Length; i++)
                        buffer[i] = t.Data[((long)o * size + group.Start + i) * inner + n];
                    result[((long)o * groups.Count + g) * inner + n] =
                        group.Length == 1 ? buffer[0] : function.Reduce(buffer.AsSpan(0, group.Length));
                }
        return new Tensor(result, shape);
    }

    /// <summary>The whole range [0, count) as consecutive groups: the spans, and single positions between them.</summary>
    public static List<TokenSpan> Groups(int count, IReadOnlyList<TokenSpan> spans)
    {
        var groups = new List<TokenSpan>();
        int position = 0;
        foreach (var span in spans)
        {
            for (; position < span.Start; position++) groups.Add(new TokenSpan(position, position + 1));
            groups.Add(span);
            position = span.End;
        }
        for (; position < count; position++) groups.Add(new TokenSpan(position, position + 1));
        return groups;
    }

    /// <summary>Spans from a per-token "starts a new group" flag: maximal runs of length ≥ 2.</summary>
    public static IReadOnlyList<TokenSpan> FromGroupStarts(IReadOnlyList<bool> startsGroup)
    {
        var spans = new List<TokenSpan>();
        int start = 0;
        for (int i = 1; i <= startsGroup.Count; i++)
            if (i == startsGroup.Count || startsGroup[i])
            {
                if (i - start > 1) spans.Add(new TokenSpan(start, i));
                start = i;
            }
        return spans;
    }
}
