using Numasim.Import;
using Numasim.Tests.RealTools;
using Xunit.Abstractions;

namespace Numasim.Tests.Import;

/// <summary>
/// Round trips of real machines: every dump in /work/shared/data (hwloc-linux's and util-linux's, see its README) and this
/// machine's own /sys, each imported, booted under the profile the import names, exported, and read by the real tools on
/// the original and on the export: lscpu, lscpu -e, lsmem (util-linux's own option sets for its lsmem dumps),
/// lstopo-no-graphics and numactl --hardware, compared whole with the stated rules of <see cref="RoundTrip"/>. Every
/// comparison not listed in <see cref="Exceptions"/> must be equal; every one listed must differ (a fixed exception
/// fails until it is removed here and in docs/conformance.md). Prints
/// "dumps imported: I/N; real-tool outputs: E/C equal".
/// </summary>
public class RealDumpRoundTripTests(ITestOutputHelper output)
{
    private const string Cgroup = "the dump carries a cgroup cpuset: hwloc's --whole-system shows every object, but ";
    private const string NonX86Cpuinfo = "/proc/cpuinfo of another architecture: the model boots x86, whose CPUs report x86 identity (qemu64's); the tree's is not carried (import notes it)";
    private const string OldOfflineTopology = "CPU 4 is offline and the dump's kernel (before 4.10) kept its cpuN/topology and caches; since 4.10 (both modelled v4.20 and v6.1) an offline CPU has none, so lscpu counts it as no core";
    private const string FakeNoDistance = "hand-made tree without nodeN/distance (numactl: No distance information) or MemFree; a kernel always shows distances (10/20 without a SLIT) and MemFree";
    private const string BuggyNuma = "buggy firmware: every node's cpumap lists all 8 CPUs and every distance is 10; a CPU has one node (cpu_to_node()) and x86's slit_valid() rejects an all-10 SLIT";
    private const string Overlap = "hand-made tree whose node cpumaps overlap (a CPU on two nodes), which no kernel shows; the model gives each CPU one node";
    private const string NoTopologyMasks = "hand-made tree without thread_siblings or core_siblings (lscpu shows 0 threads, cores and sockets); a kernel shows them for every online CPU";
    private const string LscpuDump = "partial dump: util-linux keeps only what lscpu reads, no nodeN/distance (numactl: No distance information) and no meminfo (sizes are not compared); a kernel always shows distances";
    private const string S390Layout = "s390 z/VM: zones are s390's (ZONE_DMA below 2 GiB, pre-4.13 valid_zones listing a block's neighbour zone) and memory0's first page is RAM; the model is x86 (DMA below 16 MiB, DMA32 below 4 GiB, page 0 reserved so memory0 reads removable 0 before 5.7)";

    /// <summary>(dump, tool) pairs known to differ, each with its reason; mirrored in docs/conformance.md.</summary>
    public static readonly Dictionary<(string Dump, string Tool), string> Exceptions = new()
    {
        [("128arm-2pa2n8cluster4co", "lscpu")] = NonX86Cpuinfo,
        [("nvidiagpunumanodes", "lscpu")] = NonX86Cpuinfo,
        [("ts__lscpu__dumps__ppc64-POWER7-64cpu", "lscpu")] = NonX86Cpuinfo,
        [("nvidiagpunumanodes", "lstopo")] = "hwloc hides the GPU memory nodes 250-255 behind their NVIDIA PCI devices (sys/bus/pci, proc/driver/nvidia, device tree: outside the model); on the export they are memory nodes of their own",
        [("16amd64-8n2c-cpusets", "lscpu")] = OldOfflineTopology,
        [("16amd64-8n2c-cpusets", "lscpu -e")] = OldOfflineTopology,
        [("40intel64-4n10c+pci-conflicts", "lstopo")] = "inconsistent dump: cpu3/topology/core_siblings is 0000000f (CPUs 0-3) while CPU 0's says 0,4,..; hwloc drops the conflicting package, the model's kernel shows one consistent package per CPU (so CPU 3 is a package of its own)",
        [("4fake-4gr1nu1pu", "lstopo")] = "hand-made tree without core_id, thread_siblings or distances: hwloc makes Groups of the CPUs; the model's kernel shows a core per CPU and distances",
        [("4fake-4gr1nu1pu", "numactl --hardware")] = FakeNoDistance,
        [("64fake-4n2s2ca2c2t", "numactl --hardware")] = FakeNoDistance,
        [("8em64t-2s2ca2c-buggynuma", "lscpu")] = BuggyNuma,
        [("8em64t-2s2ca2c-buggynuma", "lstopo")] = BuggyNuma,
        [("8em64t-2s2ca2c-buggynuma", "numactl --hardware")] = BuggyNuma,
        [("fakeheterocpunuma", "lstopo")] = Overlap,
        [("fakeheterocpunuma", "numactl --hardware")] = Overlap,
        [("fakememinitiators-1np2c+1npp+gi", "lscpu")] = NoTopologyMasks,
        [("fakememinitiators-1np2c+1npp+gi", "lscpu -e")] = NoTopologyMasks,
        [("ts__lsmem__dumps__s390-zvm-6g", "lsmem")] = S390Layout,
        [("ts__lscpu__dumps__x86_64-64cpu-linux6.2", "numactl --hardware")] = LscpuDump,
        [("ts__lscpu__dumps__x86_64-epyc_7451", "numactl --hardware")] = LscpuDump,
    };

    private sealed record Tree(string Name, string Path, string? LsmemExpected, bool Live = false);

    private static List<Tree> Trees(string data)
    {
        var list = new List<Tree>();
        foreach (var f in Directory.GetFiles(Path.Combine(data, "hwloc-linux"), "*.tar.bz2").Order(StringComparer.Ordinal))
            list.Add(new Tree(Path.GetFileName(f)[..^".tar.bz2".Length], f, null));
        foreach (var f in Directory.GetFiles(Path.Combine(data, "util-linux"), "ts__*").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(f);
            name = name[..name.IndexOf(".tar", StringComparison.Ordinal)];
            var exp = name.StartsWith("ts__lsmem__dumps__", StringComparison.Ordinal)
                ? Path.Combine(data, "util-linux", "expected__lsmem__lsmem-" + name["ts__lsmem__dumps__".Length..]) : null;
            list.Add(new Tree(name, f, exp));
        }
        if (OperatingSystem.IsLinux() && Directory.Exists("/sys/devices/system/cpu")) list.Add(new Tree("this machine", "/sys", null, Live: true));
        return list;
    }

    [Fact]
    public void Every_real_dump_and_this_machine_round_trip_through_the_real_tools()
    {
        if (SharedData.DirOrSkip(output, "round trips") is not { } data) return;
        var tools = new Tools(RealTool.Require("lscpu", output), RealTool.Require("lsmem", output), RealTool.Require("lstopo-no-graphics", output),
            RealTool.Require("numactl", output) && RealTool.Require("unshare", output) && RealTool.IsRoot && RealTool.Run("unshare", "-m", "true").Exit == 0);
        if (!tools.Numactl) output.WriteLine("NOTE: numactl --hardware comparisons need root and unshare -m; not run");
        var trees = Trees(data);
        var outcomes = new Outcome[trees.Count];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        // two trees at a time: the tools are separate processes
        Parallel.For(0, trees.Count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i => outcomes[i] = Run(trees[i], tools));
        int imported = 0, compared = 0, equal = 0, unreadable = 0;
        var failures = new List<string>();
        var seen = new HashSet<(string, string)>();
        for (int i = 0; i < trees.Count; i++)
        {
            var (d, oc) = (trees[i], outcomes[i]);
            if (oc.Error is not null)
            {
                output.WriteLine($"FAILED  {d.Name}: import/boot/export: {oc.Error.GetType().Name}: {oc.Error.Message}");
                failures.Add($"{d.Name}: import/boot/export failed: {oc.Error}");
                continue;
            }
            imported++;
            output.WriteLine($"        {d.Name}: profile {oc.Profile}, import+boot+export {oc.Seconds:F1} s");
            foreach (var n in oc.Notes) output.WriteLine($"        note: {n}");
            foreach (var (tool, orig, exp) in oc.Results)
            {
                if (RoundTrip.Unreadable(orig) is string why)
                {
                    unreadable++;
                    output.WriteLine($"n/a     {d.Name}: {tool}: {why}");
                    continue;
                }
                compared++;
                bool same = orig == exp;
                var key = (d.Name, ToolKey(tool));
                bool excepted = Exceptions.ContainsKey(key);
                if (excepted && !same) seen.Add(key);
                if (same) equal++;
                output.WriteLine($"{(same ? "equal  " : excepted ? "EXCEPT " : "DIFFER ")} {d.Name}: {tool}");
                if (!same && !excepted) failures.Add($"{d.Name}: {tool} differs\n--- original\n{orig}--- export\n{exp}");
                if (same && excepted && !tool.StartsWith("lsmem", StringComparison.Ordinal))
                    failures.Add($"{d.Name}: {tool} is now equal: remove its exception here and in docs/conformance.md");
            }
        }
        output.WriteLine($"round trips: {clock.Elapsed.TotalSeconds:F0} s");
        output.WriteLine($"dumps imported: {imported}/{trees.Count}; real-tool outputs: {equal}/{compared} equal ({compared - equal} listed exceptions, {unreadable} not comparable: the tool cannot read the original)");
        Assert.True(imported > 0, "no dumps found");
        if (tools.All)
            foreach (var key in Exceptions.Keys.Where(k => !seen.Contains(k)))
                failures.Add($"exception {key} matched no comparison: remove it");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    /// <summary>The exception key of a comparison: lsmem runs of one dump share one reason.</summary>
    private static string ToolKey(string tool) => tool.StartsWith("lsmem", StringComparison.Ordinal) ? "lsmem" : tool;

    private sealed record Tools(bool Lscpu, bool Lsmem, bool Lstopo, bool Numactl)
    {
        public bool All => Lscpu && Lsmem && Lstopo && Numactl;
    }

    private sealed record Outcome(Exception? Error, List<(string Tool, string Orig, string Exp)> Results, IReadOnlyList<string> Notes, string Profile, double Seconds);

    private static Outcome Run(Tree d, Tools tools)
    {
        var results = new List<(string Tool, string Orig, string Exp)>();
        TreeSource src;
        try { src = TreeSource.Open(d.Path); }
        catch (Exception e) { return new Outcome(e, results, [], "", 0); }
        using (src)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            RoundTripRun rt;
            try { rt = RoundTrip.ImportBootExport(src.Root, d.Name, new ImportOptions()); }
            catch (Exception e) { return new Outcome(e, results, [], "", 0); }
            double seconds = sw.Elapsed.TotalSeconds;
            try
            {
                // this machine is read as a tree too (lscpu -s /, lstopo -i /): plain lscpu asks CPUID for the hypervisor,
                // and plain lstopo applies this process's cgroup, both outside the model
                string root = src.Root;
                string sys = Path.Combine(src.Root, "sys/devices/system");
                void Add(string tool, Func<string, string> run)
                {
                    var (o, e) = RoundTrip.Reconcile(tool, src.Root, run(root), run(rt.Export));
                    results.Add((tool, o, e));
                }
                if (tools.Lscpu && Directory.Exists(Path.Combine(sys, "cpu")))
                {
                    Add("lscpu", RoundTrip.Lscpu);
                    Add("lscpu -e", RoundTrip.LscpuExtended);
                }
                if (tools.Lsmem && Directory.Exists(Path.Combine(sys, "memory")))
                    foreach (var opts in d.LsmemExpected is { } exp ? RoundTrip.LsmemOptionSets(exp) : [.. RoundTrip.LsmemDefaultSets])
                        Add(("lsmem " + string.Join(' ', opts)).TrimEnd(), r => RoundTrip.Lsmem(r, opts));
                if (tools.Lstopo && Directory.Exists(Path.Combine(sys, "node"))) Add("lstopo", RoundTrip.Lstopo);
                if (tools.Numactl && Directory.Exists(Path.Combine(sys, "node"))) Add("numactl --hardware", RoundTrip.Numactl);
                return new Outcome(null, results, [.. rt.Import.Notes, .. rt.Machine.StateNotes.Select(n => "boot: " + n)], rt.Import.Profile, seconds);
            }
            catch (Exception e) { return new Outcome(e, results, rt.Import.Notes, rt.Import.Profile, seconds); }
            finally { TempFolders.Delete(rt.Export); }
        }
    }
}
