using System.CommandLine;

namespace Numasim.Cli.Commands;

/// <summary><c>numasim run FILE... [--profile P] [--format text|json]</c> (CONTRACT §2). The body of
/// <see cref="Execute"/> is a placeholder until Numasim.Scenarios.ScenarioRunner exists.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("FILE") { Description = "scenario files", Arity = ArgumentArity.OneOrMore };
        var profile = MachineOptions.ProfileOption();
        var format = new Option<string>("--format") { Description = "output format", HelpName = "text|json", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var command = new Command("run", "run scenario files and check their expectations");
        command.Arguments.Add(files);
        command.Options.Add(profile);
        command.Options.Add(format);
        command.SetAction(parsed => Execute(parsed.GetValue(files) ?? [], parsed.GetValue(profile), parsed.GetValue(format) ?? "text",
            parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error));
        return command;
    }

    /// <summary>Runs the scenarios; returns 0 all expectations hold, 1 one failed, 2 bad input.</summary>
    public static int Execute(IReadOnlyList<string> files, string? profile, string format, TextWriter stdout, TextWriter stderr)
    {
        _ = files; _ = profile; _ = format; _ = stdout;
        stderr.WriteLine("numasim: run: not yet available");
        return CliApp.ExitUsage;
    }
}
