using System.Globalization;
using System.Runtime.InteropServices;

namespace Numasim.Import;

/// <summary>
/// The importer's temporary folders (numasim-import-PID-GUID under the system's temp folder): removed when the
/// import ends, when the process gets SIGINT, SIGTERM or SIGHUP, and, for a process killed outright, by the
/// next import, which removes every such folder whose process is gone. They go under $TMPDIR when it is set,
/// else under /dev/shm where it is a writable folder (a dump is thousands of small files, and a disk-backed
/// /tmp here took 75 s to unpack the hwloc dumps that tmpfs unpacks in 3 s), else the system's temp folder.
/// </summary>
internal static class TempFolders
{
    private const string Prefix = "numasim-import-";
    private static readonly Lock s_lock = new();
    private static readonly HashSet<string> s_live = new(StringComparer.Ordinal);
    private static PosixSignalRegistration[]? s_signals;

    private static readonly string s_base = ChooseBase();

    private static string ChooseBase()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("TMPDIR"))) return Path.GetTempPath();
        const string shm = "/dev/shm";
        try
        {
            if (OperatingSystem.IsLinux() && Directory.Exists(shm))
            {
                var probe = Path.Combine(shm, $"{Prefix}probe-{Environment.ProcessId}-{Guid.NewGuid():N}");
                Directory.CreateDirectory(probe);
                Directory.Delete(probe);
                return shm;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return Path.GetTempPath();
    }

    public static string Create()
    {
        SweepStale();
        var dir = Path.Combine(s_base, $"{Prefix}{Environment.ProcessId}-{Guid.NewGuid():N}");
        lock (s_lock)
        {
            Directory.CreateDirectory(dir);
            s_live.Add(dir);
            s_signals ??= [.. new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP }.Select(sig => PosixSignalRegistration.Create(sig, _ => DeleteAll()))];
        }
        return dir;
    }

    public static void Delete(string dir)
    {
        lock (s_lock) s_live.Remove(dir);
        TryDelete(dir);
    }

    private static void DeleteAll()
    {
        string[] dirs;
        lock (s_lock) { dirs = [.. s_live]; s_live.Clear(); }
        foreach (var d in dirs) TryDelete(d);
    }

    /// <summary>Removes folders left by importer processes that no longer run (killed with SIGKILL, say).</summary>
    private static void SweepStale()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            foreach (var d in Directory.EnumerateDirectories(s_base, Prefix + "*"))
            {
                var rest = Path.GetFileName(d)[Prefix.Length..];
                var dash = rest.IndexOf('-');
                if (dash <= 0 || !int.TryParse(rest[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
                if (pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}")) TryDelete(d);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    private static void TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }
}
