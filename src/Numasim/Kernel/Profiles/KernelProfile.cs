namespace Numasim.Kernel.Profiles;

/// <summary>
/// The behaviour switches where the modelled kernel versions differ. Code reads a named switch where
/// the kernel's code differed; no version string is compared anywhere else.
/// </summary>
public sealed record KernelProfile
{
    /// <summary>Profile name as the CLI takes it (v4.19, v4.20, v6.1, v6.12).</summary>
    public required string Name { get; init; }

    /// <summary>uname -r style release shown in oops reports.</summary>
    public required string Release { get; init; }

    /// <summary>e13fe8695c57's unmap_cpu_on_node(): try_offline_node() sets cpu_to_node of every possible CPU
    /// of the node to NUMA_NO_NODE. True only before the seed (v4.19).</summary>
    public bool ClearCpuNodeOnNodeOffline { get; init; }

    /// <summary>v6.1's free_area_init(): a possible node without memory gets a pgdat ("Initializing node N as
    /// memoryless") but is not set online. False for v4.x, where init_cpu_to_node() onlined it.</summary>
    public bool MemorylessPossibleNodesStayOffline { get; init; }

    /// <summary>CONFIG_DEBUG_VM: VM_BUG_ON(nid &lt; 0 || nid &gt;= MAX_NUMNODES) in __alloc_pages_node().</summary>
    public bool DebugVm { get; init; }

    /// <summary>The page allocator's main entry is __alloc_pages() (v5.13+) rather than __alloc_pages_nodemask().</summary>
    public bool AllocPagesIsNodemaskFree { get; init; }

    /// <summary>MAX_ORDER semantics: orders 0..MaxOrder-1 exist (11 in every modelled version).</summary>
    public int MaxOrder { get; init; } = 11;

    /// <summary>Whether the kernel's own unmovable allocations (slab, per-CPU data) are modelled on nodes
    /// with online CPUs and ZONE_NORMAL memory, so that offlining such memory fails with EBUSY.</summary>
    public bool ModelKernelAllocations { get; init; } = true;

    /// <summary>The ACPI processor driver maps a hot-added CPU (acpi_map_cpu). v6.12 under QEMU 7.2 refuses it
    /// ("ACPI: Unable to map lapic to logical cpu number").</summary>
    public bool AcpiCpuHotAddRefused { get; init; }

    /// <summary>CONFIG_HAVE_MEMORYLESS_NODES: x86 does not select it, so numa_mem_id() is numa_node_id().</summary>
    public bool HaveMemorylessNodes { get; init; }

    /// <summary>The named CPU hotplug states (/sys/devices/system/cpu/hotplug/states) of the profile's kernel and
    /// config, as recorded from its guest; null where none was recorded (the hotplug files are then not shown).</summary>
    public IReadOnlyList<(int Number, string Name)>? CpuhpStates { get; init; }

    /// <summary>Boot-time reservations (memblock) that stay reserved after boot, in 4 KiB pages: the resident
    /// kernel image (code, rwdata, rodata, bss of Debian's build).</summary>
    public long KernelImagePages { get; init; } = 10778;

    /// <summary>"percpu: Embedded N pages/cpu": the first-chunk size per possible CPU.</summary>
    public long PercpuPagesPerCpu { get; init; } = 61;

    /// <summary>roundup(sizeof(pg_data_t), PAGE_SIZE) in pages (NODE_DATA(0) allocated [mem 0x3fea8000-0x3fed2fff]).</summary>
    public long PgDataPages { get; init; } = 43;

    /// <summary>Early allocations not modelled one by one (page tables, ACPI copies, IRQ stacks...). Calibrated so
    /// that the oracle machine's MemTotal (916536 kB on 6.1.176) comes out exactly; other machines approximate.</summary>
    public long EarlyMiscPages { get; init; } = 1134;

    /// <summary>SWIOTLB bounce buffer reserved at boot when memory may exist above 4 GiB (pci_swiotlb_detect()).</summary>
    public long SwiotlbPages { get; init; } = (64L << 20) >> 12;

    /// <summary>CONFIG_TRANSPARENT_HUGEPAGE with khugepaged running (Debian: madvise), which raises
    /// min_free_kbytes (set_recommended_min_free_kbytes()).</summary>
    public bool TransparentHugepage { get; init; } = true;

    /// <summary>Page-fault oops wording: v4.x prints "BUG: unable to handle kernel paging request at ADDR" and
    /// an "IP:" line; v5.2+ prints "BUG: unable to handle page fault for address:" and #PF lines.</summary>
    public bool OopsStyleV4 { get; init; }

    /// <summary>offsetof(pg_data_t, node_zonelists): the address NODE_DATA(NULL)->node_zonelists faults at (0x21c0 in the seed's build).</summary>
    public ulong NodeZonelistsOffset { get; init; } = 0x21c0;

    /// <summary>find_next_best_node() starts with the local node only when it has memory ("mm: page_alloc: skip
    /// memoryless nodes entirely", v6.6): 6.12 prints "Fallback order for Node 1: 0" for a memoryless node 1.</summary>
    public bool FallbackSkipsMemorylessLocalNode { get; init; }

    /// <summary>offline_pages() clears the node's N_MEMORY before it rebuilds the zonelists (6.12 prints
    /// "Fallback order for Node 0: 0" when node 1's last memory goes; 6.1 still prints "0 1").</summary>
    public bool NodeStatesClearedBeforeZonelistRebuild { get; init; }

    /// <summary>Memory tiering (mm/memory-tiers.c) prints "Demotion targets for Node N: null" for every node with
    /// memory when the set of memory nodes changes (seen on 6.12, not on 6.1).</summary>
    public bool PrintsDemotionTargets { get; init; }

    public static readonly KernelProfile V4_19 = new()
    {
        Name = "v4.19", Release = "4.19.0-numasim",
        ClearCpuNodeOnNodeOffline = true,
        MemorylessPossibleNodesStayOffline = false,
        OopsStyleV4 = true,
    };

    public static readonly KernelProfile V4_20 = V4_19 with
    {
        Name = "v4.20", Release = "4.20.0-numasim",
        ClearCpuNodeOnNodeOffline = false,
    };

    public static readonly KernelProfile V6_1 = new()
    {
        Name = "v6.1", Release = "6.1.0-numasim",
        MemorylessPossibleNodesStayOffline = true,
        AllocPagesIsNodemaskFree = true,
        CpuhpStates = Hotplug.CpuhpStateTables.Debian61,
    };

    public static readonly KernelProfile V6_12 = V6_1 with
    {
        Name = "v6.12", Release = "6.12.0-numasim",
        CpuhpStates = null, // not recorded from 6.12 yet
        // QEMU 7.2's MADT does not mark the not-present CPUs online-capable; 6.12's topology code then refuses
        // their hot-add: "ACPI: Unable to map lapic to logical cpu number" (seen in the 6.12 transcript).
        AcpiCpuHotAddRefused = true,
        FallbackSkipsMemorylessLocalNode = true,
        NodeStatesClearedBeforeZonelistRebuild = true,
        PrintsDemotionTargets = true,
    };

    /// <summary>v6.1 built with CONFIG_DEBUG_VM.</summary>
    public static readonly KernelProfile V6_1Debug = V6_1 with { Name = "v6.1-debug", DebugVm = true };

    /// <summary>The four kernel versions the model follows.</summary>
    public static IReadOnlyList<KernelProfile> All { get; } = [V4_19, V4_20, V6_1, V6_12];

    /// <summary>Every profile a scenario or the CLI may name (the versions plus config variants).</summary>
    public static IReadOnlyList<KernelProfile> Named { get; } = [V4_19, V4_20, V6_1, V6_12, V6_1Debug];

    public static KernelProfile Default => V6_1;

    /// <summary>Finds a profile by name ("v6.1" or "6.1"); null when unknown.</summary>
    public static KernelProfile? Find(string name)
    {
        var n = name.StartsWith('v') ? name : "v" + name;
        return Named.FirstOrDefault(p => p.Name == n);
    }
}
