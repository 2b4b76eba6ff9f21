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
        using var call = k.Trace.Call("start_kernel", "init/main.c", $"profile {k.Profile.Name}");
        // setup_arch(): "Command line:", parse_early_param(), e820, early reservations, NUMA, CPU enumeration.
        BootCommandLine.SetupArch(k);
        // setup_arch(): memblock_set_bottom_up(true) with movable_node, until numa_init() has parsed SRAT
        k.Memblock.BottomUp = k.Boot.MovableNode;
        k.MaxPfn = E820Setup.MemblockSetup(k);
        k.Trace.Decide($"e820__memblock_setup(): max_pfn 0x{k.MaxPfn:x} ({k.MaxPfn >> 8} MiB of boot RAM)");
        k.Initrd = InitrdPlacement(k);
        E820Setup.ReserveEarly(k);
        E820Setup.ReserveRealModeAndLowMem(k);
        InitMemMapping.Run(k);
        ReserveInitrd.Run(k);
        BootPhases.Mark("firmware, e820");
        k.MaxPossiblePfn = X86Numa.NumaInit(k, k.MaxPfn);
        BootPhases.Mark("numa_init");
        X86Smp.EnumerateCpus(k);
        X86Smp.NumaInitArrayBeforeCpuNodes(k);
        X86Numa.InitCpuToNode(k);
        BootPhases.Mark("cpu enumeration");
        Sparse.Init(k);
        BootPhases.Mark("sparse_init");
        long dmaReserve = E820Setup.FindDmaReserve(k);
        FreeAreaInit.Run(k, dmaReserve);
        BootPhases.Mark("free_area_init");
        // acpi_boot_init(): the HPET resource; prefill_possible_map(); io_apic_init_mappings(); the e820 copies
        k.BootReservations.Alloc("acpi_parse_hpet", "HPET resource", k.Profile.Build.HpetResourceBytes, 64);
        X86Smp.ReportPossible(k);
        k.BootReservations.Alloc("io_apic_init_mappings", "IO-APIC resource", k.Profile.Build.IoapicResourceBytes, 64);
        E820Setup.ReserveResources(k);

        // start_kernel(): setup_command_line(), setup_per_cpu_areas(), build_all_zonelists(NULL), mm_init().
        EarlyAllocations.SetupCommandLine(k);
        k.Log.Printk($"setup_percpu: NR_CPUS:{NumaConstants.NrCpus} nr_cpumask_bits:{k.Cpus.NrCpuIds} nr_cpu_ids:{k.Cpus.NrCpuIds} nr_node_ids:{k.NrNodeIds}");
        k.PercpuFirstChunk = PercpuFirstChunk.Embed(k);
        EarlyAllocations.BootCpumasks(k);
        BootPhases.Mark("setup_per_cpu_areas");
        k.Cpus.Online.Set(0);
        // No node has CPUs in node_to_cpumask_map yet: the boot CPU's numa_add_cpu() comes with identify_cpu() in
        // arch_cpu_finalize_init(), after mm_init(), so no node carries PENALTY_FOR_NODE_WITH_CPUS here.
        Zonelists.BuildAll(k, null);
        BootPhases.Mark("build_all_zonelists");
        EarlyAllocations.SetupLogBuf(k);
        EarlyAllocations.EarlyHashes(k);
        EarlyAllocations.CpuEntryAreaTables(k);
        EarlyAllocations.Swiotlb(k);
        BootPhases.Mark("early allocations");
        BootCommandLine.ParseArgs(k);
        ImportedReservations.Reserve(k); // an imported machine's observed figures override the mechanism's
        MemInit(k);
        s.CpuHotplug.KernelAllocations?.EarlyKmemCacheNodeAlloc(); // mm_init(): kmem_cache_init() after mem_init()
        BootPhases.Mark("mem_init");
        LateFree.AlternativeInstructions(k); // start_kernel(): arch_cpu_finalize_init() → alternative_instructions()
        PerZoneWmarks.InitPerZoneWmarkMin(k); // postcore_initcall, before khugepaged runs
        BootPhases.Mark("init_per_zone_wmark_min");

        // kernel_init(): smp_init() brings up the other present CPUs (cpu_up → try_online_node()).
        using (var smp = k.Trace.Call("smp_init", "kernel/smp.c"))
        {
            s.CpuHotplug.SetOnline(0);
            var slotOfApic = new Dictionary<uint, CpuSlotSpec>();
            foreach (var slot in k.Machine.CpuSlots) slotOfApic.TryAdd(slot.ApicId, slot); // the first slot of an APIC id
            foreach (var cpu in k.Cpus.Present.Bits().Where(c => c != 0).ToList())
                if ((k.Machine.CpuSlots.Count == 0 || OnlineAtBoot(k, cpu, slotOfApic)) && CpuLimits.MayBringUp(k)) s.CpuHotplug.CpuUp(cpu);
            // smp_init() counts num_online_nodes(), CPU-less nodes with memory included (seen on 6.1).
            int nodes = k.NodeStates.NrOnline;
            int cpus = k.Cpus.Online.Weight();
            k.Log.Printk($"smp: Brought up {nodes} node{(nodes > 1 ? "s" : "")}, {cpus} CPU{(cpus > 1 ? "s" : "")}");
            X86Smp.CalculateMaxLogicalPackages(k);
        }
        if (k.Profile.Build.MemoryLineAfterDeferredInit) LateFree.MemInitPrintInfo(k);
        k.CrashNotesOffset = CrashNotes.Place(k); // sched_init_smp(), then the subsys_initcall crash_notes_memory_init()

        BootPhases.Mark("smp_init");
        s.Cpuset.InitSmp(); // kernel_init_freeable(): cpuset_init_smp() after smp_init()

        // driver_init(): cpu_dev_init(), memory_dev_init(), node_dev_init(); topology_init() registers CPUs.
        s.CpuDevices.CpuDevInit();
        MemoryDevInit(s);
        BootPhases.Mark("memory_dev_init");
        s.NodeDevices.NodeDevInit();
        s.InitMemoryTiersAndHmat();
        PerZoneWmarks.StartKhugepaged(k); // hugepage_init(), the subsys_initcall after hugetlb_init()
        BootPhases.Mark("node_dev_init");
        foreach (var cpu in k.Cpus.Present.Bits().ToList())
            s.CpuDevices.RegisterCpu(cpu, s.NodeDevices);
        BootPhases.Mark("register_cpu");
        foreach (var cpu in k.Cpus.Online.Bits().ToList()) s.CpuDevices.CacheOnline(cpu); // cacheinfo_sysfs_init(), a device_initcall
        s.CpuHotplug.States?.SysfsInit(s.CpuDevices.IsRegistered); // cpuhp_sysfs_init(), a device_initcall: only CPUs registered by now
        BootPhases.Mark("cpuhp_sysfs_init");
        // memhp_default_state= is an early parameter: it holds for the DIMMs found below
        k.DefaultOnlineType = k.Boot.MemhpDefaultState ?? ParseOnlineType(k.Machine.MemhpDefaultState) ?? OnlineType.Offline;
        s.FirmwareMemmap.Init(); // the early entries first; the DIMMs below append theirs
        AcpiMemoryDevices(s);
        s.Procfs.Register();
        s.Modules.SysfsInit();
        BootCommandLine.RegisterFiles(k);
        LateFree.FreeImageAndInitrd(k);
        k.Booted = true;
        BootPhases.Mark("rest");
    }

    /// <summary>Models acpi_memory_device_add() for each DIMM plugged before boot (acpi_scan_init(), a subsys_initcall
    /// after driver_init()): added as a hot-plugged one is, each block onlined as the machine gives it or by the
    /// default policy.</summary>
    private static void AcpiMemoryDevices(KernelSubsystems s)
    {
        var states = s.Kernel.Machine.BlockStates.ToDictionary(b => (long)b.Block, b => ParseOnlineType(b.State));
        foreach (var d in s.Kernel.Firmware.ColdPlugged)
        {
            var e = s.Acpi.MemoryAdd(d.Id, d.Slot, d.Address, d.Size, d.Node, b => states.GetValueOrDefault(b));
            if (e != Errno.None) s.Kernel.StateNotes.Add($"DIMM {d.Id} at {Arch.Srat.Hex010(d.Address)}: the kernel refused it ({e})");
        }
        foreach (var (block, type) in states)
        {
            var mb = s.Kernel.FindMemoryBlock(block);
            if (mb is null || !mb.Hotplugged) s.Kernel.StateNotes.Add($"memory{block}: a block state is given but no DIMM holds the block");
            else if (type is { } t && t != OnlineType.Offline && mb.State != MemoryBlockState.Online)
                s.Kernel.StateNotes.Add($"memory{block}: must be {MemoryDevices.OnlineTypeName(t)} but onlining it failed");
        }
    }

    private static bool OnlineAtBoot(KernelContext k, int cpu, Dictionary<uint, CpuSlotSpec> slotOfApic)
    {
        var apic = k.Cpus.Identity(cpu)?.ApicId;
        var slot = apic is { } a ? slotOfApic.GetValueOrDefault(a) : null;
        return slot?.OnlineAtBoot ?? true;
    }

    private static OnlineType? ParseOnlineType(string? s) => s is null ? null : MemoryDevices.OnlineTypeFromString(s);

    /// <summary>Where QEMU 7.2's pc loader puts the initrd: page-aligned, ending at the top of the RAM below 4 GiB
    /// rounded down to 64 KiB (seen on every recorded boot: 0x3fedd000 for 1 GiB, 0x7fecd000 when SeaBIOS's
    /// high tables take 0x21000); reserved up to its page-aligned end (early_reserve_initrd()).</summary>
    private static PhysRange? InitrdPlacement(KernelContext k)
    {
        if (k.Machine.InitrdBytes is not { } size || size == 0) return null;
        ulong top = k.Firmware.E820.Where(e => e.Type == Firmware.E820Type.Ram && e.End <= 1UL << 32).Select(e => e.End).DefaultIfEmpty(0UL).Max();
        ulong end = top & ~0xffffUL;
        if (end < size + (1UL << 20)) return null;
        ulong start = (end - size) & ~(ulong)(Page.Size - 1);
        return new PhysRange(start, (start + size + (ulong)Page.Size - 1) & ~(ulong)(Page.Size - 1));
    }

    /// <summary>Models mem_init(): memblock_free_all() hands every wholly free page to its zone's buddy; 6.1 then
    /// prints the "Memory:" line.</summary>
    private static void MemInit(KernelContext k)
    {
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
        k.ReservedAtFreeAll = k.AllZones().Sum(z => z.PresentPages) - k.TotalRamPages;
        if (!k.Profile.Build.MemoryLineAfterDeferredInit) LateFree.MemInitPrintInfo(k);
    }

    /// <summary>Models memory_dev_init(): probe_memory_block_size() and a memory block for every block-sized range
    /// with present memory, online, linked to its node(s) (register_memory_blocks_under_node(MEMINIT_EARLY)).</summary>
    private static void MemoryDevInit(KernelSubsystems s)
    {
        var k = s.Kernel;
        using var call = k.Trace.Call("memory_dev_init", "drivers/base/memory.c");
        k.MemoryBlockSize = k.Machine.MemoryBlockSizeBytes ?? ProbeMemoryBlockSize(k);
        k.Trace.Decide($"memory block size {k.MemoryBlockSize >> 20} MiB ({(k.Machine.MemoryBlockSizeBytes is null ? "probe_memory_block_size()" : "the machine file's")})");
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
            if (offline.Contains((int)b) && s.MemoryHotplug.Offline(mb) is var e && e != Errno.None)
                k.StateNotes.Add($"memory{b}: must be offline, but offlining it at boot failed ({e}{(e == Errno.EBUSY ? ": it holds unmovable pages of the model's boot" : "")}): left online");
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
