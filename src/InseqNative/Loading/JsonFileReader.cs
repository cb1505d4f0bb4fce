using System.Text.Json;

namespace InseqNative.Loading;

/// <summary>Reads fields of a Hugging Face JSON file with errors that name the file, the field and the value.
/// Absent fields and explicit nulls both count as "not set", as in transformers.</summary>
internal readonly struct JsonFileReader
{
    public string FilePath { get; }
    public JsonElement Root { get; }

    public JsonFileReader(string filePath, JsonElement root)
    {
        FilePath = filePath;
        Root = root;
    }

    /// <summary>Parses a JSON object file; missing file → <see cref="MissingModelFileException"/>, bad JSON or a
    /// non-object root → <see cref="ModelLoadException"/>. The returned document owns the memory of <see cref="Root"/>.</summary>
    public static (JsonDocument Document, JsonFileReader Reader) Open(string path, string whatFor)
    {
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new MissingModelFileException(full, $"{Path.GetFileName(full)} not found ({whatFor})");
        byte[] bytes;
        try { bytes = File.ReadAllBytes(full); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelLoadException(full, $"cannot read the file: {e.Message}", e);
        }
        return Parse(bytes, full);
    }

    public static (JsonDocument Document, JsonFileReader Reader) Parse(ReadOnlyMemory<byte> utf8, string filePath)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8, new JsonDocumentOptions
            {
                AllowTrailingCommas = true,
                CommentHandling = JsonCommentHandling.Skip,
            });
        }
        catch (JsonException e)
        {
            throw new ModelLoadException(filePath, $"invalid JSON: {e.Message}", e);
        }
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            JsonValueKind kind = document.RootElement.ValueKind;
            document.Dispose();
            throw new ModelLoadException(filePath, $"expected a JSON object at the top level, found {kind}");
        }
        return (document, new JsonFileReader(filePath, document.RootElement));
    }

    public bool TryGet(string name, out JsonElement value)
    {
        if (Root.TryGetProperty(name, out value) && value.ValueKind != JsonValueKind.Null)
            return true;
        value = default;
        return false;
    }

    public bool Has(string name) => TryGet(name, out _);

    public string? GetString(string name)
    {
        if (!TryGet(name, out JsonElement value))
            return null;
        if (value.ValueKind != JsonValueKind.String)
            throw Invalid(name, value, "a string");
        return value.GetString();
    }

    public string GetRequiredString(string name) =>
        GetString(name) ?? throw new ModelLoadException(FilePath, $"required field '{name}' is missing");

    public int? GetInt(string name)
    {
        if (!TryGet(name, out JsonElement value))
            return null;
        return ToInt(name, value);
    }

    public int GetRequiredInt(string name) =>
        GetInt(name) ?? throw new ModelLoadException(FilePath, $"required field '{name}' is missing");

    public int GetRequiredPositiveInt(string name, params string[] aliases)
    {
        foreach (string candidate in aliases.Prepend(name))
        {
            int? value = GetInt(candidate);
            if (value is null)
                continue;
            if (value <= 0)
                throw new ModelLoadException(FilePath, $"field '{candidate}' must be a positive integer, got {value}");
            return value.Value;
        }
        string also = aliases.Length == 0 ? "" : $" (or {string.Join(", ", aliases.Select(a => $"'{a}'"))})";
        throw new ModelLoadException(FilePath, $"required field '{name}'{also} is missing");
    }

    public double? GetDouble(string name)
    {
        if (!TryGet(name, out JsonElement value))
            return null;
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out double result))
            throw Invalid(name, value, "a number");
        return result;
    }

    public bool? GetBool(string name)
    {
        if (!TryGet(name, out JsonElement value))
            return null;
        return value.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Invalid(name, value, "true or false"),
        };
    }

    /// <summary>A token id field that transformers allows as one int or a list of ints (eos_token_id).</summary>
    public IReadOnlyList<int> GetIntOrIntList(string name)
    {
        if (!TryGet(name, out JsonElement value))
            return [];
        if (value.ValueKind == JsonValueKind.Number)
            return [ToInt(name, value)];
        if (value.ValueKind != JsonValueKind.Array)
            throw Invalid(name, value, "an integer or a list of integers");
        var result = new List<int>();
        foreach (JsonElement item in value.EnumerateArray())
            result.Add(ToInt(name, item));
        return result.AsReadOnly();
    }

    public IReadOnlyList<IReadOnlyList<int>> GetIntListList(string name)
    {
        if (!TryGet(name, out JsonElement value))
            return [];
        if (value.ValueKind != JsonValueKind.Array)
            throw Invalid(name, value, "a list of lists of integers");
        var result = new List<IReadOnlyList<int>>();
        foreach (JsonElement inner in value.EnumerateArray())
        {
            if (inner.ValueKind != JsonValueKind.Array)
                throw Invalid(name, value, "a list of lists of integers");
            var ids = new List<int>();
            foreach (JsonElement item in inner.EnumerateArray())
                ids.Add(ToInt(name, item));
            result.Add(ids.AsReadOnly());
        }
        return result.AsReadOnly();
    }

    private int ToInt(string name, JsonElement value)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int result))
            return result;
        throw Invalid(name, value, "an integer");
    }

    private ModelLoadException Invalid(string name, JsonElement value, string expected)
    {
        string raw = value.GetRawText();
        if (raw.Length > 80)
            raw = raw[..77] + "...";
        return new ModelLoadException(FilePath, $"field '{name}' must be {expected}, got {raw}");
    }
}
