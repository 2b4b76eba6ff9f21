using Numasim.Firmware;
using Numasim.Kernel.Arch;
using Numasim.Kernel.Drivers;
using Numasim.Kernel.Hotplug;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Init;

/// <summary>
/// init/main.c start_kernel() and the x86 setup_arch() steps the NUMA and hotplug model depends on,
/// in the kernel's order, so that the boot log lines come out in the order a real guest prints them.
/// </summary>
internal static class StartKernel
{
    public static void Run(KernelSubsystems s)
    {
        var k = s.Kernel;
        // setup_arch(): e820, early reservations, NUMA, CPU enumeration.
        k.MaxPfn = E820Setup.MemblockSetup(k);
        E820Setup.ReserveEarly(k);
        BootPhases.Mark("firmware, e820");
        k.MaxPossiblePfn = X86Numa.NumaInit(k, k.MaxPfn);
        BootPhases.Mark("numa_init");
        X86Smp.EnumerateCpus(k);
        X86Smp.NumaInitArrayBeforeCpuNodes(k);
        X86Numa.InitCpuToNode(k);
        BootPhases.Mark("cpu enumeration");
        SparseInit(k);
        BootPhases.Mark("sparse_init");
        long dmaReserve = E820Setup.FindDmaReserve(k);
        FreeAreaInit.Run(k, dmaReserve);
        BootPhases.Mark("free_area_init");
        X86Smp.ReportPossible(k);

        // setup_per_cpu_areas(), build_all_zonelists(NULL), mm_init().
        k.Log.Printk($"setup_percpu: NR_CPUS:{NumaConstants.NrCpus} nr_cpumask_bits:{k.Cpus.NrCpuIds} nr_cpu_ids:{k.Cpus.NrCpuIds} nr_node_ids:{k.NrNodeIds}");
        PercpuReserve(k);
        BootPhases.Mark("setup_per_cpu_areas");
        k.Cpus.Online.Set(0);
        // No node has CPUs in node_to_cpumask_map yet: the boot CPU's numa_add_cpu() comes with identify_cpu() in
        // arch_cpu_finalize_init(), after mm_init(), so no node carries PENALTY_FOR_NODE_WITH_CPUS here.
        Zonelists.BuildAll(k, null);
        BootPhases.Mark("build_all_zonelists");
        MemInit(k);
        BootPhases.Mark("mem_init");
        PerZoneWmarks.InitPerZoneWmarkMin(k);
        BootPhases.Mark("init_per_zone_wmark_min");

        // kernel_init(): smp_init() brings up the other present CPUs (cpu_up → try_online_node()).
        s.CpuHotplug.SetOnline(0);
        var slotOfApic = new Dictionary<uint, CpuSlotSpec>();
        foreach (var slot in k.Machine.CpuSlots) slotOfApic.TryAdd(slot.ApicId, slot); // the first slot of an APIC id
        foreach (var cpu in k.Cpus.Present.Bits().Where(c => c != 0).ToList())
            if (k.Machine.CpuSlots.Count == 0 || OnlineAtBoot(k, cpu, slotOfApic)) s.CpuHotplug.CpuUp(cpu);
        // smp_init() counts num_online_nodes(), CPU-less nodes with memory included (seen on 6.1).
        int nodes = k.NodeStates.NrOnline;
        int cpus = k.Cpus.Online.Weight();
        k.Log.Printk($"smp: Brought up {nodes} node{(nodes > 1 ? "s" : "")}, {cpus} CPU{(cpus > 1 ? "s" : "")}");
        X86Smp.CalculateMaxLogicalPackages(k);

        BootPhases.Mark("smp_init");

        // driver_init(): cpu_dev_init(), memory_dev_init(), node_dev_init(); topology_init() registers CPUs.
        s.CpuDevices.CpuDevInit();
        MemoryDevInit(s);
        BootPhases.Mark("memory_dev_init");
        s.NodeDevices.NodeDevInit();
        BootPhases.Mark("node_dev_init");
        foreach (var cpu in k.Cpus.Present.Bits().ToList())
            s.CpuDevices.RegisterCpu(cpu, s.NodeDevices);
        BootPhases.Mark("register_cpu");
        s.CpuHotplug.States?.SysfsInit(); // cpuhp_sysfs_init(), a device_initcall: only CPUs registered by now
        BootPhases.Mark("cpuhp_sysfs_init");
        k.DefaultOnlineType = ParseOnlineType(k.Machine.MemhpDefaultState) ?? OnlineType.Offline;
        s.Procfs.Register();
        s.Modules.SysfsInit();
        k.Booted = true;
        BootPhases.Mark("rest");
    }

    private static bool OnlineAtBoot(KernelContext k, int cpu, Dictionary<uint, CpuSlotSpec> slotOfApic)
    {
        var apic = k.Cpus.Identity(cpu)?.ApicId;
        var slot = apic is { } a ? slotOfApic.GetValueOrDefault(a) : null;
        return slot?.OnlineAtBoot ?? true;
    }

    private static OnlineType? ParseOnlineType(string? s) => s is null ? null : MemoryDevices.OnlineTypeFromString(s);

    /// <summary>Models sparse_init() with vmemmap: 2 MiB of struct pages per present section, allocated on the
    /// section's node (one reservation per node here; memblock places them the same way, top-down).</summary>
    private static void SparseInit(KernelContext k)
    {
        // A section shared by two ranges of one node counts once. The ranges ascend by start, so a node's section
        // intervals do too: each adds only what lies above the highest section the node already counted.
        var sectionsPerNode = new SortedDictionary<int, long>();
        var lastSection = new Dictionary<int, long>();
        foreach (var r in k.Memblock.Memory)
        {
            long first = r.Start / Page.PagesPerSection, last = (r.End - 1) / Page.PagesPerSection;
            if (lastSection.TryGetValue(r.Nid, out long counted)) first = Math.Max(first, counted + 1);
            else counted = long.MinValue;
            sectionsPerNode[r.Nid] = sectionsPerNode.GetValueOrDefault(r.Nid) + Math.Max(0, last - first + 1);
            lastSection[r.Nid] = Math.Max(counted, last);
        }
        long perSection = Page.PagesPerSection * Page.StructPageSize / Page.Size;
        foreach (var (nid, secs) in sectionsPerNode)
            if (k.Memblock.AllocTopDown(secs * perSection, nid, k.MaxPfn) < 0)
                k.Memblock.AllocTopDown(secs * perSection, -1, k.MaxPfn);
    }

    /// <summary>Models pcpu_embed_first_chunk(): each possible CPU's unit from its node's memory.</summary>
    private static void PercpuReserve(KernelContext k)
    {
        var perNode = new SortedDictionary<int, long>();
        foreach (var cpu in k.Cpus.Possible.Bits())
        {
            int nid = Math.Max(0, k.Cpus.CpuToNode(cpu));
            perNode[nid] = perNode.GetValueOrDefault(nid) + k.Profile.PercpuPagesPerCpu;
        }
        foreach (var (nid, pages) in perNode)
            if (k.Memblock.AllocTopDown(pages, nid, k.MaxPfn) < 0) k.Memblock.AllocTopDown(pages, -1, k.MaxPfn);
        // Memoryless possible nodes got their pgdat from any node's memory (arch_alloc_nodedata()).
        foreach (var p in k.AllPgData().Where(p => p.NodePresentPages == 0).ToList())
            k.Memblock.AllocTopDown(k.Profile.PgDataPages, -1, k.MaxPfn);
    }

    /// <summary>Models mem_init(): the SWIOTLB buffer (when RAM may live above 4 GiB), the early allocations the
    /// model does not itemise, then memblock_free_all() hands every free range to its zone's buddy.</summary>
    private static void MemInit(KernelContext k)
    {
        if (k.MaxPossiblePfn > ZoneTypes.MaxDma32Pfn)
            k.Memblock.AllocTopDown(k.Profile.SwiotlbPages, -1, ZoneTypes.MaxDma32Pfn);
        k.Memblock.AllocTopDown(k.Profile.EarlyMiscPages, -1, k.MaxPfn);
        foreach (var z in k.AllZones()) z.ManagedPages = 0;
        foreach (var r in k.Memblock.FreeRanges())
        {
            var p = k.NodeDataOf(r.Nid);
            if (p is null) continue;
            foreach (var z in p.Zones)
            {
                if (!z.IsPopulated) continue;
                long s = Math.Max(r.Start, z.ZoneStartPfn), e = Math.Min(r.End, z.ZoneEndPfn);
                if (s >= e) continue;
                z.ManagedPages += e - s;
                z.ReleaseRange(s, e);
            }
        }
    }

    /// <summary>Models memory_dev_init(): probe_memory_block_size() and a memory block for every block-sized range
    /// with present memory, online, linked to its node(s) (register_memory_blocks_under_node(MEMINIT_EARLY)).</summary>
    private static void MemoryDevInit(KernelSubsystems s)
    {
        var k = s.Kernel;
        k.MemoryBlockSize = k.Machine.MemoryBlockSizeBytes ?? ProbeMemoryBlockSize(k);
        k.Log.Printk($"x86/mm: Memory block size: {k.MemoryBlockSize >> 20}MB");
        s.MemoryDevices.MemoryDevInit();
        long ppb = k.PagesPerBlock;
        var memory = k.Memblock.Memory; // sorted by start, ranges disjoint
        var blocks = new SortedSet<long>();
        foreach (var r in memory)
            for (long b = r.Start / ppb; b <= (r.End - 1) / ppb; b++) blocks.Add(b);
        var offline = new HashSet<int>(k.Machine.OfflineBlocksAtBoot);
        int first = 0; // the first range that ends after the block's start: blocks ascend, so this only moves on
        foreach (var b in blocks)
        {
            long start = b * ppb;
            while (first < memory.Count && memory[first].End <= start) first++;
            var mb = new MemoryBlock(b, start, ppb, NumaConstants.NumaNoNode, hotplugged: false)
            {
                PresentPages = k.Memblock.PresentIn(start, start + ppb),
                State = MemoryBlockState.Online,
            };
            for (int i = first; i < memory.Count && memory[i].Start < start + ppb; i++)
            {
                var r = memory[i];
                if (r.End <= start || r.Start >= start + ppb || mb.Nid == r.Nid) continue;
                mb.Zone = mb.Nid == NumaConstants.NumaNoNode ? EarlyNodeZoneForMemoryBlock(k, mb, r.Nid) : null;
                mb.Nid = r.Nid;
            }
            s.MemoryDevices.AddMemoryBlock(mb);
            if (offline.Contains((int)b)) s.MemoryHotplug.Offline(mb);
        }
    }

    /// <summary>Models early_node_zone_for_memory_block(): the one zone of the node the block intersects, or null.</summary>
    private static Zone? EarlyNodeZoneForMemoryBlock(KernelContext k, MemoryBlock mb, int nid)
    {
        Zone? match = null;
        foreach (var z in k.NodeDataOf(nid)!.Zones)
        {
            if (z.IsEmpty || mb.StartPfn >= z.ZoneEndPfn || mb.EndPfn <= z.ZoneStartPfn) continue;
            if (match is not null) return null;
            match = z;
        }
        return match;
    }

    /// <summary>Models probe_memory_block_size(), arch/x86/mm/init_64.c: 128 MiB below 64 GiB of boot memory;
    /// under a hypervisor, the largest size up to 2 GiB that aligns with the end of boot memory.</summary>
    public static ulong ProbeMemoryBlockSize(KernelContext k)
    {
        const ulong min = 128UL << 20, max = 2UL << 30;
        ulong bootMemEnd = Page.AddrOf(k.MaxPfn);
        if (bootMemEnd < 64UL << 30) return min;
        ulong bz = max;
        for (; bz > min; bz >>= 1)
            if (bootMemEnd % bz == 0) break;
        return bz;
    }
}
