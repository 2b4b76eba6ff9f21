using System.Diagnostics;
using Numasim.Export;
using Numasim.Firmware;
using Numasim.Import;

namespace Numasim.Bench;

/// <summary>
/// <c>dotnet run -c Release -- --import-big [DIR]</c>: the 1,024-node bench machine (8,192 CPUs, 64 TiB, <see cref="BootBenchmarks"/>)
/// is booted and exported to tmpfs (its /proc/zoneinfo left out: 0.9 GB of per-CPU pagesets the importer does not
/// read), or DIR is taken as its export (`numasim boot --export DIR` of it: two million entries, which a tmpfs may not
/// have the inodes for twice), imported three times as `numasim import` does (the tree read, the machine file written
/// and parsed back; wall and CPU time of each), the imported machine booted, and its tree compared with the
/// original's in memory under /sys/devices/system, /sys/firmware/memmap and /proc/cpuinfo.
/// A Stopwatch figure, not BenchmarkDotNet: one export takes a minute.
/// </summary>
public static class ImportRoundTrip
{
    /// <summary>What is compared. /proc/meminfo is not: without the dump's /proc/zoneinfo the import keeps each node's MemTotal
    /// but not its split over zones, and MemAvailable follows the zones' watermarks.</summary>
    public static readonly string[] Compared = ["/sys/devices/system", "/sys/firmware/memmap", "/proc/cpuinfo"];

    public static void Run(string? dump)
    {
        var spec = BootBenchmarks.BigMachine() with { Name = "big" };
        var sw = Stopwatch.StartNew();
        var original = Machine.Boot(spec);
        Console.WriteLine($"boot of the 1,024-node machine: {sw.Elapsed.TotalSeconds:F1} s");
        var dir = dump ?? TempFolders.Create();
        try
        {
            sw.Restart();
            if (dump is null) SysfsExporter.Export(original.Fs, dir, p => p != "/proc/zoneinfo");
            Console.WriteLine(dump is null ? $"export: {sw.Elapsed.TotalSeconds:F1} s" : $"export: {dump} (given)");
            ImportResult? r = null;
            var self = Process.GetCurrentProcess();
            for (int run = 0; run < 3; run++)
            {
                self.Refresh();
                var cpu = self.TotalProcessorTime;
                sw.Restart();
                r = SysfsImporter.ImportTree(dir, "big", new ImportOptions());
                MachineFile.Parse(r.MachineFileText(), "big.yaml");
                double wall = sw.Elapsed.TotalSeconds;
                self.Refresh();
                Console.WriteLine($"import {run + 1}: {wall:F2} s wall, {(self.TotalProcessorTime - cpu).TotalSeconds:F2} s CPU (load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]})");
            }
            var text = r!.MachineFileText();
            var imported = Machine.Boot(MachineFile.Parse(text, "big.yaml"));
            var diffs = TreeDiff.Differences(original.Fs, imported.Fs, Compared);
            Console.WriteLine(diffs.Count == 0
                ? $"round trip exact: the imported machine's {string.Join(", ", Compared)} equal the original's"
                : $"round trip: {diffs.Count} differences, first:\n  " + string.Join("\n  ", diffs));
        }
        finally { if (dump is null) TempFolders.Delete(dir); }
    }
}
