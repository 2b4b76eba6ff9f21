using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Numasim.Firmware;
using Numasim.Kernel.Init;
using Numasim.Kernel.Sysfs;

namespace Numasim.Cli.Commands;

/// <summary>
/// <c>numasim bench [--runs N] [--phases] [--digest]</c>: whole-machine figures. Boots the oracle machine N times
/// and the 1,024-node, 8,192-CPU, 64 TiB machine once, with a Stopwatch, and prints the times and the process's
/// peak working set. <c>--phases</c> adds the time of each start_kernel() phase of the big boot; <c>--digest</c>
/// a SHA-256 of the big machine's boot log and of its whole /sys and /proc text (to check a change keeps both).
/// </summary>
public static class BenchCommand
{
    /// <summary>The QEMU options of the real-kernel oracle machine (shared/oracle/README.md).</summary>
    public const string OracleQemu =
        "-m 1G,slots=4,maxmem=8G -smp 2,maxcpus=4,sockets=4,cores=1,threads=1 " +
        "-object memory-backend-ram,id=m0,size=1G -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1 " +
        "-numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 -numa cpu,node-id=1,socket-id=2 " +
        "-numa cpu,node-id=1,socket-id=3 -numa dist,src=0,dst=1,val=21";

    /// <summary>1,024 nodes of 64 GiB with 8 CPUs each (NODES_SHIFT 10, 8,192 CPUs, 64 TiB).</summary>
    public static MachineSpec BigMachine()
    {
        var smp = new SmpSpec(8192, 8192, 1024, 1, 8, 1);
        var nodes = Enumerable.Range(0, 1024).Select(i => new NodeSpec(i, 64UL << 30)).ToList();
        return new MachineSpec
        {
            RamBytes = 64UL << 40, MaxMemBytes = 65UL << 40, Slots = 64, Smp = smp, Nodes = nodes,
            CpuSlots = X86Topology.PossibleCpus(smp, i => i / 8),
        };
    }

    public static Command Create()
    {
        var runs = new Option<int>("--runs") { Description = "boots of the oracle machine (default 100)", HelpName = "N", DefaultValueFactory = _ => 100 };
        var phases = new Option<bool>("--phases") { Description = "print the time of each start_kernel() phase of the big boot" };
        var digest = new Option<bool>("--digest") { Description = "print SHA-256 digests of the big machine's boot log and file tree" };
        var command = new Command("bench", "boot the oracle machine N times and a 1,024-node 8,192-CPU 64 TiB machine; print times and peak memory");
        command.Options.Add(runs);
        command.Options.Add(phases);
        command.Options.Add(digest);
        command.Subcommands.Add(CreateChecker());
        command.SetAction(parsed =>
        {
            int n = parsed.GetValue(runs);
            if (n < 0) throw new CliException("bench: --runs must be 0 or more");
            return Execute(parsed.InvocationConfiguration.Output, parsed.InvocationConfiguration.Error, n, parsed.GetValue(phases), parsed.GetValue(digest));
        });
        return command;
    }

    /// <summary><c>numasim bench checker</c>: see <see cref="CheckerBench"/>.</summary>
    private static Command CreateChecker()
    {
        var depths = new Option<string>("--depths") { Description = "depths explored, comma-separated (default 7,9)", HelpName = "LIST", DefaultValueFactory = _ => "7,9" };
        var jobs = new Option<int>("--jobs") { Description = "worker threads (default 1: figures per core)", HelpName = "N", DefaultValueFactory = _ => 1 };
        var max = new Option<long>("--max-states") { Description = "stop each run at this many states (default 3000000)", HelpName = "N", DefaultValueFactory = _ => 3_000_000 };
        var c = new Command("checker", "the model checker's states per second per core and bytes per state, oracle and four-node machines");
        c.Options.Add(depths);
        c.Options.Add(jobs);
        c.Options.Add(max);
        c.SetAction(parsed =>
        {
            var list = new List<int>();
            foreach (var part in parsed.GetValue(depths)!.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                list.Add(int.TryParse(part, out int d) && d >= 0 ? d : throw new CliException($"bench checker: --depths: '{part}' is not a depth"));
            int j = parsed.GetValue(jobs);
            if (j < 1) throw new CliException("bench checker: --jobs must be 1 or more");
            long m = parsed.GetValue(max);
            if (m < 1) throw new CliException("bench checker: --max-states must be 1 or more");
            return CheckerBench.Execute(parsed.InvocationConfiguration.Output, list, j, m);
        });
        return c;
    }

    /// <summary>Runs the figures; on a terminal, a progress bar on stderr follows the boots.</summary>
    public static int Execute(TextWriter stdout, TextWriter stderr, int oracleRuns, bool phases, bool digest) =>
        CliProgress.Run(stderr, bar => Execute(stdout, oracleRuns, phases, digest, bar));

    private static int Execute(TextWriter stdout, int oracleRuns, bool phases, bool digest, CliProgress.Report bar)
    {
        var inv = CultureInfo.InvariantCulture;
        if (oracleRuns > 0)
        {
            var spec = QemuCommandLine.Parse(OracleQemu).GetSpecOrThrow();
            Numasim.Machine.Boot(spec); // JIT warm-up, not counted
            long before = GC.GetTotalAllocatedBytes(precise: true);
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < oracleRuns; i++)
            {
                Numasim.Machine.Boot(spec);
                if (i % 10 == 9 || i == oracleRuns - 1) bar("oracle", i + 1, oracleRuns, $"oracle machine: {i + 1}/{oracleRuns} boots");
            }
            sw.Stop();
            long perBoot = (GC.GetTotalAllocatedBytes(precise: true) - before) / oracleRuns;
            stdout.WriteLine(string.Create(inv, $"oracle machine (2 nodes, 4 CPUs, 1 GiB): {oracleRuns} boots in {sw.Elapsed.TotalMilliseconds:F1} ms, {sw.Elapsed.TotalMilliseconds / oracleRuns:F3} ms per boot, {perBoot / 1024.0:F1} KiB allocated per boot"));
            if (phases) WriteOraclePhases(stdout, spec, oracleRuns);
        }

        bar("big", 0, 1, "1,024-node machine: booting");
        var big = BigMachine();
        Numasim.Machine? m = null;
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var total = Stopwatch.StartNew();
        var times = BootPhases.Measure(() => m = Numasim.Machine.Boot(big));
        total.Stop();
        bar("big", 1, 1, $"1,024-node machine: booted in {total.Elapsed.TotalSeconds:F1} s");
        allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        gen0 = GC.CollectionCount(0) - gen0;
        gen1 = GC.CollectionCount(1) - gen1;
        gen2 = GC.CollectionCount(2) - gen2;
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        var cpu = self.TotalProcessorTime - cpu0;
        stdout.WriteLine(string.Create(inv, $"big machine (1024 nodes, 8192 CPUs, 64 TiB): boot {total.Elapsed.TotalMilliseconds:F1} ms (process CPU time {cpu.TotalMilliseconds:F0} ms)"));
        if (phases)
            foreach (var (phase, time, bytes) in times)
                stdout.WriteLine(string.Create(inv, $"  {phase,-26} {time.TotalMilliseconds,10:F1} ms {bytes / (1024.0 * 1024.0),8:F1} MiB allocated"));
        stdout.WriteLine(string.Create(inv, $"  allocated {allocated / (1024.0 * 1024.0):F0} MiB; collections gen0 {gen0}, gen1 {gen1}, gen2 {gen2}"));
        stdout.WriteLine(string.Create(inv, $"peak working set: {self.PeakWorkingSet64 / (1024.0 * 1024.0):F0} MiB"));
        GC.KeepAlive(m);
        if (digest)
        {
            stdout.WriteLine("dmesg sha256: " + Sha(string.Join('\n', m!.Dmesg())));
            var (sha, bytes, largest, largestBytes) = TreeDigest(m.Fs);
            stdout.WriteLine(string.Create(inv, $"tree  sha256: {sha} ({bytes} bytes; largest {largest}, {largestBytes} bytes)"));
        }
        return CliApp.ExitOk;
    }

    /// <summary>The oracle machine's start_kernel() phases, averaged over <paramref name="runs"/> more boots (timed apart
    /// from the figure above: the phase marks cost a little).</summary>
    private static void WriteOraclePhases(TextWriter stdout, MachineSpec spec, int runs)
    {
        var sums = new List<(string Phase, double Ms, long Bytes)>();
        for (int i = 0; i < runs; i++)
        {
            var times = BootPhases.Measure(() => Numasim.Machine.Boot(spec));
            for (int k = 0; k < times.Count; k++)
            {
                if (k == sums.Count) sums.Add((times[k].Phase, 0, 0));
                sums[k] = (sums[k].Phase, sums[k].Ms + times[k].Time.TotalMilliseconds, sums[k].Bytes + times[k].Allocated);
            }
        }
        foreach (var (phase, ms, bytes) in sums)
            stdout.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {phase,-26} {ms * 1000 / runs,10:F1} µs {bytes / 1024.0 / runs,8:F1} KiB allocated"));
    }

    /// <summary>SHA-256 over every entry's path, mode or link target, and text, depth first; and the bytes hashed.</summary>
    private static (string Sha, long Bytes, string Largest, int LargestBytes) TreeDigest(SysfsTree fs)
    {
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        long bytes = 0;
        (string Path, int Length) largest = ("", 0);
        foreach (var e in SysfsTree.Walk(fs.Root))
        {
            string text = e switch
            {
                SysfsLink l => e.Path + " -> " + l.RelativeTarget + "\n",
                // cpuN/topology/* shows cost O(CPUs) each and /proc/zoneinfo holds a pageset per zone and possible
                // CPU (gigabytes here): their names and modes are hashed, not their text.
                SysfsAttribute a => e.Path + " " + a.Mode.ToString(CultureInfo.InvariantCulture) + "\n" +
                    (!a.HasShow || a.Parent?.Name == "topology" || e.Path == "/proc/zoneinfo" ? "" : a.Show() + "\n"),
                _ => e.Path + "/\n",
            };
            var data = Encoding.UTF8.GetBytes(text);
            bytes += data.Length;
            if (data.Length > largest.Length) largest = (e.Path, data.Length);
            h.AppendData(data);
        }
        return (Convert.ToHexStringLower(h.GetHashAndReset()), bytes, largest.Path, largest.Length);
    }

    private static string Sha(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
