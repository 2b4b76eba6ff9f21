using System.CommandLine;
using Numasim.Export;
using Numasim.Kernel.Profiles;
using Numasim.Scenarios;

namespace Numasim.Cli.Commands;

/// <summary><c>numasim run FILE... [--profile P] [--format text|json]</c> (CONTRACT §2).</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("FILE") { Description = "scenario files", Arity = ArgumentArity.OneOrMore };
        var profile = MachineOptions.ProfileOption();
        var format = new Option<string>("--format") { Description = "output format", HelpName = "text|json", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var export = new Option<string?>("--export") { Description = "write each scenario's final /sys and /proc under DIR/NAME", HelpName = "DIR" };
        var uevents = new Option<bool>("--uevents") { Description = "print each step's uevents as udevadm monitor --kernel does" };
        var command = new Command("run", "run scenario files and check their expectations");
        command.Arguments.Add(files);
        command.Options.Add(profile);
        command.Options.Add(format);
        command.Options.Add(uevents);
        command.Options.Add(export);
        command.SetAction(parsed => Execute(parsed.GetValue(files) ?? [], parsed.GetValue(profile), parsed.GetValue(format) ?? "text",
            parsed.GetValue(uevents), parsed.GetValue(export), parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error));
        return command;
    }

    /// <summary>Runs the scenarios; returns 0 all expectations hold, 1 one failed, 2 bad input.</summary>
    public static int Execute(IReadOnlyList<string> files, string? profile, string format, bool uevents, string? exportDir, TextWriter stdout, TextWriter stderr)
    {
        KernelProfile? p = null;
        if (profile is not null && (p = KernelProfile.Find(profile)) is null)
            throw new CliException($"unknown profile '{profile}' (v4.19, v4.20, v6.1, v6.12)");
        var results = new List<ScenarioResult>();
        foreach (var f in files)
        {
            if (!File.Exists(f)) throw new CliException($"{f}: No such file or directory");
            try
            {
                var r = ScenarioRunner.Run(ScenarioParser.Load(f), p);
                foreach (var w in r.Machine.BootWarnings) stderr.WriteLine($"numasim: {f}: warning: {w}");
                results.Add(r);
            }
            catch (ScenarioFormatException e) { throw new CliException(e.Message); }
            catch (Numasim.Firmware.MachineFormatException e) { throw new CliException(e.Message); }
        }
        if (exportDir is not null)
        {
            foreach (var r in results)
            {
                var dir = Path.Combine(exportDir, $"{Path.GetFileNameWithoutExtension(r.Scenario.File)}-{r.Profile.Name}");
                ExportTarget.Check(dir);
                ExportTarget.Write(r.Machine.Fs, dir);
            }
        }
        if (format == "json") ScenarioReport.WriteJson(results, stdout);
        else foreach (var r in results) ScenarioReport.WriteText(r, stdout, uevents);
        int passed = results.Count(r => r.Passed);
        stdout.WriteLine($"{passed} passed, {results.Count - passed} failed");
        return passed == results.Count ? CliApp.ExitOk : CliApp.ExitFailed;
    }
}
