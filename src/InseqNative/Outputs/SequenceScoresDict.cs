namespace InseqNative.Outputs;

/// <summary>One attributed token's score for one generated token.</summary>
public sealed record TokenScore(int Index, string Token, float Score);

/// <summary>Everything known about one generated token: the scores of source and target tokens, and its step scores.</summary>
public sealed record GeneratedTokenScores(
    int Index,
    string Token,
    IReadOnlyList<TokenScore> SourceAttributions,
    IReadOnlyList<TokenScore> TargetAttributions,
    IReadOnlyDictionary<string, float> StepScores);

/// <summary>
/// Inseq's <c>get_scores_dicts</c> for one sequence: per generated token, the score of every attributed token. Unlike
/// Inseq's nested dicts keyed by token text, entries keep their positions, so repeated tokens do not overwrite each
/// other. NaN target scores (the predicted token and later ones) are left out.
/// </summary>
public sealed record SequenceScoresDict(IReadOnlyList<GeneratedTokenScores> Steps)
{
    public static SequenceScoresDict From(FeatureAttributionSequenceOutput output)
    {
        if (output.AttributionRank != 2)
            throw new InvalidInputException(
                $"scores dicts need [tokens, steps] attributions; aggregate this {output.InseqClassName} first");
        var steps = new List<GeneratedTokenScores>();
        for (int k = 0; k < output.StepCount; k++)
        {
            int position = output.AttrPosStart + k;
            steps.Add(new GeneratedTokenScores(position, output.Target[position].Token,
                Column(output.SourceAttributions, output.Source, k),
                Column(output.TargetAttributions, output.Target, k),
                output.StepScores.ToDictionary(p => p.Key, p => p.Value.Data[k])));
        }
        return new SequenceScoresDict(steps);
    }

    static IReadOnlyList<TokenScore> Column(Tensor? t, IReadOnlyList<TokenWithId> tokens, int step)
    {
        if (t is null) return [];
        var result = new List<TokenScore>();
        for (int r = 0; r < t.Shape[0]; r++)
        {
            float v = t.Data[(long)r * t.Shape[1] + step];
            if (!float.IsNaN(v)) result.Add(new TokenScore(r, tokens[r].Token, v));
        }
        return result;
    }
}
