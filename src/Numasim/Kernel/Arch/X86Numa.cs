using System.Globalization;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Arch;

/// <summary>arch/x86/mm/numa.c: from SRAT/SLIT to possible and online nodes, NODE_DATA and cpu_to_node.</summary>
internal static class X86Numa
{
    /// <summary>Models x86_numa_init() → numa_init(x86_acpi_numa_init) with dummy_numa_init() as fallback; numa=off
    /// goes to the dummy directly ("NUMA turned off"), numa=noacpi makes the ACPI one fail (acpi_numa &lt; 0).
    /// Returns max_possible_pfn.</summary>
    public static long NumaInit(KernelContext k, long maxPfn)
    {
        List<(ulong Start, ulong End, int Nid, bool Hotplug)> blks;
        Bitmap parsed;
        Dictionary<uint, int> apicToNode;
        long maxPossiblePfn = maxPfn;
        using var call = k.Trace.Call("x86_numa_init", "arch/x86/mm/numa.c");
        bool useSrat = k.Firmware.HasSrat && !k.Boot.NumaOff && !k.Boot.NumaNoAcpi;
        k.Trace.Decide(useSrat ? "the firmware has an SRAT: numa_init(x86_acpi_numa_init)"
            : k.Firmware.HasSrat ? "numa=off or numa=noacpi: the SRAT is not used; dummy_numa_init() fakes one node over all memory"
            : "no SRAT: dummy_numa_init() fakes one node over all memory");
        if (useSrat)
        {
            var srat = Srat.AcpiNumaInit(k, maxPfn);
            blks = srat.MemBlks;
            parsed = srat.NodesParsed;
            apicToNode = srat.ApicToNode;
            maxPossiblePfn = srat.MaxPossiblePfn;
            k.PxmToNode = srat.PxmToNode;
            if (k.Firmware.Slit is { } slit) SlitInit(k, slit, srat);
        }
        else
        {
            k.Log.Printk(k.Boot.NumaOff ? "NUMA turned off" : "No NUMA configuration found");
            k.Log.Printk(string.Create(CultureInfo.InvariantCulture,
                $"Faking a node at [mem {Hex018(0)}-{Hex018(Page.AddrOf(maxPfn) - 1)}]"));
            blks = [(0UL, Page.AddrOf(maxPfn), 0, false)];
            parsed = new Bitmap(NumaConstants.MaxNumNodes);
            parsed.Set(0);
            apicToNode = k.Firmware.Cpus.ToDictionary(c => c.ApicId, _ => 0);
        }

        // numa_init(): "We reset memblock back to the top-down direction here" (init_func has parsed SRAT)
        k.Memblock.BottomUp = false;
        CleanupMeminfo(k, blks, maxPfn);
        RegisterMemblks(k, blks, parsed);
        k.ApicToNode.SetAll(apicToNode);
        return maxPossiblePfn;
    }

    /// <summary>Models acpi_numa_slit_init(): numa_set_distance() for every pair of known PXMs.</summary>
    private static void SlitInit(KernelContext k, IReadOnlyList<IReadOnlyList<int>> slit, SratResult srat)
    {
        int cnt = 0;
        foreach (var n in srat.NodesParsed.Bits()) cnt = n + 1;
        k.Distance = new NumaDistance(cnt);
        AllocDistance(k, cnt);
        k.Log.Printk(string.Create(CultureInfo.InvariantCulture, $"NUMA: Initialized distance table, cnt={cnt}"));
        for (int i = 0; i < slit.Count; i++)
        {
            if (!srat.PxmToNode.TryGetValue(i, out int from)) continue;
            for (int j = 0; j < slit[i].Count; j++)
                if (srat.PxmToNode.TryGetValue(j, out int to)) k.Distance.Set(from, to, slit[i][j]);
        }
    }

    /// <summary>Models numa_alloc_distance(): a cnt x cnt byte table, page-aligned (6.1: memblock_phys_alloc_range()
    /// below max_pfn_mapped; 6.12: memblock_alloc()).</summary>
    private static void AllocDistance(KernelContext k, int cnt)
    {
        ulong size = (ulong)(cnt * cnt);
        if (k.Profile.Build.NumaDistancePhysAlloc)
            k.BootReservations.AllocPhysRange("numa_alloc_distance", "numa_distance", size, (ulong)Page.Size, 0, Page.AddrOf(k.MaxPfn));
        else
            k.BootReservations.Alloc("numa_alloc_distance", "numa_distance", size, (ulong)Page.Size);
    }

    /// <summary>Models numa_cleanup_meminfo(): trim to [0, max_pfn), drop empty blocks (hotpluggable ones beyond
    /// max_pfn stay known to phys_to_target_node only) and merge a node's neighbouring blocks.</summary>
    private static void CleanupMeminfo(KernelContext k, List<(ulong Start, ulong End, int Nid, bool Hotplug)> blks, long maxPfn)
    {
        ulong high = Page.AddrOf(maxPfn);
        for (int i = 0; i < blks.Count; i++)
        {
            var b = blks[i];
            var trimmed = (b.Start, End: Math.Min(b.End, high), b.Nid, b.Hotplug);
            if (trimmed.Start >= trimmed.End)
            {
                k.ReservedNumaMeminfo.Add((b.Start, b.End, b.Nid));
                blks.RemoveAt(i--);
                continue;
            }
            blks[i] = trimmed;
        }
        for (int i = 0; i < blks.Count; i++)
        {
            for (int j = i + 1; j < blks.Count; j++)
            {
                var bi = blks[i];
                var bj = blks[j];
                if (bi.Nid != bj.Nid) continue;
                ulong start = Math.Min(bi.Start, bj.Start), end = Math.Max(bi.End, bj.End);
                bool overlapsOther = blks.Any(bk => bk.Nid != bi.Nid && start < bk.End && end > bk.Start);
                if (overlapsOther) continue;
                k.Log.Printk(string.Create(CultureInfo.InvariantCulture,
                    $"NUMA: Node {bi.Nid} [mem {Srat.Hex010(bi.Start)}-{Srat.Hex010(bi.End - 1)}] + [mem {Srat.Hex010(bj.Start)}-{Srat.Hex010(bj.End - 1)}] -> [mem {Srat.Hex010(start)}-{Srat.Hex010(end - 1)}]"));
                blks[i] = (start, end, bi.Nid, bi.Hotplug && bj.Hotplug);
                blks.RemoveAt(j--);
            }
        }
    }

    /// <summary>Models numa_register_memblks(): node_possible_map, memblock node ids, NODE_DATA for nodes with
    /// memory (alloc_node_data()), which are set online.</summary>
    private static void RegisterMemblks(KernelContext k, List<(ulong Start, ulong End, int Nid, bool Hotplug)> blks, Bitmap parsed)
    {
        var possible = k.NodeStates[NodeState.Possible];
        possible.CopyFrom(parsed);
        foreach (var b in blks)
        {
            possible.Set(b.Nid);
            k.Memblock.SetNode(Page.PfnOf(b.Start), Page.PfnOf(b.End), b.Nid);
        }
        foreach (var nid in possible.Bits().ToList())
        {
            ulong start = ulong.MaxValue, end = 0;
            foreach (var b in blks.Where(b => b.Nid == nid))
            {
                start = Math.Min(start, b.Start);
                end = Math.Max(end, b.End);
            }
            if (start >= end) { k.Trace.Decide($"node {nid}: possible, no boot memory: no NODE_DATA here, not online"); continue; }
            k.Trace.Decide($"node {nid}: boot memory [mem 0x{start:x}-0x{end - 1:x}]: alloc_node_data({nid}), node online");
            AllocNodeData(k, nid);
            k.NodeStates.Set(nid, NodeState.Online);
        }
        int last = possible.Last();
        k.NrNodeIds = last < possible.NBits ? last + 1 : 1;
    }

    /// <summary>Models alloc_node_data(): NODE_DATA from node-local memory (memblock_phys_alloc_try_nid(), cache-line
    /// aligned; 6.1 rounds the size up to a page), falling back to any node ("NODE_DATA(N) on node M").</summary>
    public static PgData AllocNodeData(KernelContext k, int nid)
    {
        var b = k.Profile.Build;
        ulong size = b.NodeDataPageRounded ? (b.PgDataBytes + (ulong)Page.Size - 1) & ~(ulong)(Page.Size - 1) : b.PgDataBytes;
        ulong pa = k.BootReservations.Alloc("alloc_node_data", $"NODE_DATA({nid})", size, 64, nid);
        k.NodeDataPhys[nid] = pa;
        if (pa != 0)
        {
            k.Log.Printk(string.Create(CultureInfo.InvariantCulture,
                $"NODE_DATA({nid}) allocated [mem {Srat.Hex010(pa)}-{Srat.Hex010(pa + size - 1)}]"));
            int tnid = k.Memblock.NidOf(pa);
            if (tnid != nid) k.Log.Printk($"    NODE_DATA({nid}) on node {tnid}");
        }
        return k.AllocPgData(nid);
    }

    /// <summary>Models init_cpu_to_node(): every enumerated CPU takes its APIC id's node (CPUs not yet present have
    /// no APIC id and keep numa_init_array()'s node). A memoryless node of such a CPU is set online here: v4.x
    /// through init_memory_less_node(), v6.1 directly, so that smp_init()'s cpu_up() does not try to register it
    /// before node_subsys exists (1ca75fa7f19d); its pgdat comes with free_area_init().</summary>
    public static void InitCpuToNode(KernelContext k)
    {
        using var call = k.Trace.Call("init_cpu_to_node", "arch/x86/mm/numa.c");
        foreach (var cpu in k.Cpus.Possible.Bits())
        {
            var id = k.Cpus.Identity(cpu);
            if (id is null || !k.ApicToNode.TryGetValue(id.ApicId, out int node)) continue;
            k.Trace.Change($"cpu_to_node({cpu}) = {node} (SRAT affinity of APIC 0x{id.ApicId:x})");
            if (!k.NodeStates.Has(node, NodeState.Online))
            {
                k.Trace.Decide($"node {node} has CPU {cpu} but no memory: set online now (a memoryless node)");
                k.AllocPgData(node);
                k.NodeStates.Set(node, NodeState.Online);
            }
            k.Cpus.NumaSetNode(cpu, node);
        }
        InitGiNodes(k);
    }

    /// <summary>Models init_gi_nodes(): a generic initiator's node is set online (a pgdat without memory).</summary>
    private static void InitGiNodes(KernelContext k)
    {
        foreach (var nid in k.NodeStates[NodeState.GenericInitiator].Bits().ToList())
        {
            if (k.NodeStates.Has(nid, NodeState.Online)) continue;
            k.AllocPgData(nid);
            k.NodeStates.Set(nid, NodeState.Online);
        }
    }

    /// <summary>"%#018Lx".</summary>
    public static string Hex018(ulong v) => "0x" + v.ToString("x16", CultureInfo.InvariantCulture);
}
