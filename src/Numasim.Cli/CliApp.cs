using System.CommandLine;
using Numasim.Cli.Commands;

namespace Numasim.Cli;

/// <summary>
/// The <c>numasim</c> command line (CONTRACT §2). <see cref="Run"/> is the whole program: Program.Main and the
/// tests call it in-process. Every bad input ends as one stderr line "numasim: ..." and exit 2; an unexpected
/// exception as "numasim: internal error: ..." and exit 70 (EX_SOFTWARE); never a stack trace.
/// </summary>
public static class CliApp
{
    public const int ExitOk = 0, ExitFailed = 1, ExitUsage = 2, ExitInternal = 70;

    /// <summary>The program's name in usage lines and errors, whatever the host process is called (the tool shim,
    /// <c>dotnet Numasim.Cli.dll</c>, a test host): System.CommandLine's RootCommand takes the process's name, so the
    /// root is a plain command with the help and version options added.</summary>
    public const string Name = "numasim";

    public static Command BuildRoot()
    {
        var root = new Command(Name, "numasim: a kernel-faithful model of Linux NUMA, CPU hotplug and memory hotplug");
        root.Options.Add(new System.CommandLine.Help.HelpOption());
        root.Options.Add(new VersionOption());
        root.Subcommands.Add(BootCommand.Create());
        root.Subcommands.Add(ImportCommand.Create());
        root.Subcommands.Add(OracleCommand.Create());
        root.Subcommands.Add(RunCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(CheckCommand.Create());
        root.Subcommands.Add(CheckSiloCommand.Create());
        root.Subcommands.Add(SoakCommand.Create());
        root.Subcommands.Add(ShellCommand.Create());
        root.Subcommands.Add(CompletionCommand.Create());
        root.Subcommands.Add(CompletionCommand.CreateHelper(BuildRoot));
        return root;
    }

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        try
        {
            var root = BuildRoot();
            var parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
            {
                // System.CommandLine may report several errors for one mistake ("Required command was not provided."
                // alongside "Unrecognized command or argument 'x'."): print the most specific one, on one line.
                var error = parsed.Errors.FirstOrDefault(e => e.Message.StartsWith("Unrecognized", StringComparison.Ordinal)) ?? parsed.Errors[0];
                stderr.WriteLine("numasim: " + OneLine(error.Message));
                return ExitUsage;
            }
            var config = new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false };
            return parsed.Invoke(config);
        }
        catch (CliException e)
        {
            // One line whatever the user's values held: a newline in a quoted value is shown as \n.
            stderr.WriteLine("numasim: " + Numasim.Input.Printable.Escape(e.Message));
            return e.ExitCode;
        }
        catch (Exception e)
        {
            stderr.WriteLine("numasim: internal error: " + OneLine(e.Message));
            return ExitInternal;
        }
        finally
        {
            stdout.Flush();
            stderr.Flush();
        }
    }

    internal static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}

/// <summary>A user-facing error: its message is printed after "numasim: ", the exit code is 2 unless given.</summary>
public sealed class CliException(string message, int exitCode = CliApp.ExitUsage) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
