using System.CommandLine;
using Numasim.Export;
using Numasim.Kernel.Profiles;
using Numasim.Report;
using Numasim.Scenarios;

namespace Numasim.Cli.Commands;

/// <summary><c>numasim run FILE... [--profile P] [--format text|json] [--uevents] [--explain] [--report OUT.html]
/// [--export DIR]</c> (CONTRACT §2).</summary>
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
        var explain = new Option<bool>("--explain") { Description = "show why each step did what it did: the kernel call path, decisions, errnos, changed files" };
        var report = ReportOption();
        var command = new Command("run", "run scenario files and check their expectations");
        command.Arguments.Add(files);
        command.Options.Add(profile);
        command.Options.Add(format);
        command.Options.Add(uevents);
        command.Options.Add(explain);
        command.Options.Add(report);
        command.Options.Add(export);
        command.SetAction(parsed => Execute(parsed.GetValue(files) ?? [], parsed.GetValue(profile), parsed.GetValue(format) ?? "text",
            parsed.GetValue(uevents), parsed.GetValue(export), parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error,
            parsed.GetValue(explain), parsed.GetValue(report)));
        return command;
    }

    /// <summary>--report FILE, shared by run, check and oracle.</summary>
    public static Option<string?> ReportOption() =>
        new("--report") { Description = "write an HTML report (pictures, timeline, explanations) to FILE", HelpName = "FILE" };

    /// <summary>Runs the scenarios; returns 0 all expectations hold, 1 one failed, 2 bad input.</summary>
    public static int Execute(IReadOnlyList<string> files, string? profile, string format, bool uevents, string? exportDir, TextWriter stdout, TextWriter stderr,
        bool explain = false, string? reportFile = null)
    {
        KernelProfile? p = null;
        if (profile is not null && (p = KernelProfile.Find(profile)) is null)
            throw new CliException($"unknown profile '{profile}' (v4.19, v4.20, v6.1, v6.12)");
        if (reportFile is not null) ReportFile.Check(reportFile);
        var results = new List<ScenarioResult>();
        var reported = new List<ScenarioReportData>();
        foreach (var f in files)
        {
            if (!File.Exists(f)) throw new CliException($"{f}: No such file or directory");
            try
            {
                var sc = ScenarioParser.Load(f);
                ScenarioResult r;
                if (reportFile is null) r = ScenarioRunner.Run(sc, p, new ScenarioRunOptions { Explain = explain });
                else
                {
                    var data = ReportRun.Run(sc, p);
                    reported.Add(data);
                    r = data.Result;
                }
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
        if (reportFile is not null)
        {
            var html = new HtmlReport($"numasim run: {string.Join(", ", files.Select(Path.GetFileName))}");
            foreach (var d in reported) html.Add(d);
            ReportFile.Write(reportFile, html);
        }
        if (format == "json") ScenarioReport.WriteJson(results, stdout, explain);
        else foreach (var r in results) ScenarioReport.WriteText(r, stdout, uevents, explain);
        int passed = results.Count(r => r.Passed);
        if (format == "text" && Terminal.IsTerminal(stdout))
            Terminal.Table(stdout, "summary", ["scenario", "profile", "steps", "passed", "failed", "oops", "result"],
                results.Select(r => (IReadOnlyList<string>)[Path.GetFileName(r.Scenario.File), r.Profile.Name, r.Steps.Count.ToString(),
                    r.Steps.Count(s => s.Passed).ToString(), r.Steps.Count(s => !s.Passed).ToString(), r.Machine.Oops is null ? "-" : "yes",
                    r.Passed ? "PASS" : "FAIL"]));
        stdout.WriteLine($"{passed} passed, {results.Count - passed} failed");
        if (reportFile is not null && format == "text") stdout.WriteLine($"report: {reportFile}");
        return passed == results.Count ? CliApp.ExitOk : CliApp.ExitFailed;
    }
}

/// <summary>Where a report goes: refused up front when its folder is missing, written whole at the end.</summary>
internal static class ReportFile
{
    public static void Check(string path)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is null || !Directory.Exists(dir)) throw new CliException($"report: {path}: No such file or directory (the folder does not exist)");
        if (Directory.Exists(path)) throw new CliException($"report: {path}: Is a directory");
    }

    public static void Write(string path, HtmlReport report)
    {
        try { File.WriteAllText(path, report.Render()); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CliException($"report: {path}: {CliApp.OneLine(e.Message)}"); }
    }
}
