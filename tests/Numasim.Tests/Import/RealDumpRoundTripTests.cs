using Numasim.Import;
using Numasim.Tests.RealTools;
using Xunit.Abstractions;

namespace Numasim.Tests.Import;

/// <summary>
/// Round trips over real data written by others (/work/shared/data, see its README): every hwloc-linux dump with two
/// or more nodes and util-linux's lscpu and lsmem dumps are imported, booted (v6.1), exported, and the real tools are
/// run on the original tree and on the export:
/// <list type="bullet">
/// <item>lscpu -s ROOT -e=CPU,NODE,SOCKET,CORE,ONLINE (every dump with cpu/): trailing blanks only;</item>
/// <item>numactl --hardware over a bind mount (every dump with nodeN/meminfo): free figures become F; sizes within
///   128 MiB or 3% are taken as equal (<see cref="RoundTrip.ReconcileSizes"/>);</item>
/// <item>lstopo-no-graphics -i ROOT reduced to NUMANode and PU lines (every hwloc dump): sizes as for numactl;</item>
/// <item>lsmem -s ROOT with every option set of util-linux's expected__lsmem__* file (the lsmem dumps): trailing blanks only.</item>
/// </list>
/// Every comparison not listed in <see cref="Exceptions"/> must be equal; every one listed must differ (so a fixed
/// exception fails until it is removed here and in docs/conformance.md). The counts are printed.
/// </summary>
public class RealDumpRoundTripTests(ITestOutputHelper output)
{
    /// <summary>(dump, tool) pairs known to differ, each with its reason; mirrored in docs/conformance.md.</summary>
    public static readonly Dictionary<(string Dump, string Tool), string> Exceptions = new()
    {
        [("16amd64-4n4c-cgroup-distance-merge", "lstopo")] = "the dump carries a cgroup/cpuset that restricts the allowed nodes and PUs; lstopo hides disallowed objects; the model has no cgroups",
        [("16amd64-8n2c-cpusets", "lscpu -e")] = "CPU 4 is offline: the old kernel of the dump kept cpu4/topology/ (lscpu shows its core), v6.1 removes topology/ of an offline CPU, so lscpu shows - and numbers the later cores one lower",
        [("16amd64-8n2c-cpusets", "lstopo")] = "the dump carries a cgroup/cpuset that restricts the allowed nodes and PUs; lstopo hides disallowed objects; the model has no cgroups",
        [("32amd64-4s2n4c-cgroup2", "lstopo")] = "the dump carries a cgroup/cpuset that restricts the allowed nodes and PUs; lstopo hides disallowed objects; the model has no cgroups",
        [("40intel64-4n10c+pci-conflicts", "lscpu -e")] = "inconsistent dump: cpu3/topology/core_siblings is 0000000f (CPUs 0-3) while its core_siblings_list says 3,7,..,39; lscpu reads the mask, so CPU 3 makes a socket of its own and package 3s other CPUs become SOCKET 4. The model writes consistent masks",
        [("4fake-4gr1nu1pu", "numactl --hardware")] = "the fake dump has no nodeN/distance (numactl: No distance information available) and no MemFree; a kernel always shows distance (10/20 without a SLIT)",
        [("4fake-4gr1nu1pu", "lstopo")] = "the dump carries a cgroup/cpuset that restricts the allowed nodes and PUs; lstopo hides disallowed objects; the model has no cgroups; the fake tree also has no distance files",
        [("64fake-4n2s2ca2c2t", "numactl --hardware")] = "the fake dump has no nodeN/distance (numactl: No distance information available) and no MemFree; a kernel always shows distance (10/20 without a SLIT)",
        [("8em64t-2s2ca2c-buggynuma", "numactl --hardware")] = "buggy firmware: every node lists all 8 CPUs and every distance is 10. A CPU is on one node in the model (the first list wins) and x86 slit_valid() rejects an all-10 SLIT, so the 10/20 defaults apply",
        [("8em64t-2s2ca2c-buggynuma", "lstopo")] = "buggy firmware (see numactl): hwloc puts all CPUs under node 0 and the other nodes beside it; the model gives each CPU one node",
        [("fakeheterocpunuma", "numactl --hardware")] = "hand-made tree: node cpulists overlap (a CPU on two nodes), which no kernel shows; the model puts each CPU on its first node; no MemFree",
        [("fakeheterocpunuma", "lstopo")] = "hand-made tree with overlapping node cpulists (see numactl)",
        [("fakeheteromemtiers", "lstopo")] = "hwloc attaches each CPU-less memory node (HBM/NVM) to the Group of its initiator from nodeN/access1/initiators (HMAT access classes, outside the model); on the export it puts them in Groups of their own by distance. Possible nodes 3,5,7 have no folder and are not modelled",
        [("fakememinitiators-1np2c+1npp+gi", "lscpu -e")] = "the tree has no physical_package_id/core_id (lscpu: -); the model always has a package/core tree, so lscpu shows ids",
        [("fakememinitiators-1np2c+1npp+gi", "numactl --hardware")] = "node 4 has neither CPUs nor memory: not in the SRAT, so absent (x86); the other sizes are then not reconciled (the node lists differ) and show the model sizes, within 97 MB of the real ones",
        [("fakememinitiators-1np2c+1npp+gi", "lstopo")] = "node 4 absent (see numactl); hwloc places the memory nodes by their initiators (nodeN/access0|1/initiators, generic initiators: HMAT, outside the model), on the export by distance",
        [("nvidiagpunumanodes", "lscpu -e")] = "present CPUs 88-103 (POWER9 + GPUs): x86 numbers present CPUs densely in MADT order, so the model calls them 16-31",
        [("nvidiagpunumanodes", "numactl --hardware")] = "present CPUs 88-103 renumbered 16-31 as x86 does (see lscpu)",
        [("nvidiagpunumanodes", "lstopo")] = "present CPUs 88-103 renumbered 16-31 as x86 does (see lscpu)",
        [("ts__lsmem__dumps__aarch64_16K_16g", "lsmem --split=STATE,REMOVABLE")] = "aarch64 RAM from 0x10000000000 (block 8192 up, with a hole); the model lays RAM out as QEMU pc does, from 0 and above 4 GiB, so ranges and block numbers differ",
        [("ts__lsmem__dumps__s390-zvm-6g", "lsmem --split=STATE,REMOVABLE")] = "s390 z/VM: 256 MiB blocks from 0 with standby (offline) memory interleaved and removable per block; the model lays RAM out as QEMU pc does (PCI hole below 4 GiB) and v6.1 reports every block removable",
        [("ts__lsmem__dumps__aarch64_16K_16g", "lsmem --output RANGE,SIZE --split none")] = "aarch64 RAM from 0x10000000000 (block 8192 up, with a hole); the model lays RAM out as QEMU pc does, from 0 and above 4 GiB, so ranges and block numbers differ",
        [("ts__lsmem__dumps__s390-zvm-6g", "lsmem --output RANGE,SIZE --split none")] = "s390 z/VM: 256 MiB blocks from 0 with standby (offline) memory interleaved and removable per block; the model lays RAM out as QEMU pc does (PCI hole below 4 GiB) and v6.1 reports every block removable",
        [("ts__lsmem__dumps__aarch64_16K_16g", "lsmem --output RANGE,SIZE,STATE --split STATE")] = "aarch64 RAM from 0x10000000000 (block 8192 up, with a hole); the model lays RAM out as QEMU pc does, from 0 and above 4 GiB, so ranges and block numbers differ",
        [("ts__lsmem__dumps__s390-zvm-6g", "lsmem --output RANGE,SIZE,STATE --split STATE")] = "s390 z/VM: 256 MiB blocks from 0 with standby (offline) memory interleaved and removable per block; the model lays RAM out as QEMU pc does (PCI hole below 4 GiB) and v6.1 reports every block removable",
        [("ts__lsmem__dumps__aarch64_16K_16g", "lsmem --all --output RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES")] = "aarch64 RAM from 0x10000000000 (block 8192 up, with a hole); the model lays RAM out as QEMU pc does, from 0 and above 4 GiB, so ranges and block numbers differ",
        [("ts__lsmem__dumps__s390-zvm-6g", "lsmem --all --output RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES")] = "s390 z/VM: 256 MiB blocks from 0 with standby (offline) memory interleaved and removable per block; the model lays RAM out as QEMU pc does (PCI hole below 4 GiB) and v6.1 reports every block removable",
        [("ts__lsmem__dumps__aarch64_16K_16g", "lsmem --raw --output RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES --split RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES")] = "aarch64 RAM from 0x10000000000 (block 8192 up, with a hole); the model lays RAM out as QEMU pc does, from 0 and above 4 GiB, so ranges and block numbers differ",
        [("ts__lsmem__dumps__s390-zvm-6g", "lsmem --raw --output RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES --split RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES")] = "s390 z/VM: 256 MiB blocks from 0 with standby (offline) memory interleaved and removable per block; the model lays RAM out as QEMU pc does (PCI hole below 4 GiB) and v6.1 reports every block removable",
        [("ts__lsmem__dumps__aarch64_16K_16g", "lsmem --json --output RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES --split RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES")] = "aarch64 RAM from 0x10000000000 (block 8192 up, with a hole); the model lays RAM out as QEMU pc does, from 0 and above 4 GiB, so ranges and block numbers differ",
        [("ts__lsmem__dumps__s390-zvm-6g", "lsmem --json --output RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES --split RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES")] = "s390 z/VM: 256 MiB blocks from 0 with standby (offline) memory interleaved and removable per block; the model lays RAM out as QEMU pc does (PCI hole below 4 GiB) and v6.1 reports every block removable",
        [("ts__lsmem__dumps__aarch64_16K_16g", "lsmem -o +ZONES")] = "aarch64 RAM from 0x10000000000 (block 8192 up, with a hole); the model lays RAM out as QEMU pc does, from 0 and above 4 GiB, so ranges and block numbers differ",
        [("ts__lsmem__dumps__s390-zvm-6g", "lsmem -o +ZONES")] = "s390 z/VM: 256 MiB blocks from 0 with standby (offline) memory interleaved and removable per block; the model lays RAM out as QEMU pc does (PCI hole below 4 GiB) and v6.1 reports every block removable",
        [("ts__lsmem__dumps__aarch64_16K_16g", "lsmem --output-all")] = "aarch64 RAM from 0x10000000000 (block 8192 up, with a hole); the model lays RAM out as QEMU pc does, from 0 and above 4 GiB, so ranges and block numbers differ",
        [("ts__lsmem__dumps__s390-zvm-6g", "lsmem --output-all")] = "s390 z/VM: 256 MiB blocks from 0 with standby (offline) memory interleaved and removable per block; the model lays RAM out as QEMU pc does (PCI hole below 4 GiB) and v6.1 reports every block removable",
        [("ts__lsmem__dumps__aarch64_16K_16g", "lsmem ")] = "aarch64 RAM from 0x10000000000 (block 8192 up, with a hole); the model lays RAM out as QEMU pc does, from 0 and above 4 GiB, so ranges and block numbers differ",
        [("ts__lsmem__dumps__s390-zvm-6g", "lsmem ")] = "s390 z/VM: 256 MiB blocks from 0 with standby (offline) memory interleaved and removable per block; the model lays RAM out as QEMU pc does (PCI hole below 4 GiB) and v6.1 reports every block removable",
        [("ts__lsmem__dumps__x86_64-16g", "lsmem --split=STATE,REMOVABLE")] = "REMOVABLE: the kernel of the dump (before 5.7) computed removable per block (no for blocks holding unmovable pages); since commit 53cdc1cb29e8 every block reads 1, as the model does under v6.1",
        [("ts__lsmem__dumps__x86_64-16g", "lsmem --all --output RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES")] = "REMOVABLE: the kernel of the dump (before 5.7) computed removable per block (no for blocks holding unmovable pages); since commit 53cdc1cb29e8 every block reads 1, as the model does under v6.1",
        [("ts__lsmem__dumps__x86_64-16g", "lsmem --raw --output RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES --split RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES")] = "REMOVABLE: the kernel of the dump (before 5.7) computed removable per block (no for blocks holding unmovable pages); since commit 53cdc1cb29e8 every block reads 1, as the model does under v6.1",
        [("ts__lsmem__dumps__x86_64-16g", "lsmem --json --output RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES --split RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES")] = "REMOVABLE: the kernel of the dump (before 5.7) computed removable per block (no for blocks holding unmovable pages); since commit 53cdc1cb29e8 every block reads 1, as the model does under v6.1",
        [("ts__lsmem__dumps__x86_64-16g", "lsmem -o +ZONES")] = "REMOVABLE: the kernel of the dump (before 5.7) computed removable per block (no for blocks holding unmovable pages); since commit 53cdc1cb29e8 every block reads 1, as the model does under v6.1",
        [("ts__lsmem__dumps__x86_64-16g", "lsmem --output-all")] = "REMOVABLE: the kernel of the dump (before 5.7) computed removable per block (no for blocks holding unmovable pages); since commit 53cdc1cb29e8 every block reads 1, as the model does under v6.1",
        [("ts__lsmem__dumps__x86_64-16g", "lsmem ")] = "REMOVABLE: the kernel of the dump (before 5.7) computed removable per block (no for blocks holding unmovable pages); since commit 53cdc1cb29e8 every block reads 1, as the model does under v6.1",
    };

    private sealed record Dump(string Name, string Path, bool IsLsmem, string? LsmemExpected);

    private static List<Dump> Dumps(string data)
    {
        var list = new List<Dump>();
        foreach (var f in Directory.GetFiles(Path.Combine(data, "hwloc-linux"), "*.tar.bz2").Order(StringComparer.Ordinal))
            list.Add(new Dump(Path.GetFileName(f)[..^".tar.bz2".Length], f, false, null));
        foreach (var f in Directory.GetFiles(Path.Combine(data, "util-linux"), "ts__*").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(f);
            name = name[..name.IndexOf(".tar", StringComparison.Ordinal)];
            bool lsmem = name.StartsWith("ts__lsmem__dumps__", StringComparison.Ordinal);
            var exp = lsmem ? Path.Combine(data, "util-linux", "expected__lsmem__lsmem-" + name["ts__lsmem__dumps__".Length..]) : null;
            list.Add(new Dump(name, f, lsmem, exp));
        }
        return list;
    }

    [Fact]
    public void Every_real_dump_round_trips_through_the_real_tools()
    {
        if (SharedData.DirOrSkip(output, "round trips") is not { } data) return;
        bool lscpu = RealTool.Require("lscpu", output), lsmem = RealTool.Require("lsmem", output);
        bool lstopo = RealTool.Require("lstopo-no-graphics", output);
        bool numactl = RealTool.Require("numactl", output) && RealTool.Require("unshare", output) && RealTool.IsRoot
            && RealTool.Run("unshare", "-m", "true").Exit == 0;
        if (!numactl) output.WriteLine("NOTE: numactl --hardware comparisons need root and unshare -m; not run");

        int imported = 0, compared = 0, equal = 0, unreadable = 0;
        var failures = new List<string>();
        var seenExceptions = new HashSet<(string, string)>();
        // Import, boot, export and run the tools over 2 dumps at a time (the tools are separate processes); report in
        // dump order afterwards.
        var dumps = Dumps(data);
        var outcomes = new DumpOutcome[dumps.Count];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Parallel.For(0, dumps.Count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
            outcomes[i] = RunDump(dumps[i], lscpu, lsmem, lstopo, numactl));
        for (int i = 0; i < dumps.Count; i++)
        {
            var d = dumps[i];
            var oc = outcomes[i];
            if (oc.Error is not null)
            {
                output.WriteLine($"FAILED  {d.Name}: import/boot/export: {oc.Error.GetType().Name}: {oc.Error.Message}");
                failures.Add($"{d.Name}: import/boot/export failed: {oc.Error}");
                continue;
            }
            imported++;
            output.WriteLine($"        {d.Name}: import+boot+export {oc.ExportSeconds:F1} s");
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
                if (same) equal++;
                var key = (d.Name, tool);
                bool excepted = Exceptions.ContainsKey(key);
                if (excepted) seenExceptions.Add(key);
                output.WriteLine($"{(same ? "equal  " : excepted ? "EXCEPT " : "DIFFER ")} {d.Name}: {tool}");
                if (!same && !excepted)
                    failures.Add($"{d.Name}: {tool} differs\n--- original\n{orig}--- export\n{exp}");
                if (same && excepted)
                    failures.Add($"{d.Name}: {tool} is now equal: remove its exception here and in docs/conformance.md");
            }
            foreach (var n in oc.Notes) output.WriteLine($"        note: {n}");
        }
        output.WriteLine($"round trips: {clock.Elapsed.TotalSeconds:F0} s");
        output.WriteLine($"dumps imported: {imported}; real-tool outputs equal: {equal} of {compared}; exceptions: {compared - equal}; " +
            $"not comparable (the tool cannot read the original): {unreadable}");
        Assert.True(imported > 0, "no dumps found");
        foreach (var key in Exceptions.Keys.Where(k => !seenExceptions.Contains(k)))
            if (lscpu && lsmem && lstopo && numactl) failures.Add($"exception {key} matched no comparison: remove it");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    private sealed record DumpOutcome(Exception? Error, List<(string Tool, string Orig, string Exp)> Results, IReadOnlyList<string> Notes, double ExportSeconds);

    private static DumpOutcome RunDump(Dump d, bool lscpu, bool lsmem, bool lstopo, bool numactl)
    {
        var results = new List<(string Tool, string Orig, string Exp)>();
        using var src = TreeSource.Open(d.Path);
        var root = src.Root;
        string export;
        IReadOnlyList<string> notes;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        try { (_, export, notes) = RoundTrip.ImportBootExport(root, d.Name, new ImportOptions()); }
        catch (Exception e) { return new DumpOutcome(e, results, [], 0); }
        double seconds = sw.Elapsed.TotalSeconds;
        try
        {
            bool hasCpu = Directory.Exists(Path.Combine(root, "sys/devices/system/cpu"));
            bool hasMeminfo = Directory.Exists(Path.Combine(root, "sys/devices/system/node/node0")) &&
                Directory.GetDirectories(Path.Combine(root, "sys/devices/system/node"), "node*").All(n => File.Exists(Path.Combine(n, "meminfo")));
            if (lscpu && hasCpu) results.Add(("lscpu -e", RoundTrip.Lscpu(root), RoundTrip.Lscpu(export)));
            if (numactl && hasMeminfo)
            {
                var o = RoundTrip.Numactl(root);
                results.Add(("numactl --hardware", o, RoundTrip.ReconcileSizes(o, RoundTrip.Numactl(export), 128)));
            }
            if (lstopo && !d.Name.StartsWith("ts__", StringComparison.Ordinal))
            {
                var o = RoundTrip.Lstopo(root);
                results.Add(("lstopo", o, RoundTrip.ReconcileSizes(o, RoundTrip.Lstopo(export), 128)));
            }
            if (lsmem && d.IsLsmem)
                foreach (var opts in RoundTrip.LsmemOptionSets(d.LsmemExpected!))
                    results.Add(("lsmem " + string.Join(' ', opts), RoundTrip.Lsmem(root, opts), RoundTrip.Lsmem(export, opts)));
            return new DumpOutcome(null, results, notes, seconds);
        }
        catch (Exception e) { return new DumpOutcome(e, results, notes, seconds); }
        finally { Directory.Delete(export, recursive: true); }
    }
}
