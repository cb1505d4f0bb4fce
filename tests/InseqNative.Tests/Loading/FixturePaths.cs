namespace InseqNative.Tests.Loading;

/// <summary>
/// Locates ../shared/fixtures (next to the repository): walks up from the test binary to the folder holding
/// InseqNative.sln. INSEQ_FIXTURES overrides the location (e.g. on a machine where the tests run from a copy).
/// </summary>
public static class FixturePaths
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    /// <summary>The fixtures folder (contains models/, cases/, hf/, inseq_json/).</summary>
    public static string Root => RootPath.Value;

    /// <summary>A tiny model folder, e.g. Models("tiny-gpt2").</summary>
    public static string Models(string name) => Path.Combine(Root, "models", name);

    /// <summary>The Inseq reference cases folder.</summary>
    public static string Cases => Path.Combine(Root, "cases");

    /// <summary>The plain-transformers reference file of a model, e.g. Hf("tiny-gpt2") → hf/tiny-gpt2.json.</summary>
    public static string Hf(string name) =>
        Path.Combine(Root, "hf", name.EndsWith(".json", StringComparison.Ordinal) ? name : name + ".json");

    public static string InseqJson => Path.Combine(Root, "inseq_json");

    private static string FindRoot()
    {
        string? overridePath = Environment.GetEnvironmentVariable("INSEQ_FIXTURES");
        if (!string.IsNullOrEmpty(overridePath))
            return Path.GetFullPath(overridePath);
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "InseqNative.sln")))
            {
                string fixtures = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "fixtures"));
                if (Directory.Exists(fixtures))
                    return fixtures;
                throw new DirectoryNotFoundException(
                    $"found the repository at {dir.FullName} but no fixtures at {fixtures}; set INSEQ_FIXTURES");
            }
        }
        throw new DirectoryNotFoundException(
            $"no InseqNative.sln above {AppContext.BaseDirectory}; set INSEQ_FIXTURES to the fixtures folder");
    }
}
