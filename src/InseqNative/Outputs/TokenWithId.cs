namespace InseqNative.Outputs;

/// <summary>A token as the tokenizer spells it, with its vocabulary id (−1 for tokens made by aggregation or for
/// contrastive "a → b" tokens), as Inseq's <c>inseq.utils.typing.TokenWithId</c>.</summary>
public sealed record TokenWithId(string Token, int Id)
{
    public override string ToString() => Token;
}
