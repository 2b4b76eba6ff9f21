using System.Diagnostics;
using System.Text.RegularExpressions;
using Numasim.Firmware;
using Numasim.Kernel.Numa;
using Xunit.Abstractions;

namespace Numasim.Tests.Mm;

/// <summary>The node fallback order (build_zonelists / find_next_best_node, mm/page_alloc.c v6.1) of machines booted
/// with the NUMA layout of real machines (hwloc's Linux dumps in ../shared/data/hwloc-linux): distances from
/// node*/distance, CPUs from node*/cpulist|cpumap|cpuN, memory from node*/meminfo MemTotal. The expected orders are
/// derived here, independently of Zonelists.cs, from the kernel's rules.</summary>
public class FallbackOrderRealMachinesTests
{
    /// <summary>A real machine's NUMA layout as its sysfs shows it.</summary>
    internal sealed record RealLayout(string Name, int[] Nodes, int[][] Distance, bool[] HasCpus, bool[] HasMemory)
    {
        public int IndexOf(int nid) => Array.IndexOf(Nodes, nid);
    }

    /// <summary>hwloc's Linux dumps under ../shared/data, or null (after a note) when the clone has none.</summary>
    private string? HwlocDir() =>
        SharedData.DirOrSkip(_out, "fallback orders of real machines") is { } data ? Path.Combine(data, "hwloc-linux") : null;

    /// <summary>Unpacks one dump (tar -xjf: .NET has no bzip2) and reads its node layout; null without node distances
    /// or with fewer than 2 nodes.</summary>
    internal static RealLayout? Load(string tarball)
    {
        string tmp = Path.Combine(Path.GetTempPath(), "numasim-hwloc-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(tmp);
        try
        {
            var psi = new ProcessStartInfo("tar", ["-xjf", tarball, "-C", tmp, "--wildcards", "*sys/devices/system/node*"])
            { RedirectStandardError = true, RedirectStandardOutput = true };
            using (var p = Process.Start(psi)!)
            {
                p.StandardOutput.ReadToEnd();
                p.StandardError.ReadToEnd();
                p.WaitForExit();
            }
            var nodeDir = Directory.EnumerateDirectories(tmp, "node", SearchOption.AllDirectories)
                .FirstOrDefault(d => d.Replace('\\', '/').EndsWith("sys/devices/system/node", StringComparison.Ordinal));
            if (nodeDir is null) return null;
            var nodes = Directory.GetDirectories(nodeDir)
                .Select(d => Regex.Match(Path.GetFileName(d), @"^node(\d+)$"))
                .Where(m => m.Success).Select(m => int.Parse(m.Groups[1].Value)).Order().ToArray();
            if (nodes.Length < 2) return null;
            var dist = new int[nodes.Length][];
            var cpus = new bool[nodes.Length];
            var mem = new bool[nodes.Length];
            for (int i = 0; i < nodes.Length; i++)
            {
                string nd = Path.Combine(nodeDir, "node" + nodes[i]);
                string df = Path.Combine(nd, "distance");
                if (!File.Exists(df)) return null;
                var row = File.ReadAllText(df).Trim('\0', ' ', '\n').Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse).ToArray();
                if (row.Length != nodes.Length) return null;
                dist[i] = row;
                cpus[i] = HasCpus(nd);
                var mi = Path.Combine(nd, "meminfo");
                var total = File.Exists(mi) ? Regex.Match(File.ReadAllText(mi), @"MemTotal:\s+(\d+) kB") : Match.Empty;
                mem[i] = total.Success && long.Parse(total.Groups[1].Value) > 0;
            }
            return new RealLayout(Path.GetFileName(tarball)[..^".tar.bz2".Length], nodes, dist, cpus, mem);
        }
        finally
        {
            try { Directory.Delete(tmp, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static bool HasCpus(string nodeDir)
    {
        var list = Path.Combine(nodeDir, "cpulist");
        if (File.Exists(list) && File.ReadAllText(list).Trim('\0', ' ', '\n').Length > 0) return true;
        var map = Path.Combine(nodeDir, "cpumap");
        if (File.Exists(map) && File.ReadAllText(map).Any(c => Uri.IsHexDigit(c) && c != '0')) return true;
        return Directory.EnumerateFileSystemEntries(nodeDir, "cpu*").Any(e => Regex.IsMatch(Path.GetFileName(e), @"^cpu\d+$"));
    }

    /// <summary>A QEMU-like spec with the layout: 512 MiB on each node with memory, one present CPU on each node with
    /// CPUs (at least one CPU: a machine without any is put on the first node), the distance matrix as is. QEMU wants
    /// node ids 0..n-1 ("numa: Node ID missing"), so the dump's i-th node becomes QEMU node (and PXM) i.</summary>
    internal static MachineSpec Spec(RealLayout l)
    {
        var cpuNodes = Enumerable.Range(0, l.Nodes.Length).Where(i => l.HasCpus[i]).ToList();
        if (cpuNodes.Count == 0) cpuNodes.Add(0);
        var smp = new SmpSpec(cpuNodes.Count, cpuNodes.Count, cpuNodes.Count, 1, 1, 1);
        var nodes = l.Nodes.Select((_, i) => new NodeSpec(i, l.HasMemory[i] ? 512UL << 20 : 0)).ToList();
        ulong ram = nodes.Aggregate(0UL, (a, n) => a + n.MemBytes);
        return new MachineSpec
        {
            Name = l.Name,
            RamBytes = ram,
            MaxMemBytes = ram,
            Smp = smp,
            Nodes = nodes,
            Distances = l.Distance,
            CpuSlots = X86Topology.PossibleCpus(smp, i => cpuNodes[i]),
        };
    }

    /// <summary>The kernel's rules, written out, over node ids as the booted kernel numbers them: __build_all_zonelists()
    /// clears node_load[] and builds every node with a pg_data_t in ascending id; build_zonelists() takes the local
    /// node first, then repeatedly the unused node with memory of least (distance + (n &lt; local) + has-CPUs) *
    /// MAX_NUMNODES + node_load[n], the lowest id on ties, and adds 1 to node_load of every node that opens a new
    /// distance group. has-CPUs is cpumask_of_node() when build_all_zonelists(NULL) runs in start_kernel().</summary>
    internal static Dictionary<int, int[]> ExpectedOrders(IReadOnlyList<int> built, Func<int, int, int> distance,
        ISet<int> withMemory, ISet<int> withCpusAtBuild)
    {
        var load = new Dictionary<int, int>();
        var result = new Dictionary<int, int[]>();
        foreach (int local in built.Order())
        {
            var order = new List<int> { local };
            order.AddRange(withMemory.Where(n => n != local)
                .Select(n => (Node: n, Key: (long)(distance(local, n) + (n < local ? 1 : 0) + (withCpusAtBuild.Contains(n) ? 1 : 0)) * NumaConstants.MaxNumNodes + load.GetValueOrDefault(n)))
                .OrderBy(c => c.Key).ThenBy(c => c.Node).Select(c => c.Node));
            int prev = local;
            foreach (int n in order)
            {
                if (distance(local, n) != distance(local, prev)) load[n] = load.GetValueOrDefault(n) + 1;
                prev = n;
            }
            result[local] = order.ToArray();
        }
        return result;
    }

    /// <summary>acpi_map_pxm_to_node() as the boot log tells it: QEMU's node id is the PXM, and the kernel numbers
    /// nodes in the order it meets PXMs in SRAT (processor entries, then memory).</summary>
    internal static Dictionary<int, int> PxmToNode(Machine m)
    {
        var map = new Dictionary<int, int>();
        foreach (var line in m.Dmesg())
        {
            var c = Regex.Match(line, @"SRAT: PXM (\d+) -> APIC 0x[0-9a-f]+ -> Node (\d+)");
            if (c.Success) map[int.Parse(c.Groups[1].Value)] = int.Parse(c.Groups[2].Value);
            var mem = Regex.Match(line, @"ACPI: SRAT: Node (\d+) PXM (\d+) ");
            if (mem.Success) map[int.Parse(mem.Groups[2].Value)] = int.Parse(mem.Groups[1].Value);
        }
        return map;
    }

    /// <summary>Boots the layout and compares every node's fallback order with the derived one; mismatches go to
    /// findings, layouts the model cannot take (no SRAT entry for a node without CPUs and memory, boot failures) to
    /// notes.</summary>
    internal static void Check(RealLayout l, List<string> findings, List<string> notes)
    {
        var spec = Spec(l);
        Machine m;
        try { m = Machine.Boot(spec); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            notes.Add($"{l.Name}: the model does not boot the layout: {e.GetType().Name}: {e.Message}");
            return;
        }
        var pxm = PxmToNode(m); // PXM = index of the dump's node
        for (int i = 0; i < l.Nodes.Length; i++)
            if (!pxm.ContainsKey(i)) notes.Add($"{l.Name}: node {l.Nodes[i]} (no CPUs, no memory) has no SRAT entry under QEMU; left out");
        var known = Enumerable.Range(0, l.Nodes.Length).Where(pxm.ContainsKey).ToList();
        var indexOfNode = known.ToDictionary(i => pxm[i], i => i);
        int D(int a, int b) => l.Distance[indexOfNode[a]][indexOfNode[b]];
        var withMemory = known.Where(i => l.HasMemory[i]).Select(i => pxm[i]).ToHashSet();
        // start_kernel(): build_all_zonelists(NULL) runs before identify_boot_cpu()'s numa_add_cpu(), so
        // node_to_cpumask_map is empty then and no node carries the CPU penalty.
        var withCpusAtBuild = new HashSet<int>();
        var built = m.Kernel.AllPgData().Where(p => p.FallbackNodeOrder.Count > 0).Select(p => p.NodeId).ToList();
        foreach (int p in known)
            if (!built.Contains(pxm[p])) findings.Add($"{l.Name}: node {pxm[p]} (the dump's node {l.Nodes[p]}) has no zonelist in the model");
        var expected = ExpectedOrders(built, D, withMemory, withCpusAtBuild);
        var dmesg = m.Dmesg().ToList();
        foreach (int nid in built)
        {
            var actual = m.Kernel.NodeDataOf(nid)!.FallbackNodeOrder;
            if (!actual.SequenceEqual(expected[nid]))
                findings.Add($"{l.Name}: node {nid}: expected \"{Fmt(expected[nid])}\", model \"{Fmt(actual)}\"");
            var line = $"Fallback order for Node {nid}: {Fmt(actual)} ";
            if (!dmesg.Any(d => d.Contains(line, StringComparison.Ordinal)))
                findings.Add($"{l.Name}: node {nid}: boot log lacks \"{line}\"");
        }
    }

    private static string Fmt(IEnumerable<int> order) => string.Join(' ', order);

    [Fact]
    public void Every_real_machine_gets_the_kernels_fallback_order()
    {
        if (HwlocDir() is not { } dir) return;
        Assert.True(Directory.Exists(dir), $"hwloc dumps not found at {dir}");
        var findings = new List<string>();
        var notes = new List<string>();
        int checkedMachines = 0;
        foreach (var tarball in Directory.GetFiles(dir, "*.tar.bz2").Order())
        {
            var l = Load(tarball);
            if (l is null) continue;
            checkedMachines++;
            Check(l, findings, notes);
        }
        foreach (var n in notes) _out.WriteLine(n);
        Assert.True(checkedMachines >= 20, $"only {checkedMachines} dumps checked");
        Assert.True(findings.Count == 0, string.Join("\n", findings));
    }

    private readonly ITestOutputHelper _out;

    public FallbackOrderRealMachinesTests(ITestOutputHelper output) => _out = output;

    /// <summary>Orders worked out by hand with find_next_best_node() for the sparse dump (nodes 0-2, 33, 34, 45, 72, 73,
    /// all with CPUs and memory; booted as QEMU nodes 0-7). No node carries the CPU penalty at boot; for node 1, node 0
    /// at distance 16 comes after nodes 4 and 7 through the "n &lt; local" bump, and the round robin puts node 3
    /// (loaded by node 0's list) behind 4 and 7 there.</summary>
    [Fact]
    public void Sparse_node_ids_give_the_hand_derived_orders()
    {
        if (HwlocDir() is not { } dir) return;
        var l = Load(Path.Combine(dir, "48amd64-4pa2n6c-sparse.tar.bz2"));
        Assert.NotNull(l);
        Assert.Equal(new[] { 0, 1, 2, 33, 34, 45, 72, 73 }, l!.Nodes);
        var m = Machine.Boot(Spec(l));
        var pxm = PxmToNode(m);
        Assert.Equal(new[] { 0, 1, 2, 3, 4, 5, 6, 7 }, Enumerable.Range(0, 8).Select(i => pxm[i]).ToArray());
        Assert.Equal(new[] { 0, 1, 2, 4, 6, 3, 5, 7 }, m.Kernel.NodeDataOf(0)!.FallbackNodeOrder);
        Assert.Equal(new[] { 1, 4, 7, 3, 0, 2, 5, 6 }, m.Kernel.NodeDataOf(1)!.FallbackNodeOrder);
        Assert.Equal(new[] { 2, 5, 6, 7, 3, 4, 0, 1 }, m.Kernel.NodeDataOf(2)!.FallbackNodeOrder);
    }
}
