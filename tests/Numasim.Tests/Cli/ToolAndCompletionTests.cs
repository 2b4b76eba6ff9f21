using System.Diagnostics;
using static Numasim.Tests.Cli.CliHarness;

namespace Numasim.Tests.Cli;

/// <summary>The program as a user gets it: its name in help and errors, `dotnet pack` + `dotnet tool install` giving a
/// working `numasim`, and bash completion through the script `numasim completion bash` prints.</summary>
public class ToolAndCompletionTests
{
    private static (int Exit, string Out, string Err) Exec(string file, IEnumerable<string> args, string? cwd = null, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = cwd ?? "" };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(240_000)) { p.Kill(true); throw new TimeoutException($"{file} {string.Join(' ', args)}"); }
        return (p.ExitCode, o.Result, e.Result);
    }

    [Fact]
    public void Help_and_errors_say_numasim_whatever_runs_it()
    {
        var help = Run("--help");
        Assert.Contains("Usage:\n  numasim [command] [options]", help.Out);
        Assert.DoesNotContain("Numasim.Cli", help.Out + help.Err);
        Assert.Contains("numasim run <FILE>... [options]", Run("run", "--help").Out);
        Assert.Equal(["numasim: Unrecognized command or argument 'frob'."], Run("frob").ErrLines);
    }

    [Fact]
    public void Dotnet_pack_and_tool_install_give_a_working_numasim()
    {
        var root = Report.ReportInChromiumTests.RepoRoot();
        // The configuration the tests were built in: pack what was built, without building again.
        var config = AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var dir = Directory.CreateTempSubdirectory("numasim-tool-").FullName;
        try
        {
            var pack = Exec("dotnet", ["pack", Path.Combine(root, "src", "Numasim.Cli", "Numasim.Cli.csproj"), "--no-build", "-c", config,
                "-o", Path.Combine(dir, "nupkg"), "-v", "q", "--nologo"]);
            Assert.True(pack.Exit == 0, pack.Out + pack.Err);
            Assert.Single(Directory.GetFiles(Path.Combine(dir, "nupkg"), "numasim.*.nupkg"));
            var install = Exec("dotnet", ["tool", "install", "--tool-path", Path.Combine(dir, "tools"), "--add-source", Path.Combine(dir, "nupkg"), "numasim"], cwd: dir);
            Assert.True(install.Exit == 0, install.Out + install.Err);
            var numasim = Path.Combine(dir, "tools", "numasim");
            var help = Exec(numasim, ["--help"]);
            Assert.Equal(0, help.Exit);
            Assert.Contains("numasim [command] [options]", help.Out);
            var boot = Exec(numasim, ["boot", "--qemu", OracleQemu, "--cat", "/sys/devices/system/node/possible"]);
            Assert.Equal((0, "0-1\n", ""), boot);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Bash_completes_commands_options_and_profiles_through_the_printed_script()
    {
        var bash = RealTools.RealTool.Find("bash");
        Assert.NotNull(bash);
        var dir = Directory.CreateTempSubdirectory("numasim-completion-").FullName;
        try
        {
            // `numasim` on PATH, as the tool or the repository's script puts it there.
            var wrapper = Path.Combine(dir, "numasim");
            File.WriteAllText(wrapper, $"#!/bin/sh\nexec dotnet '{Path.Combine(AppContext.BaseDirectory, "Numasim.Cli.dll")}' \"$@\"\n");
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(wrapper, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            string Complete(string line)
            {
                var script = $$"""
                    source <(numasim completion bash)
                    COMP_LINE='{{line}}'; COMP_POINT={{line.Length}}
                    read -r -a COMP_WORDS <<< "$COMP_LINE"
                    [[ "$COMP_LINE" == *' ' ]] && COMP_WORDS+=('')
                    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
                    _numasim
                    printf '%s\n' "${COMPREPLY[@]}"
                    """;
                var r = Exec(bash!, ["-c", script], env: new Dictionary<string, string> { ["PATH"] = dir + ":" + Environment.GetEnvironmentVariable("PATH") });
                Assert.True(r.Exit == 0, r.Err);
                return r.Out;
            }
            Assert.Equal("check\ncheck-silo\n", Complete("numasim ch"));
            Assert.Equal("shell\n", Complete("numasim sh"));
            Assert.Equal("--profile\n", Complete("numasim run --prof"));
            Assert.Equal("v4.19\nv4.20\n", Complete("numasim boot --profile v4"));
            Assert.Contains("--explain\n", Complete("numasim run --ex"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
