namespace InseqNative;

/// <summary>Base of every error InseqNative raises on purpose: catch this to handle all of them.</summary>
public class InseqException : Exception
{
    public InseqException(string message) : base(message) { }
    public InseqException(string message, Exception? inner) : base(message, inner) { }
}

/// <summary>Caller input that cannot be used: empty text, wrong shapes, out-of-range ids, unknown names.</summary>
public class InvalidInputException : InseqException
{
    public InvalidInputException(string message) : base(message) { }
}

/// <summary>A model folder that cannot be loaded. <see cref="FilePath"/> names the offending file.</summary>
public class ModelLoadException : InseqException
{
    public string? FilePath { get; }
    public ModelLoadException(string? filePath, string problem, Exception? inner = null)
        : base(filePath is null ? problem : $"{filePath}: {problem}", inner) => FilePath = filePath;
}

/// <summary>A checkpoint file whose bytes are inconsistent (truncated, bad header, overlapping offsets, bad dtype ...).</summary>
public sealed class MalformedCheckpointException : ModelLoadException
{
    public MalformedCheckpointException(string filePath, string problem, Exception? inner = null)
        : base(filePath, problem, inner) { }
}

/// <summary>A model type or configuration feature this version does not implement.</summary>
public sealed class UnsupportedModelException : ModelLoadException
{
    public UnsupportedModelException(string? filePath, string problem) : base(filePath, problem) { }
}

/// <summary>A file the model folder needs but lacks (weights, config, tokenizer files).</summary>
public sealed class MissingModelFileException : ModelLoadException
{
    public MissingModelFileException(string folder, string problem) : base(folder, problem) { }
}

/// <summary>The requested device cannot be used (no GPU, no CUDA build, bad ordinal).</summary>
public sealed class DeviceUnavailableException : InseqException
{
    public DeviceUnavailableException(string message) : base(message) { }
}
