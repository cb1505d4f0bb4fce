using System.Reflection;
using System.Runtime.InteropServices;

namespace InseqNative.Interop;

/// <summary>
/// Finds libinseqnative once per process: the CUDA flavour first (it contains the CPU twin too), then the CPU one,
/// in INSEQ_NATIVE_LIBRARY, next to this assembly, the app base directory and runtimes/{rid}/native.
/// When nothing loads, the exception lists every path tried and why it failed.
/// </summary>
public static class NativeLibraryResolver
{
    public const string LibraryName = "inseqnative";
    static readonly string[] FileNames = ["libinseqnative_cuda.so", "libinseqnative.so"];
    static readonly object Gate = new();
    static IntPtr _handle;
    static string? _loadedPath;
    static bool _registered;

    /// <summary>Path of the library that was loaded, or null before the first native call.</summary>
    public static string? LoadedPath => _loadedPath;

    internal static void Register()
    {
        lock (Gate)
        {
            if (_registered) return;
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);
            _registered = true;
        }
    }

    static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != LibraryName) return IntPtr.Zero;
        lock (Gate)
        {
            if (_handle != IntPtr.Zero) return _handle;
            var tried = new List<string>();
            foreach (var path in CandidatePaths())
            {
                if (!File.Exists(path)) { tried.Add($"{path} (not found)"); continue; }
                try
                {
                    _handle = NativeLibrary.Load(path);
                    _loadedPath = path;
                    return _handle;
                }
                catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
                {
                    tried.Add($"{path} ({e.Message.Split('\n')[0]})");
                }
            }
            throw new DllNotFoundException(
                "InseqNative's native library could not be loaded. Build it with `dotnet build` (runs CMake for native/) " +
                "or set INSEQ_NATIVE_LIBRARY to its path. Tried:\n  " + string.Join("\n  ", tried));
        }
    }

    static IEnumerable<string> CandidatePaths()
    {
        var env = Environment.GetEnvironmentVariable("INSEQ_NATIVE_LIBRARY");
        if (!string.IsNullOrWhiteSpace(env)) yield return Path.GetFullPath(env);
        var dirs = new List<string>();
        var asmDir = Path.GetDirectoryName(typeof(NativeLibraryResolver).Assembly.Location);
        if (!string.IsNullOrEmpty(asmDir)) dirs.Add(asmDir);
        dirs.Add(AppContext.BaseDirectory);
        var rid = RuntimeInformation.RuntimeIdentifier;
        foreach (var d in dirs.Distinct().ToList()) dirs.Add(Path.Combine(d, "runtimes", rid, "native"));
        var preferCpu = Environment.GetEnvironmentVariable("INSEQ_NATIVE_FLAVOUR") == "cpu";
        foreach (var file in preferCpu ? FileNames.Reverse() : FileNames)
            foreach (var d in dirs.Distinct())
                yield return Path.Combine(d, file);
    }
}
