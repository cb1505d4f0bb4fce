using InseqNative.Outputs;

namespace InseqNative.Aggregation;

/// <summary>
/// Keeps a slice of the attributed context (Inseq 0.7's "slices"). Encoder-decoder outputs: <see cref="SourceSlice"/>
/// keeps those source tokens and their rows. Decoder-only outputs (no source attributions): the slice (given as
/// <see cref="TargetSlice"/> or <see cref="SourceSlice"/>) must lie inside the prompt [0, attr_pos_start); the prompt
/// tokens outside it are dropped from source, target and target rows, and attr_pos shifts accordingly. Step columns
/// and step scores are unchanged. Never normalizes, so columns no longer sum to 1.
/// </summary>
public sealed class SliceAggregator(TokenSpan? sourceSlice = null, TokenSpan? targetSlice = null) : IAggregator
{
    public TokenSpan? SourceSlice { get; } = sourceSlice;
    public TokenSpan? TargetSlice { get; } = targetSlice;

    public string Name => "slices";
    public bool RequiresDefaultAggregation => true;

    public FeatureAttributionSequenceOutput Aggregate(FeatureAttributionSequenceOutput output)
    {
        if (SourceSlice is null && TargetSlice is null)
            throw new InvalidInputException("slices aggregation needs a source or a target slice");
        bool decoderOnly = output.SourceAttributions is null;
        if (!decoderOnly)
        {
            if (TargetSlice is not null)
                throw new InvalidInputException(
                    "slices aggregation of an encoder-decoder output slices the source only; target slices apply to " +
                    "decoder-only outputs (the prompt part of the target)");
            var s = Check(SourceSlice!.Value, output.Source.Count, "source");
            return output.ToParts() with
            {
                Source = output.Source.Skip(s.Start).Take(s.Length).ToArray(),
                SourceAttributions = output.SourceAttributions!.Narrow(0, s.Start, s.End),
            };
        }
        if (SourceSlice is not null && TargetSlice is not null && SourceSlice != TargetSlice)
            throw new InvalidInputException("a decoder-only output has one prompt: give one slice, not two different ones");
        var slice = Check(TargetSlice ?? SourceSlice!.Value, output.AttrPosStart, "prompt (target before attr_pos_start)");
        int dropped = output.AttrPosStart - slice.Length;
        var keptRows = Enumerable.Range(slice.Start, slice.Length)
            .Concat(Enumerable.Range(output.AttrPosStart, (output.TargetAttributions?.Shape[0] ?? output.AttrPosStart) - output.AttrPosStart))
            .ToArray();
        return output.ToParts() with
        {
            Source = output.Source.Skip(slice.Start).Take(slice.Length).ToArray(),
            Target = output.Target.Skip(slice.Start).Take(slice.Length).Concat(output.Target.Skip(output.AttrPosStart)).ToArray(),
            TargetAttributions = output.TargetAttributions?.Select(0, keptRows),
            AttrPosStart = output.AttrPosStart - dropped,
            AttrPosEnd = output.AttrPosEnd - dropped,
        };
    }

    static TokenSpan Check(TokenSpan s, int count, string what) =>
        s.Start >= 0 && s.End <= count && s.End > s.Start
            ? s
            : throw new InvalidInputException($"slice {s} is not a non-empty range inside the {count} tokens of the {what}");

    public override string ToString() => $"slices({SourceSlice}, {TargetSlice})";
}
