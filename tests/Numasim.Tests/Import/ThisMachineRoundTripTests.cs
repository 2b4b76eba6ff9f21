using Numasim.Import;
using Numasim.Tests.RealTools;
using Xunit.Abstractions;

namespace Numasim.Tests.Import;

/// <summary>
/// The machine the tests run on (Linux only): its /sys and /proc are imported, booted, exported, and the real tools
/// read both, normalized as in <see cref="RealDumpRoundTripTests"/>: lscpu -e, lsmem (when /sys/devices/system/memory
/// exists), numactl --hardware (as root) and lstopo reduced to NUMANode and PU lines.
/// </summary>
public class ThisMachineRoundTripTests(ITestOutputHelper output)
{
    [Fact]
    public void This_machine_round_trips()
    {
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/sys/devices/system/cpu"))
        {
            output.WriteLine("NOTE: not Linux: this machine's round trip not run");
            return;
        }
        var (_, export, notes) = RoundTrip.ImportBootExport("/", "this-machine", new ImportOptions());
        try
        {
            foreach (var n in notes) output.WriteLine("note: " + n);
            var results = new List<(string Tool, string Orig, string Exp)>();
            if (RealTool.Require("lscpu", output)) results.Add(("lscpu -e", RoundTrip.Lscpu(null), RoundTrip.Lscpu(export)));
            if (Directory.Exists("/sys/devices/system/memory") && RealTool.Require("lsmem", output))
                results.Add(("lsmem", RoundTrip.Lsmem(null, ["-o", "RANGE,SIZE,STATE,BLOCK,NODE"]), RoundTrip.Lsmem(export, ["-o", "RANGE,SIZE,STATE,BLOCK,NODE"])));
            if (RealTool.Require("numactl", output) && RealTool.Require("unshare", output) && RealTool.IsRoot
                && RealTool.Run("unshare", "-m", "true").Exit == 0 && Directory.Exists("/sys/devices/system/node/node0"))
            {
                var o = RoundTrip.Numactl(null);
                results.Add(("numactl --hardware", o, RoundTrip.ReconcileSizes(o, RoundTrip.Numactl(export), 128)));
            }
            if (RealTool.Require("lstopo-no-graphics", output))
            {
                var o = RoundTrip.Lstopo(null);
                results.Add(("lstopo", o, RoundTrip.ReconcileSizes(o, RoundTrip.Lstopo(export), 128)));
            }
            int equal = results.Count(r => r.Orig == r.Exp);
            foreach (var (tool, orig, exp) in results)
                output.WriteLine($"{(orig == exp ? "equal " : "DIFFER")} this machine: {tool}");
            output.WriteLine($"this machine: real-tool outputs equal: {equal} of {results.Count}");
            foreach (var (tool, orig, exp) in results)
                Assert.True(orig == exp, $"this machine: {tool} differs\n--- original\n{orig}--- export\n{exp}");
        }
        finally
        {
            Directory.Delete(export, recursive: true);
        }
    }
}
