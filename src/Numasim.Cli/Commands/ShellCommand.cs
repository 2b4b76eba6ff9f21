using System.CommandLine;
using Numasim.Cli.Shell;

namespace Numasim.Cli.Commands;

/// <summary>
/// <c>numasim shell [--qemu "ARGS" | --machine FILE] [--profile P] [--explain]</c>: boots a machine (by default the
/// one demo uses, the oracle's) and takes the scenario language line by line; see <see cref="ShellSession"/>.
/// </summary>
public static class ShellCommand
{
    public static Command Create()
    {
        var machine = new MachineOptions();
        var explain = new Option<bool>("--explain") { Description = "explain every step as it runs (explain on)" };
        var command = new Command("shell", "an interactive shell on a booted machine: QMP, echo V > /sys/..., cat, ls, tree, dmesg, undo, save, explain");
        machine.AddTo(command);
        command.Options.Add(explain);
        command.SetAction(parsed =>
        {
            var stdout = parsed.InvocationConfiguration.Output;
            var stderr = parsed.InvocationConfiguration.Error;
            var profile = MachineOptions.ResolveProfile(parsed.GetValue(machine.Profile));
            var file = parsed.GetValue(machine.Machine);
            var qemu = parsed.GetValue(machine.Qemu);
            if (file is null && qemu is null) qemu = BenchCommand.OracleQemu;
            var spec = machine.ResolveSpec(file, qemu, "shell", stderr);
            var shell = new ShellSession(spec, profile, qemu, file, parsed.GetValue(explain), stdout);
            bool interactive = ReferenceEquals(stdout, Console.Out) && !Console.IsInputRedirected && !Console.IsOutputRedirected;
            stdout.WriteLine($"numasim shell: {profile.Name} on {(file ?? qemu)}");
            stdout.WriteLine("help lists the commands; Tab completes; exit or Ctrl-D leaves.");
            BootCommand.Summary(shell.Machine, stdout);
            if (interactive) Console.TreatControlCAsInput = true;
            try
            {
                ShellRepl.Run(shell, Console.In, stdout, interactive ? new ConsoleKeys() : null);
            }
            finally
            {
                if (interactive) Console.TreatControlCAsInput = false;
            }
            return CliApp.ExitOk;
        });
        return command;
    }
}
