using System.CommandLine;
using Numasim.Oracle;

namespace Numasim.Cli.Commands;

/// <summary><c>numasim oracle FILE... (--kernel 6.1|6.12|PATH) [--record DIR] [--keep-going]</c> (CONTRACT §2, issue 5).</summary>
public static class OracleCommand
{
    public static Command Create()
    {
        var files = new Argument<string[]>("FILE") { Description = "scenario files", Arity = ArgumentArity.OneOrMore };
        var kernel = new Option<string>("--kernel") { Description = "6.1 or 6.12 (a Debian kernel package, fetched and cached) or a bzImage path", HelpName = "6.1|6.12|PATH", Required = true };
        var record = new Option<string?>("--record") { Description = "write what the kernel showed under DIR", HelpName = "DIR" };
        var keepGoing = new Option<bool>("--keep-going") { Description = "run every scenario even after one differs, fails or is refused" };
        var command = new Command("oracle", "run scenarios on a real kernel under QEMU and diff them against the model, step by step");
        command.Arguments.Add(files);
        command.Options.Add(kernel);
        command.Options.Add(record);
        command.Options.Add(keepGoing);
        command.Subcommands.Add(OracleFuzzCommand.Create());
        command.SetAction(parsed =>
        {
            try
            {
                return OracleRunner.Run(parsed.GetValue(files) ?? [], new OracleOptions(parsed.GetValue(kernel)!, parsed.GetValue(record), parsed.GetValue(keepGoing)),
                    parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error);
            }
            catch (OracleSetupException e) { throw new CliException(e.Message, e.ExitCode); }
            catch (GuestException e) { throw new CliException(e.Message, CliApp.ExitFailed); }
        });
        return command;
    }
}
