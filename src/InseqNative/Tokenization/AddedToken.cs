namespace InseqNative.Tokenization;

/// <summary>A token matched verbatim in the input before the model's own tokenization runs (Hugging Face
/// "added tokens"): special tokens such as &lt;|endoftext|&gt; and user additions.</summary>
public sealed record AddedToken(
    string Content,
    int Id,
    bool Special,
    bool LStrip = false,
    bool RStrip = false,
    bool SingleWord = false,
    bool Normalized = false);
