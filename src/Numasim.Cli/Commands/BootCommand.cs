using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Numasim.Explain;
using Numasim.Kernel;
using Numasim.Kernel.Drivers;
using Numasim.Kernel.Numa;

namespace Numasim.Cli.Commands;

/// <summary>
/// <c>numasim boot (--machine FILE | --qemu "ARGS") [--profile P] [--dmesg] [--cat PATH]... [--export DIR] [--reservations] [--initrd-size BYTES]
/// [--explain [--format json]]</c>:
/// boots the machine, then prints the boot log, the files named (in order, as cat does), why the boot did what it
/// did, and writes the tree. With none of those it prints a summary of the nodes (a table on a terminal).
/// </summary>
public static class BootCommand
{
    public static Command Create()
    {
        var machine = new MachineOptions();
        var cat = new Option<string[]>("--cat") { Description = "print a sysfs or procfs file (repeatable)", HelpName = "PATH" };
        var export = new Option<string?>("--export") { Description = "write the whole /sys and /proc tree under DIR", HelpName = "DIR" };
        var dmesg = new Option<bool>("--dmesg") { Description = "print the boot log" };
        var explain = new Option<bool>("--explain") { Description = "show why the boot did what it did: the kernel call path and its decisions" };
        var format = new Option<string>("--format") { Description = "format of --explain", HelpName = "text|json", DefaultValueFactory = _ => "text" };
        format.AcceptOnlyFromAmong("text", "json");
        var reservations = new Option<bool>("--reservations") { Description = "print the boot reservations (kernel function, node, range, pages) and each node's MemTotal" };
        var initrd = new Option<ulong?>("--initrd-size") { Description = "the size of the initrd QEMU loads, in bytes (where the loader puts it moves the early allocations)", HelpName = "BYTES" };
        var command = new Command("boot", "boot a machine and print files from its /sys and /proc");
        machine.AddTo(command);
        command.Options.Add(cat);
        command.Options.Add(export);
        command.Options.Add(dmesg);
        command.Options.Add(explain);
        command.Options.Add(format);
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

            bool why = parsed.GetValue(explain);
            var m = Numasim.Machine.Boot(spec, profile, traceBoot: why);
            foreach (var n in m.StateNotes) stderr.WriteLine("numasim: boot: note: " + CliApp.OneLine(n));
            foreach (var w in m.BootWarnings) stderr.WriteLine("numasim: warning: " + w);
            int status = CliApp.ExitOk;
            if (parsed.GetValue(dmesg))
                foreach (var line in m.Dmesg()) stdout.WriteLine(line);
            if (parsed.GetValue(reservations))
                foreach (var line in Numasim.Kernel.Mm.ReservationReport.Lines(m.Kernel)) stdout.WriteLine(line);
            if (why)
            {
                var events = m.Kernel.Trace.Take();
                m.Kernel.Trace.Stop();
                if (parsed.GetValue(format) == "json")
                    stdout.WriteLine(new JsonObject { ["profile"] = profile.Name, ["calls"] = ExplainJson.Calls(events) }.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                else ExplainText.WriteCalls(events, stdout, "");
            }
            var cats = parsed.GetValue(cat) ?? [];
            foreach (var path in cats)
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
            if (cats.Length == 0 && exportDir is null && !why && !parsed.GetValue(dmesg) && !parsed.GetValue(reservations)) Summary(m, stdout);
            return status;
        });
        return command;
    }

    /// <summary>The booted machine, node by node: state, CPUs, memory, populated zones, memory blocks.</summary>
    public static void Summary(Numasim.Machine m, TextWriter stdout)
    {
        var k = m.Kernel;
        var rows = k.NodeStates[NodeState.Possible].Bits().Select(nid =>
        {
            var p = k.NodeDataOf(nid);
            var blocks = k.AllMemoryBlocks.Where(b => b.Nid == nid).ToList();
            int online = blocks.Count(b => b.State == MemoryBlockState.Online);
            var cpus = new Bitmap(k.Cpus.NrCpuIds);
            foreach (var c in k.Cpus.Possible.Bits()) if (k.Cpus.CpuToNode(c) == nid && k.Cpus.Present[c]) cpus.Set(c);
            return (IReadOnlyList<string>)[
                nid.ToString(), k.NodeStates.Has(nid, NodeState.Online) ? (k.NodeStates.Has(nid, NodeState.Memory) ? "online" : "online, memoryless") : "offline",
                cpus.IsEmpty ? "-" : cpus.ToListString(), $"{(p?.NodePresentPages ?? 0) * 4 / 1024} MiB",
                p is null ? "-" : string.Join(" ", p.Zones.Where(z => z.IsPopulated).Select(z => z.Name)) is { Length: > 0 } zones ? zones : "-",
                blocks.Count == 0 ? "-" : $"{blocks.Count} ({online} online)"];
        });
        Terminal.Table(stdout, $"{m.Profile.Name}: {k.Cpus.Online.Weight()} of {k.Cpus.Possible.Weight()} CPUs online, {k.TotalRamPages * 4 / 1024} MiB managed, memory blocks of {k.MemoryBlockSize >> 20} MiB",
            ["node", "state", "CPUs", "present", "zones", "memory blocks"], rows);
    }
}
