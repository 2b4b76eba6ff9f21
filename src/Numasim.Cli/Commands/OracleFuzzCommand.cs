using System.CommandLine;
using Numasim.Oracle;
using Numasim.Oracle.Fuzz;

namespace Numasim.Cli.Commands;

/// <summary><c>numasim oracle fuzz --kernel 6.1|6.12 --seed S --cases N --out DIR [--first I] [--pass-on-steps]</c> (issue 12 item 6).</summary>
public static class OracleFuzzCommand
{
    public static Command Create()
    {
        var kernel = new Option<string>("--kernel") { Description = "6.1 or 6.12 (a Debian kernel package, fetched and cached) or a bzImage path", HelpName = "6.1|6.12|PATH", Required = true };
        var seed = new Option<int>("--seed") { Description = "the generator's seed: the same seed gives the same cases", Required = true };
        var cases = new Option<int>("--cases") { Description = "how many cases to run", DefaultValueFactory = _ => 10 };
        var first = new Option<int>("--first") { Description = "the first case's index (to run a seed's cases in chunks)", DefaultValueFactory = _ => 0 };
        var outDir = new Option<string>("--out") { Description = "write each disagreeing case there as a scenario file `numasim oracle` replays", HelpName = "DIR", Required = true };
        var stepsOnly = new Option<bool>("--pass-on-steps") { Description = "count a case as passed when its steps and boot reservations agree (the whole tree is still compared and counted)" };
        var command = new Command("fuzz", "random machines and hotplug sequences on the real kernel under QEMU and on the model; compares every step and the whole tree");
        command.Options.Add(kernel);
        command.Options.Add(seed);
        command.Options.Add(cases);
        command.Options.Add(first);
        command.Options.Add(outDir);
        command.Options.Add(stepsOnly);
        command.SetAction(parsed =>
        {
            try
            {
                return FuzzRunner.Run(new FuzzOptions(parsed.GetValue(kernel)!, parsed.GetValue(seed), parsed.GetValue(cases), parsed.GetValue(outDir)!, parsed.GetValue(first), parsed.GetValue(stepsOnly)),
                    parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error);
            }
            catch (OracleSetupException e) { throw new CliException(e.Message, e.ExitCode); }
            catch (GuestException e) { throw new CliException(e.Message, CliApp.ExitFailed); }
        });
        return command;
    }
}
