using System.Diagnostics;
using System.Globalization;
using Numasim.Checker;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;

namespace Numasim.Cli.Commands;

/// <summary>
/// <c>numasim bench checker [--depths 7,9] [--jobs N] [--max-states N]</c>: the model checker's figures, v6.1 with
/// every operation family, on the oracle machine and on a four-node machine: distinct states and transitions per
/// second per core, bytes a saved state takes, bytes the visited set and search tree take per state, peak memory.
/// The engine before compact states measured 2,465 states/s per core at depth 7 on the oracle machine
/// (docs/performance.md, 2026-11-25); the ratio to that figure is printed for that case.
/// </summary>
internal static class CheckerBench
{
    /// <summary>States per second per core of the engine before compact states, oracle machine, depth 7, one job.</summary>
    public const double BeforeDepth7 = 2465;

    public static int Execute(TextWriter o, IReadOnlyList<int> depths, int jobs, long maxStates)
    {
        var inv = CultureInfo.InvariantCulture;
        foreach (var (name, qemu) in new[] { ("oracle machine", BenchCommand.OracleQemu), ("four-node machine", CheckerMachines.FourNodeQemu) })
        {
            var spec = QemuCommandLine.Parse(qemu).GetSpecOrThrow();
            foreach (int depth in depths)
            {
                var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
                var r = new ModelChecker(new CheckOptions { Spec = spec, Profile = KernelProfile.V6_1, Depth = depth, Jobs = jobs, MaxStates = maxStates }).Run();
                var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
                double perCore = r.States / Math.Max(1e-9, cpu.TotalSeconds);
                string ratio = name == "oracle machine" && depth == 7 && jobs == 1 && !r.Bounded
                    ? string.Create(inv, $", {r.StatesPerSecond / BeforeDepth7:F1}x the engine before compact states")
                    : "";
                o.WriteLine(string.Create(inv,
                    $"{name}, v6.1, depth {r.DepthReached}{(r.Bounded ? " (stopped at --max-states)" : "")}, jobs {jobs}: {r.States} states, {r.Transitions} transitions " +
                    $"in {r.Elapsed.TotalSeconds:F2} s (CPU {cpu.TotalSeconds:F2} s): {r.StatesPerSecond:F0} states/s, {perCore:F0} states/s per core of CPU time, " +
                    $"{r.TransitionsPerSecond:F0} transitions/s{ratio}"));
                o.WriteLine(string.Create(inv,
                    $"  state {r.StateBytes} bytes; visited set {r.VisitedBytes >> 10} KiB + tree {r.TreeBytes >> 10} KiB = {r.BytesPerState:F1} bytes a state; " +
                    $"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 >> 20} MiB; {(r.Violation is null ? "no violation" : "VIOLATION " + r.Violation.Invariant.Name)}"));
            }
        }
        MemoryFigure(o, 10_000_000);
        return CliApp.ExitOk;
    }

    /// <summary>The visited set and the search tree holding n states (synthetic fingerprints and parents): what the
    /// search keeps per state, whatever the machine; the machines themselves are one per job.</summary>
    private static void MemoryFigure(TextWriter o, int n)
    {
        GC.Collect();
        long before = GC.GetTotalMemory(true);
        var visited = new VisitedSet();
        var tree = new SearchTree();
        for (int i = 0; i < n; i++)
        {
            visited.Add(Numasim.Snapshots.Zobrist.Mix((ulong)i + 1));
            tree.Add(i / 4, (uint)i);
        }
        long after = GC.GetTotalMemory(true);
        o.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"search at {n / 1_000_000} M states: visited set {visited.Bytes >> 20} MiB + tree {tree.Bytes >> 20} MiB, {(double)(after - before) / n:F1} bytes a state on the heap; " +
            $"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 >> 20} MiB"));
        GC.KeepAlive(visited);
        GC.KeepAlive(tree);
    }
}
