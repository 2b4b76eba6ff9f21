using System.CommandLine;
using Numasim.Oracle;
using Numasim.Report;

namespace Numasim.Cli.Commands;

/// <summary><c>numasim oracle FILE... (--kernel 6.1|6.12|PATH) [--record DIR] [--keep-going] [--report FILE]</c> (CONTRACT §2, issue 5).
/// On a terminal: progress bars on stderr (kernel package, scenarios, steps) and the agreement as a table.</summary>
public static class OracleCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("FILE") { Description = "scenario files", Arity = ArgumentArity.OneOrMore };
        var kernel = new Option<string>("--kernel") { Description = "6.1 or 6.12 (a Debian kernel package, fetched and cached) or a bzImage path", HelpName = "6.1|6.12|PATH", Required = true };
        var record = new Option<string?>("--record") { Description = "write what the kernel showed under DIR", HelpName = "DIR" };
        var keepGoing = new Option<bool>("--keep-going") { Description = "run every scenario even after one differs, fails or is refused" };
        var report = RunCommand.ReportOption();
        var command = new Command("oracle", "run scenarios on a real kernel under QEMU and diff them against the model, step by step");
        command.Arguments.Add(files);
        command.Options.Add(kernel);
        command.Options.Add(record);
        command.Options.Add(keepGoing);
        command.Options.Add(report);
        command.Subcommands.Add(OracleFuzzCommand.Create());
        command.SetAction(parsed =>
        {
            var stdout = parsed.InvocationConfiguration.Output;
            var stderr = parsed.InvocationConfiguration.Error;
            var reportFile = parsed.GetValue(report);
            if (reportFile is not null) ReportFile.Check(reportFile);
            OracleSummary? summary = null;
            // With a live progress bar on the terminal, the results are printed when it is done.
            bool live = Terminal.IsTerminal(stderr) && stderr is not TerminalWriter;
            var output = live ? new StringWriter { NewLine = "\n" } : stdout;
            int exit;
            try
            {
                exit = CliProgress.Run(stderr, bar => OracleRunner.Run(parsed.GetValue(files) ?? [],
                    new OracleOptions(parsed.GetValue(kernel)!, parsed.GetValue(record), parsed.GetValue(keepGoing))
                    {
                        Progress = (phase, done, total, what) => bar(phase, done, total, what),
                        Finished = s => summary = s,
                    }, output, stderr));
            }
            catch (OracleSetupException e) { throw new CliException(e.Message, e.ExitCode); }
            catch (GuestException e) { throw new CliException(e.Message, CliApp.ExitFailed); }
            finally
            {
                if (live) stdout.Write(output.ToString());
            }
            if (summary is not null && Terminal.IsTerminal(stdout)) Agreement(stdout, summary);
            if (summary is not null && reportFile is not null)
            {
                var html = new HtmlReport($"numasim oracle: kernel {summary.Kernel}");
                html.Add(summary);
                ReportFile.Write(reportFile, html);
                stdout.WriteLine($"report: {reportFile}");
            }
            return exit;
        });
        return command;
    }

    /// <summary>The agreement per scenario, as a table.</summary>
    public static void Agreement(TextWriter stdout, OracleSummary s) =>
        Terminal.Table(stdout, $"agreement with kernel {s.Kernel} (profile {s.Profile})",
            ["scenario", "steps compared", "skipped", "files equal", "differences", "boot", "verdict"],
            s.Scenarios.Select(c => (IReadOnlyList<string>)[Path.GetFileName(c.File), c.StepsCompared.ToString(), c.Skipped.ToString(),
                $"{c.FilesEqual}/{c.FilesCompared}", c.Differences.Count.ToString(), $"{c.Boot.TotalSeconds:0.0} s",
                c.GuestError is not null ? "guest failure" : c.Equal ? "EQUAL" : "DIFFERS"]));
}
