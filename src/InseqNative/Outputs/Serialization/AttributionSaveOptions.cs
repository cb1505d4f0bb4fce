namespace InseqNative.Outputs.Serialization;

/// <summary>Options of <see cref="FeatureAttributionOutput.Save"/>, as Inseq's <c>save(...)</c> arguments.</summary>
public sealed record AttributionSaveOptions
{
    /// <summary>Replace existing files (Inseq's <c>overwrite</c>); otherwise an existing path is an error.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Gzip the whole file (Inseq's <c>compress</c>). Null: compress when the path ends in ".gz". A compressed
    /// file whose path lacks ".gz" gets it appended, as Inseq does.</summary>
    public bool? Compress { get; init; }

    /// <summary>One file per sequence, named <c>&lt;stem&gt;_&lt;i&gt;.json[.gz]</c>, each with its own input and
    /// generated text in info and no step attributions (Inseq's <c>split_sequences</c>).</summary>
    public bool SplitSequences { get; init; }

    public ScoresPrecision Precision { get; init; } = ScoresPrecision.Float32;

    /// <summary>Tensor encoding of sequence outputs; step outputs always use the 0.6 ndarray encoding, as Inseq 0.7.</summary>
    public TensorEncoding Encoding { get; init; } = TensorEncoding.Safetensors;

    /// <summary>Spaces per indentation level (Inseq uses 4); 0 writes compact JSON.</summary>
    public int Indent { get; init; } = 4;
}
