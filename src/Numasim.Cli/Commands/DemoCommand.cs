using System.CommandLine;

namespace Numasim.Cli.Commands;

/// <summary><c>numasim demo</c> (CONTRACT §1, §2): the seed scenario under v4.19 and v6.1 side by side. The body of
/// <see cref="Execute"/> is a placeholder until Numasim.Scenarios.ScenarioRunner exists.</summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "the seed scenario under v4.19 and v6.1, side by side");
        command.SetAction(parsed => Execute(parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error));
        return command;
    }

    /// <summary>Runs the demo; returns 0.</summary>
    public static int Execute(TextWriter stdout, TextWriter stderr)
    {
        _ = stdout;
        stderr.WriteLine("numasim: demo: not yet available");
        return CliApp.ExitUsage;
    }
}
