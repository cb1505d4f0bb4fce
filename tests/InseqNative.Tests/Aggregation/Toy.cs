using InseqNative.Outputs;

namespace InseqNative.Tests.Aggregation;

/// <summary>Small hand-made outputs for aggregator tests.</summary>
public static class Toy
{
    public const float N = float.NaN;

    public static TokenWithId[] Tokens(params string[] tokens) => tokens.Select((t, i) => new TokenWithId(t, 100 + i)).ToArray();

    public static KeyValuePair<string, Tensor> Score(string name, params float[] values) =>
        KeyValuePair.Create(name, new Tensor(values, values.Length));

    /// <summary>Decoder-only: target = tokens, prompt = first <paramref name="start"/> tokens, attributions
    /// [tokens, steps] with NaN at and after each step's predicted position (filled from <paramref name="values"/>).</summary>
    public static FeatureAttributionSequenceOutput DecoderOnly(string[] tokens, int start, float[] values,
        params KeyValuePair<string, Tensor>[] stepScores)
    {
        var target = Tokens(tokens);
        return new FeatureAttributionSequenceOutput(target[..start], target, null,
            new Tensor(values, tokens.Length, tokens.Length - start), start, null, SequenceOutputKind.Base, stepScores);
    }
}
