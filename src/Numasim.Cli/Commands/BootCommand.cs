using System.CommandLine;
using Numasim.Export;
using Numasim.Kernel;

namespace Numasim.Cli.Commands;

/// <summary>
/// <c>numasim boot (--machine FILE | --qemu "ARGS") [--profile P] [--dmesg] [--cat PATH]... [--export DIR]</c>:
/// boots the machine, then prints the boot log, the files named (in order, as cat does) and writes the tree.
/// </summary>
public static class BootCommand
{
    public static Command Create()
    {
        var machine = new MachineOptions();
        var cat = new Option<string[]>("--cat") { Description = "print a sysfs or procfs file (repeatable)", HelpName = "PATH" };
        var export = new Option<string?>("--export") { Description = "write the whole /sys and /proc tree under DIR", HelpName = "DIR" };
        var dmesg = new Option<bool>("--dmesg") { Description = "print the boot log" };
        var reservations = new Option<bool>("--reservations") { Description = "print the boot reservations (kernel function, node, range, pages) and each node's MemTotal" };
        var initrd = new Option<ulong?>("--initrd-size") { Description = "the size of the initrd QEMU loads, in bytes (where the loader puts it moves the early allocations)", HelpName = "BYTES" };
        var command = new Command("boot", "boot a machine and print files from its /sys and /proc");
        machine.AddTo(command);
        command.Options.Add(cat);
        command.Options.Add(export);
        command.Options.Add(dmesg);
        command.Options.Add(reservations);
        command.Options.Add(initrd);
        command.SetAction(parsed =>
        {
            var stdout = parsed.InvocationConfiguration.Output;
            var stderr = parsed.InvocationConfiguration.Error;
            var profile = MachineOptions.ResolveProfile(parsed.GetValue(machine.Profile));
            var spec = machine.ResolveSpec(parsed, "boot", stderr);
            if (parsed.GetValue(initrd) is { } size) spec = spec with { InitrdBytes = size };
            var exportDir = parsed.GetValue(export);
            if (exportDir is not null)
            {
                ExportTarget.Check(exportDir);
            }

            var m = Numasim.Machine.Boot(spec, profile);
            foreach (var w in m.BootWarnings) stderr.WriteLine("numasim: warning: " + w);
            int status = CliApp.ExitOk;
            if (parsed.GetValue(dmesg))
                foreach (var line in m.Dmesg()) stdout.WriteLine(line);
            if (parsed.GetValue(reservations))
                foreach (var line in Numasim.Kernel.Mm.ReservationReport.Lines(m.Kernel)) stdout.WriteLine(line);
            foreach (var path in parsed.GetValue(cat) ?? [])
            {
                var abs = path.StartsWith('/') ? path : "/" + path;
                var r = m.Read(abs);
                if (r.Ok) stdout.Write(r.Text);
                else
                {
                    stdout.Flush();
                    stderr.WriteLine($"numasim: cat: {path}: {r.Error.Message()}");
                    status = CliApp.ExitUsage;
                }
            }
            if (exportDir is not null)
            {
                ExportTarget.Write(m.Fs, exportDir);
            }
            return status;
        });
        return command;
    }
}
