using Numasim.Firmware;

namespace Numasim.Import;

/// <summary>What sys/devices/system/cpu tells of the CPUs: which exist, where, and their topology.</summary>
internal sealed class CpuFacts
{
    public SortedSet<int> Possible = [], Present = [], Online = [];
    public List<CpuSlotSpec> Slots = [];
    public bool FirmwareCpuIds;
    /// <summary>Whether the CPUs show cpuN/topology, and whether it has die_id (added in 5.2).</summary>
    public bool HasTopology, HasDieId;
}

/// <summary>
/// CPUs: possible/present/online, each CPU's node, and topology ids chosen so that the model's sibling masks (x86's
/// set_cpu_sibling_map()) are the masks the tree shows: a package is what core_siblings says, a die die_cpus, an L2
/// cluster cluster_cpus, a core thread_siblings. The tree's own ids are kept where they agree with the masks.
/// </summary>
internal static class CpuImport
{
    private const string CpuDir = DumpTree.Sys + "/cpu";

    public static CpuFacts Read(DumpTree t, NodeFacts nodes, CpuInfoFacts info, bool strict, ImportLog log)
    {
        var f = new CpuFacts();
        var dirs = t.IsDir(CpuDir) ? t.Numbered(CpuDir, "cpu").Select(x => x.Index).ToHashSet() : [];
        if (dirs.Count == 0 && !t.Exists($"{CpuDir}/possible"))
        {
            if (strict) throw DumpTree.Missing(t.IsDir(CpuDir) ? $"{CpuDir}/possible" : CpuDir);
            f.Possible = [0];
            f.Present = [0];
            f.Online = [0];
            log.Infer($"{CpuDir} missing: one online CPU assumed, on node {FirstNode(nodes)}");
        }
        else
        {
            f.Possible = t.Exists($"{CpuDir}/possible") ? t.List($"{CpuDir}/possible") : new SortedSet<int>(dirs);
            f.Present = t.Exists($"{CpuDir}/present") ? t.List($"{CpuDir}/present") : new SortedSet<int>(dirs);
            if (!t.Exists($"{CpuDir}/possible")) log.Infer("no cpu/possible (an old kernel): the possible and present CPUs are the cpuN folders");
            if (t.Exists($"{CpuDir}/online")) f.Online = t.List($"{CpuDir}/online");
            else
                // an empty cpuN/online is a dump that kept the file but not its text (hwloc's 128ia64): the CPU is online
                f.Online = new SortedSet<int>(f.Present.Where(c => t.TryRead($"{CpuDir}/cpu{c}/online")?.Trim() is null or "1" or ""));
            f.Present.UnionWith(f.Online);
            f.Possible.UnionWith(f.Present);
            if (f.Present.Count == 0) throw new ImportException($"{CpuDir}/present: no CPU is present");
        }
        var node = CpuNodes(t, f, nodes, log);
        var present = f.Present.ToList();
        var topology = new Dictionary<int, DumpFolder>(present.Count);
        foreach (var d in t.Folders(present.Select(c => $"{CpuDir}/cpu{c}/topology").ToList(), Topology.Files))
            topology[present[topology.Count]] = d;
        foreach (var c in f.Online)
        {
            if (!topology[c].IsFolder) continue;
            f.HasTopology = true;
            f.HasDieId |= topology[c].Exists("die_id");
        }
        var ids = Topology.Assign(topology, f, info, node, log);
        int max = f.Possible.Max;
        // the APIC ids /proc/cpuinfo shows, when every CPU has its own; else the CPU numbers
        bool apicsKnown = f.Present.All(info.ApicIds.ContainsKey) && f.Present.Select(c => info.ApicIds[c]).Distinct().Count() == f.Present.Count;
        uint nextApic = apicsKnown ? f.Present.Max(c => info.ApicIds[c]) + 1 : 0;
        for (int c = 0; c <= max; c++)
        {
            bool isPresent = f.Present.Contains(c);
            var id = ids.TryGetValue(c, out var known) ? known : new TopoIds(c, 0, 0, -1, 0, -1, 0);
            uint apic = !apicsKnown ? (uint)c : isPresent ? info.ApicIds[c] : nextApic++;
            f.Slots.Add(new CpuSlotSpec(c, id.Package, id.Die, id.Core, id.Thread, apic, node.GetValueOrDefault(c, FirstNode(nodes)),
                isPresent, !isPresent || f.Online.Contains(c), id.Cluster, id.ComputeUnit));
        }
        if (!apicsKnown && info.ApicIds.Count > 0)
            log.Infer("/proc/cpuinfo's APIC ids repeat or miss some CPUs: APIC id = CPU number");
        if (f.Slots.Count > f.Possible.Count)
            log.Infer($"CPU numbers missing from cpu/possible ({IdList.Format(Enumerable.Range(0, max + 1).Where(c => !f.Possible.Contains(c)))}) are modelled as possible, not present");
        if (present[^1] != present.Count - 1)
        {
            f.FirmwareCpuIds = true;
            log.Infer($"present CPUs {IdList.Format(present)} are not numbered 0..{present.Count - 1}: firmware_cpu_ids keeps the numbers (x86 numbers present CPUs densely, as architectures that number CPUs from firmware do not)");
        }
        return f;
    }

    public static int FirstNode(NodeFacts nodes) => nodes.Ids.Count > 0 ? nodes.Ids[0] : 0;

    /// <summary>CPU → node: the node whose cpumap holds it (what lscpu, numactl and hwloc read), else a cpuN/nodeM link
    /// (kept while the CPU is present: an offline CPU is in no x86 cpumap).</summary>
    private static Dictionary<int, int> CpuNodes(DumpTree t, CpuFacts f, NodeFacts nodes, ImportLog log)
    {
        var map = new Dictionary<int, int>();
        var twice = new SortedSet<int>();
        foreach (var (nid, cpus) in nodes.Cpus)
            foreach (var c in cpus)
                if (!map.TryAdd(c, nid)) twice.Add(c);
        if (twice.Count > 0)
            log.Note($"CPUs {IdList.Format(twice)} are in more than one node's cpumap: a CPU has one node (cpu_to_node()), the first");
        foreach (var c in f.Possible)
        {
            if (map.ContainsKey(c)) continue;
            var links = t.Numbered($"{CpuDir}/cpu{c}", "node").Select(x => x.Index).Where(nodes.Ids.Contains).ToList();
            if (links.Count > 0) map[c] = links[0];
        }
        var none = f.Present.Where(c => !map.ContainsKey(c)).ToList();
        if (none.Count > 0 && nodes.Ids.Count > 1)
            log.Infer($"CPUs {IdList.Format(none)} show no node: node {FirstNode(nodes)} assumed");
        return map;
    }
}
