using System.Text;

namespace Numasim.Kernel.Drivers;

/// <summary>
/// nodeN/vmstat (drivers/base/node.c node_read_vmstat()): the zone counters summed over the node's zones
/// (enum zone_stat_item), the NUMA events (enum numa_stat_item) and the node counters (enum node_stat_item), by
/// their mm/vmstat.c vmstat_text names, one "name value" line each. The model keeps free pages and the NUMA
/// allocation counters; the others (LRU, slab, page cache... of the guest's userspace and kernel) show 0.
/// </summary>
internal static class NodeVmstat
{
    /// <summary>enum zone_stat_item of 6.1 and 6.12 (CONFIG_ZSMALLOC=y; NR_FREE_CMA_PAGES is always counted).</summary>
    private static readonly string[] ZoneItems =
    [
        "nr_free_pages", "nr_zone_inactive_anon", "nr_zone_active_anon", "nr_zone_inactive_file", "nr_zone_active_file",
        "nr_zone_unevictable", "nr_zone_write_pending", "nr_mlock", "nr_bounce", "nr_zspages", "nr_free_cma",
    ];

    /// <summary>enum node_stat_item of 6.1 (CONFIG_SWAP, CONFIG_NUMA_BALANCING, no shadow call stack).</summary>
    public static readonly IReadOnlyList<string> NodeItemsV6_1 =
    [
        "nr_inactive_anon", "nr_active_anon", "nr_inactive_file", "nr_active_file", "nr_unevictable",
        "nr_slab_reclaimable", "nr_slab_unreclaimable", "nr_isolated_anon", "nr_isolated_file", "workingset_nodes",
        "workingset_refault_anon", "workingset_refault_file", "workingset_activate_anon", "workingset_activate_file",
        "workingset_restore_anon", "workingset_restore_file", "workingset_nodereclaim", "nr_anon_pages", "nr_mapped",
        "nr_file_pages", "nr_dirty", "nr_writeback", "nr_writeback_temp", "nr_shmem", "nr_shmem_hugepages",
        "nr_shmem_pmdmapped", "nr_file_hugepages", "nr_file_pmdmapped", "nr_anon_transparent_hugepages",
        "nr_vmscan_write", "nr_vmscan_immediate_reclaim", "nr_dirtied", "nr_written", "nr_throttled_written",
        "nr_kernel_misc_reclaimable", "nr_foll_pin_acquired", "nr_foll_pin_released", "nr_kernel_stack",
        "nr_page_table_pages", "nr_sec_page_table_pages", "nr_swapcached", "pgpromote_success", "pgpromote_candidate",
    ];

    /// <summary>enum node_stat_item of 6.12: NR_IOMMU_PAGES (CONFIG_IOMMU_SUPPORT) before NR_SWAPCACHE, and the
    /// demotion counters, which moved from the vm events to the node counters.</summary>
    public static readonly IReadOnlyList<string> NodeItemsV6_12 =
    [
        .. NodeItemsV6_1.Take(40), "nr_iommu_pages", .. NodeItemsV6_1.Skip(40),
        "pgdemote_kswapd", "pgdemote_direct", "pgdemote_khugepaged",
    ];

    /// <summary>Models node_read_vmstat().</summary>
    public static string Show(KernelContext k, long freePages, NumaStat numa)
    {
        var sb = new StringBuilder();
        foreach (var name in ZoneItems) sb.Append(name).Append(' ').Append(name == "nr_free_pages" ? freePages : 0).Append('\n');
        if (k.Profile.Build.UnacceptedMemory) sb.Append("nr_unaccepted 0\n"); // NR_UNACCEPTED, CONFIG_UNACCEPTED_MEMORY
        sb.Append("numa_hit ").Append(numa.Hit).Append('\n');
        sb.Append("numa_miss ").Append(numa.Miss).Append('\n');
        sb.Append("numa_foreign ").Append(numa.Foreign).Append('\n');
        sb.Append("numa_interleave ").Append(numa.InterleaveHit).Append('\n');
        sb.Append("numa_local ").Append(numa.Local).Append('\n');
        sb.Append("numa_other ").Append(numa.Other).Append('\n');
        foreach (var name in k.Profile.Build.NodeStatItems) sb.Append(name).Append(" 0\n");
        return sb.ToString();
    }
}
