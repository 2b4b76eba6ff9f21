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

    /// <summary>6.12's topology_register_apic() counts a disabled MADT entry as a hotplug CPU only with the
    /// online-capable flag (QEMU 7.2 sets none): possible CPUs are the present ones (seen: nr_cpu_ids 2 on the oracle machine).</summary>
    public bool MadtDisabledCpusNeedOnlineCapable { get; init; }

    /// <summary>The topology parser of an AMD vCPU without TOPOEXT reads CPUID leaf 0xB (parse_topology_amd() calls
    /// cpu_parse_topology_ext() first, arch/x86/kernel/cpu/topology_amd.c), so QEMU's thread level makes SMT
    /// siblings. Seen on 6.12.111 with qemu64 and threads=2 (siblings 0-1, smt/control on); 6.1.176 takes every
    /// thread as a core (amd_get_topology() needs TOPOEXT; CPUID 0x80000008 gives only the package width).</summary>
    public bool AmdTopologyFromLeaf0xB { get; init; }

    /// <summary>cache_shared_cpu_map_remove() takes a CPU out of a sibling's shared_cpu_map only when
    /// cache_leaves_are_shared() finds the two leaves' cache ids equal (drivers/base/cacheinfo.c of 6.1.176 and
    /// 6.12.111; 4.19 clears every sibling). qemu64's L3 ids are the APIC ids, so an offline CPU stays in the L3 maps of
    /// the CPUs it was online with (seen on 6.12.111: cpu5 of a 4-thread package shows 4-7 with cpu4 offline).</summary>
    public bool CacheinfoRemoveComparesIds { get; init; }

    /// <summary>free_area_init_core() estimates a zone's managed pages as its present pages (6.12) rather than present
    /// less the memmap and the DMA reserve (6.1): boot's "Built N zonelists ... Total pages:" shows it (262014 on 6.12).</summary>
    public bool ManagedEstimateIsPresentPages { get; init; }

    /// <summary>CONFIG_HAVE_MEMORYLESS_NODES: x86 does not select it, so numa_mem_id() is numa_node_id().</summary>
    public bool HaveMemorylessNodes { get; init; }

    /// <summary>The named CPU hotplug states (/sys/devices/system/cpu/hotplug/states) of the profile's kernel and
    /// config, as recorded from its guest; null where none was recorded (the hotplug files are then not shown).</summary>
    public IReadOnlyList<(int Number, string Name)>? CpuhpStates { get; init; }

    /// <summary>__setup_per_zone_wmarks() treats ZONE_MOVABLE like highmem (v6.4+): out of lowmem_pages, and a min
    /// watermark of managed/1024 clamped to [32, 128] (an empty Movable zone shows min/low/high 32 on 6.12).</summary>
    public bool MovableWatermarksLikeHighmem { get; init; }

    /// <summary>drivers/base/cpu.c's cpu/enabled (cpu_enabled_mask, v6.10 and later).</summary>
    public bool CpuEnabledFile { get; init; }

    /// <summary>nodeN/memory_failure/ statistics (mm/memory-failure.c, CONFIG_MEMORY_FAILURE, v6.4 and later).</summary>
    public bool NodeMemoryFailureStats { get; init; }

    /// <summary>node_read_meminfo()'s FileHugePages:/FilePmdMapped: labels padded to the others' width (6.12.111 shows it
    /// live, 6.1.176 is one space short).</summary>
    public bool NodeMeminfoFileThpAligned { get; init; }

    /// <summary>hugetlb_pages_alloc_boot() (v6.9 and later, mm/hugetlb.c): the boot-time pool of a non-gigantic hstate is
    /// split by padata_do_multithreaded() into chunks, each allocated round-robin from first_online_node with its own
    /// cursor (h->next_nid_to_alloc untouched); 6.1 loops alloc_pool_huge_page() over the hstate's cursor.</summary>
    public bool HugetlbBootAllocInChunks { get; init; }

    /// <summary>isolate_single_pageblock(), mm/page_isolation.c: 6.12 steps over a huge page crossing the isolated
    /// range's ends; 6.1 tries to migrate it, which a free gigantic page refuses (isolate_or_dissolve_huge_page()), so
    /// offline of a memory block holding part of a 1 GiB page is EBUSY on 6.1 and dissolves the page on 6.12 (both live).</summary>
    public bool IsolationSkipsHugePages { get; init; }

    /// <summary>The hstate demote interface (79dfc695525f, v5.16, mm/hugetlb.c): a gigantic hstate's demote and
    /// demote_size files split free 1 GiB pages into 2 MiB ones.</summary>
    public bool HugetlbDemote { get; init; } = true;

    /// <summary>demote_pool_huge_page() takes every free page it may from one node's list in one batch and enqueues the
    /// parts with prep_and_add_allocated_folios() (6.12: each node's pages first, the lowest part at the list's head);
    /// 6.1 demotes one page per pass of the free cursor, each part freed in turn (the highest at the head).</summary>
    public bool HugetlbDemoteBatched { get; init; }

    /// <summary>set_max_huge_pages() (6.12.111's mm/hugetlb.c; not 6.1's) keeps the pages it grows the pool by on a list and
    /// adds them with prep_and_add_allocated_folios() after the loop, so the first one allocated ends at the head of
    /// its node's free list; 6.1 frees each into the pool as it comes (free_huge_page()), the last one at the head.</summary>
    public bool HugetlbPoolGrowBatched { get; init; }

    /// <summary>gather_surplus_pages() (6.12.111's mm/hugetlb.c) tries each node of the task's mems_allowed in turn for
    /// every surplus page a reservation needs; 6.1 asks once with NUMA_NO_NODE (the task's node).</summary>
    public bool HugetlbGatherSurplusPerNode { get; init; }

    /// <summary>MPOL_PREFERRED_MANY exists (b27abaccf8e8, v5.15): before it mode 5 is MPOL_MAX, EINVAL in
    /// sanitize_mpol_flags().</summary>
    public bool MpolPreferredMany { get; init; } = true;

    /// <summary>boot_cpu_hotplug_init() sets the boot CPU's cpuhp target to CPUHP_ONLINE as well as its state (v6.5 and
    /// later); 6.1 leaves the target at 0, so cpu0/hotplug/target reads 0 (the 6.1 guest shows it).</summary>
    public bool BootCpuHotplugTargetSet { get; init; }

    /// <summary>The facts of the kernel build (image layout, structure sizes, config) that boot accounting uses.</summary>
    public KernelBuild Build { get; init; } = KernelBuild.Debian6_1;

    /// <summary>6.1's free_area_init() prints "Initializing node N as memoryless" before allocating a memoryless node's
    /// pgdat; 6.12's alloc_offline_node_data() does not.</summary>
    public bool PrintsInitializingMemoryless { get; init; } = true;

    /// <summary>The memoryless pgdat comes from free_area_init() (6.1) or alloc_offline_node_data() (6.12), as
    /// memblock=debug names the caller.</summary>
    public string MemorylessPgdatCaller { get; init; } = "free_area_init";

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

    /// <summary>mm/memory-tiers.c takes a memory node's abstract distance from the adistance algorithms (HMAT's
    /// hmat_calculate_adistance(), drivers/acpi/numa/hmat.c, since v6.7) and assigns tiers in memory_tier_late_init();
    /// 6.1 puts every memory node in the default DRAM tier at memory_tier_init().</summary>
    public bool MemoryTierAdistanceFromHmat { get; init; }

    /// <summary>memoryN/removable computes is_mem_section_removable() (a block with reserved, unmovable or hole pages
    /// reads 0). Since 53cdc1cb29e8 (v5.7) every block reads 1.</summary>
    public bool RemovableChecksPages { get; init; }

    /// <summary>The struct pages of a hole in a boot block belong to zone 0 of node 0 (zero_resv_unavail()), so
    /// test_pages_in_a_zone() fails and an online block with a hole shows valid_zones "none". Since v5.13 holes take
    /// the neighbouring zone (init_unavailable_range()), and v6.1 shows the zone the block lies in.</summary>
    public bool HoleBlocksShowNoZone { get; init; }

    /// <summary>cpuN/topology has die_id (5.2), core_cpus, die_cpus and package_cpus (5.4, 2e4c54dac7b3) and the
    /// cluster files (5.16); before, only physical_package_id, core_id, core_siblings and thread_siblings.</summary>
    public bool TopologyHasDieClusterFiles { get; init; } = true;

    /// <summary>mm/memory-tiers.c (v6.1): /sys/devices/virtual/memory_tiering with the default DRAM tier, memory_tier4.</summary>
    public bool MemoryTiers { get; init; } = true;

    /// <summary>The memory_hotplug.* module parameters exist (memmap_on_memory 5.12+, online_policy, auto_movable_ratio,
    /// auto_movable_numa_aware 5.15+, mm/memory_hotplug.c); v4.x has none.</summary>
    public bool MemoryHotplugModuleParams { get; init; }

    /// <summary>memory_hotplug.memmap_on_memory takes "force" and shows "Y"/"N"/"force" (set_memmap_mode(), v6.6+);
    /// before, a plain bool.</summary>
    public bool MemmapOnMemoryForceMode { get; init; }

    /// <summary>memmap_on_memory works per memory block of any hot-added range: acpi_memory_enable_device() always
    /// asks for MHP_MEMMAP_ON_MEMORY and add_memory_resource() makes one altmap per block
    /// (create_altmaps_and_memory_blocks(), v6.6+). Before, only a range of exactly one block got it
    /// (mhp_supports_memmap_on_memory(size) in v6.1).</summary>
    public bool MemmapOnMemoryPerBlock { get; init; }

    /// <summary>kernelcore=mirror is ignored without mirrored memory ("The system has no mirror memory, ignore
    /// kernelcore=mirror.", v6.5+); v6.1 makes every range at or above 4 GiB ZONE_MOVABLE.</summary>
    public bool KernelcoreMirrorNeedsMirrorMemory { get; init; }

    /// <summary>virtio_mem keeps retrying to offline and remove fully unplugged memory blocks whose removal failed
    /// (have_unplugged_mb, virtio_mem_cleanup_pending_mb(), v6.5+), and maps offline_and_remove_memory() failures to
    /// -EBUSY/-ENOMEM; v6.1 tries once when the last sub-block goes. v6.12 also drops bbm_safe_unplug.</summary>
    public bool VirtioMemRetriesUnpluggedBlocks { get; init; }

    /// <summary>The kernel's early_param() and __setup() names (white-space separated), which decide what a
    /// command-line word is (Init/KnownBootParams.cs, read from Debian's linux-source packages).</summary>
    public string EarlyParamNames { get; init; } = Init.KnownBootParams.EarlyV6_1;
    public string SetupParamNames { get; init; } = Init.KnownBootParams.SetupV6_1;

    // The bug zoo (docs/checker.md "Bug zoo"): fixes of historical bugs, on in every modelled version; a zoo profile
    // (ZooProfiles) turns one off to show that the checker finds the bug by itself.

    /// <summary>2c91f8fc6c99 "mm/memory_hotplug: fix try_offline_node()" (v5.5 by date): try_offline_node() keeps a node online
    /// while a memory block has its nid. Before, it looked only for present sections in the node's span, which covers
    /// onlined memory only (since f1dd2cd13c4b, v4.13), so added but never onlined memory did not keep the node.</summary>
    public bool Fix2c91f8fc6c99 { get; init; } = true;

    /// <summary>d9713679dbd2 "memory_hotplug: fix possible incorrect node_states[N_NORMAL_MEMORY]" (2012, v3.8 by date): online_pages()
    /// and offline_pages() set and clear N_NORMAL_MEMORY (node_states_check_changes_online/offline()); before, only
    /// N_HIGH_MEMORY (= N_MEMORY then) was kept.</summary>
    public bool Fixd9713679dbd2 { get; init; } = true;

    /// <summary>8f416836c0d5 "mm/page_alloc.c: fix calculation of pgdat->nr_zones" (2018): init_currently_empty_zone()
    /// raises pgdat->nr_zones to zone_idx + 1 only when that is larger; before, it set it unconditionally, so onlining
    /// into ZONE_NORMAL after ZONE_MOVABLE left nr_zones below the populated ZONE_MOVABLE.</summary>
    public bool Fix8f416836c0d5 { get; init; } = true;

    /// <summary>712cd386fdc9 "Update start_pfn in zone and pg_data when spanned_pages == 0" (Tang Chen, v3.8 merge window):
    /// grow_zone_span()/grow_pgdat_span() (now resize_zone_range()) take the new range's start when the zone spans
    /// nothing; before, a zone emptied by hot-remove (start 0) kept start_pfn 0 when memory came back.</summary>
    public bool Fix712cd386fdc9 { get; init; } = true;

    /// <summary>feee6b298916 "mm/memory_hotplug: shrink zones when offlining memory" (v5.5 by date; Fixes: d0dc12e86b31): the zone
    /// and node spans shrink when memory goes offline (remove_pfn_range_from_zone()); before, only when it was removed
    /// (__remove_pages() → __remove_zone(), on the zone of the range's first page), so offline memory stayed spanned.</summary>
    public bool Fixfeee6b298916 { get; init; } = true;

    /// <summary>e553f62f10d9 "mm, page_alloc: fix build_zonerefs_node()" (v5.18; Fixes: 6aa303defb74, v4.16): zonelists
    /// reference every populated zone (populated_zone()); before, only zones with managed pages (managed_zone()), so a
    /// populated zone whose pages the buddy allocator does not manage (all fake-offline or ballooned) had no zoneref.</summary>
    public bool ZonerefsOfPopulatedZones { get; init; } = true;

    public static readonly KernelProfile V4_19 = new()
    {
        Name = "v4.19", Release = "4.19.0-numasim",
        ClearCpuNodeOnNodeOffline = true,
        MemorylessPossibleNodesStayOffline = false,
        OopsStyleV4 = true,
        RemovableChecksPages = true,
        HoleBlocksShowNoZone = true,
        TopologyHasDieClusterFiles = false,
        MemoryTiers = false,
        ZonerefsOfPopulatedZones = false,
        MpolPreferredMany = false,
        HugetlbDemote = false,
        // no v4.x boot was traced: crash_notes keeps reading 0 there
        Build = KernelBuild.Debian6_1 with { PercpuBootAllocations = null },
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
        MemoryHotplugModuleParams = true,
        CacheinfoRemoveComparesIds = true,
    };

    public static readonly KernelProfile V6_12 = V6_1 with
    {
        Name = "v6.12", Release = "6.12.0-numasim",
        CpuhpStates = Hotplug.CpuhpStateTables.Debian612,
        CpuEnabledFile = true,
        MovableWatermarksLikeHighmem = true,
        NodeMemoryFailureStats = true,
        NodeMeminfoFileThpAligned = true,
        HugetlbBootAllocInChunks = true,
        HugetlbDemoteBatched = true,
        HugetlbPoolGrowBatched = true,
        HugetlbGatherSurplusPerNode = true,
        IsolationSkipsHugePages = true,
        BootCpuHotplugTargetSet = true,
        // QEMU 7.2's MADT does not mark the not-present CPUs online-capable; 6.12's topology code then refuses
        // their hot-add: "ACPI: Unable to map lapic to logical cpu number" (seen in the 6.12 transcript).
        AcpiCpuHotAddRefused = true,
        MadtDisabledCpusNeedOnlineCapable = true,
        AmdTopologyFromLeaf0xB = true,
        ManagedEstimateIsPresentPages = true,
        FallbackSkipsMemorylessLocalNode = true,
        NodeStatesClearedBeforeZonelistRebuild = true,
        PrintsDemotionTargets = true,
        MemoryTierAdistanceFromHmat = true,
        MemmapOnMemoryForceMode = true,
        MemmapOnMemoryPerBlock = true,
        KernelcoreMirrorNeedsMirrorMemory = true,
        VirtioMemRetriesUnpluggedBlocks = true,
        EarlyParamNames = Init.KnownBootParams.EarlyV6_12,
        SetupParamNames = Init.KnownBootParams.SetupV6_12,
        Build = KernelBuild.Debian6_12,
        PrintsInitializingMemoryless = false,
        MemorylessPgdatCaller = "alloc_offline_node_data",
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
        return Named.FirstOrDefault(p => p.Name == n) ?? ZooProfiles.Find(name);
    }
}
