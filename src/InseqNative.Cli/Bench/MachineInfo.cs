using System.Globalization;
using System.Text.RegularExpressions;

namespace InseqNative.Bench;

/// <summary>What the header of a bench report says about the machine (Linux /proc where available).</summary>
public static partial class MachineInfo
{
    public static string CpuModel()
    {
        var name = ProcField("/proc/cpuinfo", "model name");
        return name ?? System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>Total memory in GiB from /proc/meminfo (null elsewhere).</summary>
    public static double? MemoryGib() =>
        ProcField("/proc/meminfo", "MemTotal") is { } v && KbRegex().Match(v) is { Success: true } m
            ? long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) / 1048576.0
            : null;

    /// <summary>The 1, 5 and 15-minute load averages: other processes sharing the cores show here.</summary>
    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]} {parts[1]} {parts[2]}";
        }
        catch (IOException) { return "n/a"; }
        catch (UnauthorizedAccessException) { return "n/a"; }
    }

    static string? ProcField(string path, string key)
    {
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                var colon = line.IndexOf(':');
                if (colon > 0 && line[..colon].Trim() == key) return line[(colon + 1)..].Trim();
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }

    [GeneratedRegex(@"(\d+)\s*kB")]
    private static partial Regex KbRegex();
}

/// <summary>
/// Peak resident memory of this process over an interval. On Linux, writing 5 to /proc/self/clear_refs resets the
/// kernel's high-water mark (VmHWM) to the current resident size, so each cell gets its own peak; elsewhere the
/// process-lifetime peak working set is all there is (monotonic across cells).
/// </summary>
public static class PeakMemory
{
    /// <summary>Starts an interval; returns whether the peak could be reset (per-interval peaks are then exact).</summary>
    public static bool Reset()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            return false;
        }
    }

    /// <summary>Peak resident bytes since the last successful <see cref="Reset"/> (or since the process started).</summary>
    public static long PeakBytes()
    {
        var status = StatusKb("VmHWM");
        return status ?? System.Diagnostics.Process.GetCurrentProcess().PeakWorkingSet64;
    }

    /// <summary>Current resident bytes.</summary>
    public static long CurrentBytes() => StatusKb("VmRSS") ?? Environment.WorkingSet;

    static long? StatusKb(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(key + ":", StringComparison.Ordinal))
                    return long.Parse(line[(key.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return null;
    }
}
