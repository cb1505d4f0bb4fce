namespace InseqNative.Outputs.Serialization;

/// <summary>An attribution file that cannot be read: not JSON, an unknown class, a malformed tensor ...
/// <see cref="FilePath"/> names the file when there is one.</summary>
public sealed class AttributionFileException : InseqException
{
    public string? FilePath { get; }

    public AttributionFileException(string? filePath, string problem, Exception? inner = null)
        : base(filePath is null ? problem : $"{filePath}: {problem}", inner) => FilePath = filePath;
}
