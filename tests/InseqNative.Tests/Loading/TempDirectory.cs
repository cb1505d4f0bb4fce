namespace InseqNative.Tests.Loading;

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("inseq-test-").FullName;

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, string text)
    {
        string path = File(name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Copies the named files (or all files when none are named) of <paramref name="folder"/> here.</summary>
    public TempDirectory CopyFrom(string folder, Func<string, bool>? include = null)
    {
        foreach (string file in Directory.EnumerateFiles(folder))
        {
            string name = System.IO.Path.GetFileName(file);
            if (include is null || include(name))
                System.IO.File.Copy(file, File(name));
        }
        return this;
    }

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
