using Numasim.Export;
using static Numasim.Tests.Cli.CliHarness;

namespace Numasim.Tests.Cli;

/// <summary>boot --export: the tree on disk, its determinism, and the target-directory policy (marker file).</summary>
public class ExportTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"numasim-export-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    /// <summary>Every entry below <paramref name="dir"/> with its mode and text or link target; links are not followed.</summary>
    private static string Snapshot(string dir)
    {
        var lines = new List<string>();
        void Walk(string d)
        {
            foreach (var p in Directory.EnumerateFileSystemEntries(d).Order(StringComparer.Ordinal))
            {
                var rel = Path.GetRelativePath(dir, p);
                var fi = new FileInfo(p);
                if (fi.LinkTarget is not null) lines.Add($"{rel} -> {fi.LinkTarget}");
                else if (Directory.Exists(p)) { lines.Add(rel + "/"); Walk(p); }
                else lines.Add($"{rel} {(OperatingSystem.IsWindows() ? "" : File.GetUnixFileMode(p).ToString())} {File.ReadAllText(p)}");
            }
        }
        Walk(dir);
        return string.Join("\n", lines);
    }

    [Fact]
    public void Export_writes_files_links_and_modes()
    {
        var r = Run("boot", "--qemu", OracleQemu, "--export", _dir);
        Assert.Equal("", r.Err);
        Assert.Equal(0, r.Exit);
        Assert.True(File.Exists(Path.Combine(_dir, SysfsExporter.MarkerName)));
        Assert.Equal("0-1\n", File.ReadAllText(Path.Combine(_dir, "sys/devices/system/node/possible")));
        Assert.Equal("online\n", File.ReadAllText(Path.Combine(_dir, "sys/devices/system/memory/memory7/state")));
        Assert.Equal("../../memory/memory0", new FileInfo(Path.Combine(_dir, "sys/devices/system/node/node0/memory0")).LinkTarget);
        Assert.Equal("0-1\n", File.ReadAllText(Path.Combine(_dir, "sys/devices/system/node/node0/cpulist")));
        Assert.StartsWith("MemTotal:", File.ReadAllText(Path.Combine(_dir, "proc/meminfo")));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead,
                File.GetUnixFileMode(Path.Combine(_dir, "sys/devices/system/memory/memory7/state")));
    }

    [Fact]
    public void Export_is_deterministic_and_may_overwrite_its_own_output()
    {
        Assert.Equal(0, Run("boot", "--qemu", OracleQemu, "--export", _dir).Exit);
        var first = Snapshot(_dir);
        Assert.Equal(0, Run("boot", "--qemu", OracleQemu, "--export", _dir).Exit);
        Assert.Equal(first, Snapshot(_dir));
    }

    [Fact]
    public void A_foreign_non_empty_directory_is_refused()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "precious"), "x");
        var r = Run("boot", "--qemu", OracleQemu, "--export", _dir);
        Assert.Equal(2, r.Exit);
        Assert.Equal([$"numasim: export: {_dir}: directory is not empty and was not written by numasim (no .numasim-export)"], r.ErrLines);
        Assert.Equal("x", File.ReadAllText(Path.Combine(_dir, "precious")));
    }

    [Fact]
    public void An_empty_directory_is_accepted()
    {
        Directory.CreateDirectory(_dir);
        Assert.Equal(0, Run("boot", "--qemu", OracleQemu, "--export", _dir).Exit);
    }
}
