namespace InseqNative.Outputs.Serialization;

/// <summary>Saving and loading <see cref="FeatureAttributionOutput"/> files in Inseq's format.</summary>
public static class AttributionFile
{
    static readonly byte[] GzipMagic = [0x1F, 0x8B];

    /// <summary>Writes the output; returns the paths written (several with <see cref="AttributionSaveOptions.SplitSequences"/>).</summary>
    public static IReadOnlyList<string> Save(FeatureAttributionOutput output, string path, AttributionSaveOptions? options = null)
    {
        options ??= new AttributionSaveOptions();
        bool compress = options.Compress ?? path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);
        var files = new List<(string Path, FeatureAttributionOutput Output)>();
        if (options.SplitSequences)
        {
            string stem = path.Split(".json")[0];
            for (int i = 0; i < output.SequenceAttributions.Count; i++)
                files.Add(($"{stem}_{i}.json{(compress ? ".gz" : "")}", output.SingleSequence(i)));
        }
        else
            files.Add((compress && !path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? path + ".gz" : path, output));
        if (!options.Overwrite)
            foreach (var (p, _) in files)
                if (File.Exists(p))
                    throw new InvalidInputException($"{p} already exists; save with Overwrite = true to replace it");
        foreach (var (p, o) in files)
        {
            byte[] json = AttributionJsonWriter.Write(o, options, compress);
            string? folder = Path.GetDirectoryName(Path.GetFullPath(p));
            if (folder is not null) Directory.CreateDirectory(folder);
            File.WriteAllBytes(p, compress ? TensorJsonCodec.Gzip(json, System.IO.Compression.CompressionLevel.Optimal) : json);
        }
        return files.Select(f => f.Path).ToArray();
    }

    /// <summary>Reads a file written by Inseq (0.6 or 0.7) or by <see cref="Save"/>; gzip'd files are recognised by
    /// their magic bytes, whatever their name.</summary>
    public static FeatureAttributionOutput Load(string path)
    {
        if (!File.Exists(path)) throw new AttributionFileException(path, "file not found");
        return Parse(File.ReadAllBytes(path), path);
    }

    /// <summary>Reads attribution JSON from bytes (gzip'd or not).</summary>
    public static FeatureAttributionOutput Parse(byte[] bytes, string? path = null)
    {
        if (bytes.AsSpan().StartsWith(GzipMagic))
        {
            try { bytes = TensorJsonCodec.Gunzip(bytes); }
            catch (InvalidDataException ex) { throw new AttributionFileException(path, "corrupt gzip data", ex); }
        }
        return AttributionJsonReader.Read(bytes, path);
    }

    /// <summary>The JSON text <see cref="Save"/> would write (uncompressed).</summary>
    public static string ToJson(FeatureAttributionOutput output, AttributionSaveOptions? options = null) =>
        System.Text.Encoding.UTF8.GetString(AttributionJsonWriter.Write(output, options ?? new AttributionSaveOptions(), false));
}
