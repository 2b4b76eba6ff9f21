using System.Diagnostics;
using Numasim.Export;
using Numasim.Firmware;
using Numasim.Tests.Cli;
using Xunit.Abstractions;

namespace Numasim.Tests.RealTools;

/// <summary>
/// Boots the oracle machine once (the QEMU line of /work/shared/oracle/README.md, profile v6.1) and exports its
/// tree to a temporary directory the real tools read. Deleted when the test class is done.
/// </summary>
public sealed class OracleExportFixture : IDisposable
{
    public OracleExportFixture()
    {
        Dir = Path.Combine(Path.GetTempPath(), $"numasim-realtools-{Guid.NewGuid():N}");
        var machine = Machine.Boot(QemuCommandLine.Parse(CliHarness.OracleQemu).GetSpecOrThrow());
        SysfsExporter.Export(machine.Fs, Dir);
    }

    public string Dir { get; }

    public void Dispose()
    {
        if (Directory.Exists(Dir)) Directory.Delete(Dir, recursive: true);
    }
}

/// <summary>Finds and runs real tools. A missing tool fails the test when CI is set, else the test passes with a note.</summary>
public static class RealTool
{
    public sealed record Result(int Exit, string Out, string Err);

    public static string? Find(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var p = Path.Combine(dir, name);
            if (File.Exists(p)) return p;
        }
        return null;
    }

    /// <summary>True when the tool can be run. Otherwise fails under CI (the tool must be installed there,
    /// .ci/run installs it), or writes a note and returns false so the caller passes without comparing.</summary>
    public static bool Require(string name, ITestOutputHelper output)
    {
        if (Find(name) is not null) return true;
        var ci = Environment.GetEnvironmentVariable("CI");
        if (!string.IsNullOrEmpty(ci))
            Assert.Fail($"{name} is not on PATH but CI={ci}: install it (apt-get install numactl hwloc-nox util-linux)");
        output.WriteLine($"NOTE: {name} is not on PATH; real-tool comparison not run (it is required when CI is set)");
        return false;
    }

    public static Result Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        // the C locale: the tools' column headers and number formats must not follow the caller's locale
        psi.Environment["LC_ALL"] = "C";
        psi.Environment["LANG"] = "C";
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(60_000))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} did not finish in 60 s");
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Trailing blanks per line and trailing empty lines removed (the tools pad columns with spaces).</summary>
    public static string TrimLines(string text) =>
        string.Join("\n", text.Split('\n').Select(l => l.TrimEnd())).TrimEnd('\n') + "\n";

    /// <summary>Whether the effective uid is 0 (the second field of the Uid line of /proc/self/status).</summary>
    public static bool IsRoot
    {
        get
        {
            if (!File.Exists("/proc/self/status")) return false;
            var uid = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
            var fields = uid?.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
            return fields is { Length: > 2 } && fields[2] == "0";
        }
    }
}
