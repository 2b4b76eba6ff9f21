using Numasim.Kernel.Drivers;
using Numasim.Kernel.Log;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Hotplug;

/// <summary>mm/memory_hotplug.c: onlining and offlining memory blocks, adding and removing memory (v6.1 rules).</summary>
public sealed partial class MemoryHotplug : IMemoryOnlining
{
    private readonly KernelContext _k;
    private readonly MemoryDevices _devices;
    private readonly NodeDevices _nodes;
    private readonly NodeHotplug _nodeHotplug;

    /// <summary>The model of the kernel's own allocations, topped up when CPUs or kernel memory arrive.</summary>
    internal KernelAllocations? KernelAllocations { get; set; }

    internal MemoryHotplug(KernelContext k, MemoryDevices devices, NodeDevices nodes, NodeHotplug nodeHotplug)
    {
        _k = k;
        _devices = devices;
        _nodes = nodes;
        _nodeHotplug = nodeHotplug;
    }

    /// <summary>Set by the page allocator: moves the movable pages of an isolated range elsewhere (do_migrate_range()).</summary>
    internal Func<Zone, long, long, Errno>? MigrateRange { get; set; }

    /// <summary>Set by hugetlb: dissolve_free_huge_pages() of an isolated range, after the migration.</summary>
    internal Func<long, long, Errno>? DissolveFreeHugePages { get; set; }

    /// <summary>Set by hugetlb: whether a huge page straddles the range's ends, so that start_isolate_page_range()'s
    /// isolate_single_pageblock() must migrate it and cannot (a gigantic page: isolate_or_dissolve_huge_page() -ENOMEM).</summary>
    internal Func<long, long, bool>? IsolationBlockedByHugePage { get; set; }

    /// <summary>The memory notifier chain online_pages() and offline_pages() call.</summary>
    public MemoryNotifierChain Notifiers { get; } = new();

    /// <summary>Models memory_subsys_online() → memory_block_online() → online_pages(). A device_online() without
    /// an online type (the memoryN/online file) means MMOP_ONLINE. With memmap_on_memory the block's first
    /// <see cref="MemoryBlock.NrVmemmapPages"/> pages hold its memmap: they join the zone (mhp_init_memmap_on_memory())
    /// and count as present after online_pages() succeeded, but never reach the buddy.</summary>
    public Errno Online(MemoryBlock mb, OnlineType type)
    {
        using var call = _k.Trace.Call("memory_subsys_online", "drivers/base/memory.c", $"memory{mb.Id}, {MemoryDevices.OnlineTypeName(type)}");
        if (type == OnlineType.Offline) type = OnlineType.Online;
        int nid = mb.Nid;
        using var blockOnline = _k.Trace.Call("memory_block_online", "drivers/base/memory.c", $"memory{mb.Id}, node {nid}");
        if (mb.HasHoles) return _k.Trace.Fail(Errno.EINVAL, $"memory{mb.Id} has holes (online_pages() refuses a range that is not fully present)");
        var zone = ZoneForPfnRange(type, nid, mb.Group, mb.StartPfn, mb.NrPages);
        long vmemmap = mb.NrVmemmapPages, start = mb.StartPfn + vmemmap, nr = mb.NrPages - vmemmap;
        using var onlinePages = _k.Trace.Call("online_pages", "mm/memory_hotplug.c", $"pfn 0x{start:x}, {nr} pages, {zone.Name} of node {nid}{(vmemmap > 0 ? $" (after the block's {vmemmap} memmap pages)" : "")}");
        // node_states_check_changes_online()
        var arg = new MemoryNotify(start, nr,
            _k.NodeStates.Has(nid, NodeState.Memory) ? -1 : nid,
            zone.Type <= ZoneType.Normal && !_k.NodeStates.Has(nid, NodeState.NormalMemory) ? nid : -1);
        var veto = Notifiers.Notify(MemoryAction.GoingOnline, arg);
        if (veto != Errno.None)
        {
            Notifiers.Notify(MemoryAction.CancelOnline, arg);
            return _k.Trace.Fail(veto, "a memory notifier refused MEM_GOING_ONLINE");
        }
        bool wasPopulated = zone.IsPopulated;
        MovePfnRangeToZone(zone, mb.StartPfn, mb.NrPages);
        AdjustPresentPageCount(zone, mb, nr);
        zone.PgData.RecomputeSpan();
        OnlinePagesRange(zone, start, nr);
        // node_states_set_node()
        if (arg.StatusChangeNidNormal >= 0) _k.Trace.Change($"node_states[N_NORMAL_MEMORY] += node {nid}");
        if (arg.StatusChangeNid >= 0) _k.Trace.Change($"node_states[N_MEMORY] += node {nid}");
        if (zone.Type <= ZoneType.Normal && _k.Profile.Fixd9713679dbd2) _k.NodeStates.Set(nid, NodeState.NormalMemory);
        _k.NodeStates.Set(nid, NodeState.Memory);
        _k.Trace.Decide(wasPopulated, $"{zone.Name} of node {nid} was populated: the zonelists stay", $"{zone.Name} of node {nid} was empty: build_all_zonelists(NULL)");
        if (!wasPopulated) Zonelists.BuildAll(_k, null);
        PerZoneWmarks.InitPerZoneWmarkMin(_k);
        mb.State = MemoryBlockState.Online;
        mb.Zone = zone;
        _k.Trace.Change($"memory{mb.Id}: offline → online in {zone.Name} of node {nid} (present {zone.PresentPages} pages)");
        Notifiers.Notify(MemoryAction.Online, arg);
        if (vmemmap > 0)
        {
            AdjustPresentPageCount(zone, mb, vmemmap);
            zone.PgData.RecomputeSpan();
        }
        KernelAllocations?.Refill(nid);
        _k.Uevents.Emit(UeventAction.Online, $"/devices/system/memory/memory{mb.Id}", "memory");
        return Errno.None;
    }

    /// <summary>Models memory_block_offline() → offline_pages(): a block spanning zones or with holes is EINVAL;
    /// the range (after any self-hosted memmap) is isolated, its movable pages migrated, and an unmovable page
    /// makes it EBUSY, rolled back.</summary>
    public Errno Offline(MemoryBlock mb)
    {
        using var call = _k.Trace.Call("memory_subsys_offline", "drivers/base/memory.c", $"memory{mb.Id}");
        using var blockOffline = _k.Trace.Call("memory_block_offline", "drivers/base/memory.c", $"memory{mb.Id}, node {mb.Nid}");
        var zone = mb.Zone;
        if (zone is null) return _k.Trace.Fail(Errno.EINVAL, $"memory{mb.Id} spans more than one zone (test_pages_in_a_zone() fails)");
        if (mb.HasHoles) return _k.Trace.Fail(Errno.EINVAL, $"memory{mb.Id} has holes");
        long vmemmap = mb.NrVmemmapPages;
        long start = mb.StartPfn + vmemmap, end = mb.EndPfn, nr = end - start;
        using var offlinePages = _k.Trace.Call("offline_pages", "mm/memory_hotplug.c", $"pfn 0x{start:x}, {nr} pages, {zone.Name} of node {zone.NodeId}");
        var pages = zone.Pages;
        pages.DrainPcp();
        // memory_block_offline(): the self-hosted memmap leaves the present count before offline_pages() runs
        if (vmemmap > 0) AdjustPresentPageCount(zone, mb, -vmemmap);
        mb.State = MemoryBlockState.GoingOffline;
        // offline_pages(): the range is isolated first ("failure to isolate range"), then MEM_GOING_OFFLINE is sent
        // ("notifier failure"), then the movable pages are migrated.
        if (IsolationBlockedByHugePage?.Invoke(start, end) == true)
        {
            mb.State = MemoryBlockState.Online;
            if (vmemmap > 0) AdjustPresentPageCount(zone, mb, vmemmap);
            return _k.Trace.Fail(Errno.EBUSY, $"start_isolate_page_range(): a gigantic huge page straddles memory{mb.Id} (isolate_single_pageblock())");
        }
        var err = pages.Isolate(start, end, out long badPfn, checkUnmovable: true, zoneIsMovable: zone.Type == ZoneType.Movable);
        if (err != Errno.None)
        {
            mb.State = MemoryBlockState.Online;
            if (vmemmap > 0) AdjustPresentPageCount(zone, mb, vmemmap);
            if (err == Errno.EBUSY) _k.Log.Printk("page dumped because: unmovable page");
            return _k.Trace.Fail(err, $"start_isolate_page_range(): an unmovable page in memory{mb.Id} at pfn 0x{badPfn:x} (has_unmovable_pages())");
        }
        var arg = OfflineNotify(zone, start, nr);
        err = Notifiers.Notify(MemoryAction.GoingOffline, arg);
        if (err != Errno.None)
        {
            pages.UndoIsolate(start, end);
            Notifiers.Notify(MemoryAction.CancelOffline, arg);
            mb.State = MemoryBlockState.Online;
            if (vmemmap > 0) AdjustPresentPageCount(zone, mb, vmemmap);
            return _k.Trace.Fail(err, "a memory notifier refused MEM_GOING_OFFLINE; isolation undone");
        }
        bool migrated = false, dissolved = true; // which check refused: the migration, the dissolve or the isolation test
        if (MigrateRange is not null) err = MigrateRange(zone, start, end);
        if (err == Errno.None && DissolveFreeHugePages is not null) dissolved = (err = DissolveFreeHugePages(start, end)) == Errno.None;
        if (err == Errno.None) { migrated = true; err = TestPagesIsolated(pages, start, end, out badPfn); }
        if (err != Errno.None)
        {
            pages.UndoIsolate(start, end);
            Notifiers.Notify(MemoryAction.CancelOffline, arg);
            OfflineSkipped.Clear();
            mb.State = MemoryBlockState.Online;
            if (vmemmap > 0) AdjustPresentPageCount(zone, mb, vmemmap);
            // "failure to dissolve huge pages" is only a pr_debug() of offline_pages()
            if (err == Errno.EBUSY && dissolved) _k.Log.Printk("page dumped because: unmovable page");
            if (!dissolved) return _k.Trace.Fail(err, $"dissolve_free_huge_pages(): a free huge page of memory{mb.Id} is reserved; isolation undone");
            return migrated ? _k.Trace.Fail(err, $"test_pages_isolated(): pfn 0x{badPfn:x} of memory{mb.Id} is still in use; isolation undone")
                : _k.Trace.Fail(err, $"do_migrate_range() could not move every page out of memory{mb.Id}; isolation undone");
        }
        long removed = OfflineIsolatedPages(pages, start, end);
        zone.ManagedPages -= removed;
        AdjustPresentPageCount(zone, mb, -nr);
        zone.PgData.RecomputeSpan();
        // offline_pages() recomputes watermarks before it rebuilds the zonelists (online_pages() the other way round).
        PerZoneWmarks.InitPerZoneWmarkMin(_k);
        if (_k.Profile.NodeStatesClearedBeforeZonelistRebuild) NodeStatesClearNode(zone.PgData);
        if (!zone.IsPopulated) Zonelists.BuildAll(_k, null);
        if (!_k.Profile.NodeStatesClearedBeforeZonelistRebuild) NodeStatesClearNode(zone.PgData);
        Notifiers.Notify(MemoryAction.Offline, arg);
        // remove_pfn_range_from_zone() of the pages and, with them, mhp_deinit_memmap_on_memory() of the memmap
        if (_k.Profile.Fixfeee6b298916) RemovePfnRangeFromZone(zone, mb.StartPfn, mb.EndPfn);
        else zone.PgData.RecomputeSpan();
        mb.State = MemoryBlockState.Offline;
        mb.Zone = null;
        _k.Trace.Change($"memory{mb.Id}: online → offline; {removed} pages left {zone.Name} of node {zone.NodeId}");
        _k.Uevents.Emit(UeventAction.Offline, $"/devices/system/memory/memory{mb.Id}", "memory");
        return Errno.None;
    }

    /// <summary>Models node_states_check_changes_offline(): the node loses N_MEMORY (N_NORMAL_MEMORY) when the range
    /// holds all its present pages (all in zones up to ZONE_NORMAL).</summary>
    private static MemoryNotify OfflineNotify(Zone zone, long start, long nr)
    {
        var p = zone.PgData;
        long normalPresent = 0;
        for (int i = 0; i <= (int)ZoneType.Normal; i++) normalPresent += p.Zones[i].PresentPages;
        int nid = p.NodeId;
        bool lastNormal = zone.Type <= ZoneType.Normal && normalPresent <= nr;
        long nodePresent = 0;
        foreach (var z in p.Zones) nodePresent += z.PresentPages;
        return new MemoryNotify(start, nr, nodePresent <= nr ? nid : -1, lastNormal ? nid : -1);
    }

    /// <summary>Models move_pfn_range_to_zone(): the zone's span grows to cover the range (resize_zone_range()); an
    /// empty zone takes the range's start, unless 712cd386fdc9 is reverted (then the span grows from start_pfn 0).</summary>
    private void MovePfnRangeToZone(Zone z, long start, long nr)
    {
        // Before 712cd386fdc9 (2012's __add_zone()), only a zone never set up was initialised at the range; one
        // emptied by a shrink (start_pfn 0) grew from 0.
        if (z.IsEmpty && (_k.Profile.Fix712cd386fdc9 || !z.PgData.ZoneInitialized(z.Type)))
        {
            z.PgData.InitCurrentlyEmptyZone(z, start, nr);
            return;
        }
        long s = Math.Min(z.ZoneStartPfn, start), e = Math.Max(z.ZoneEndPfn, start + nr);
        z.ZoneStartPfn = s;
        z.SpannedPages = e - s;
    }

    /// <summary>Models remove_pfn_range_from_zone() → shrink_zone_span(): the span shrinks only when the removed
    /// range sits at the zone's start or end, up to the nearest pages still in the zone; a hole in the middle stays spanned.</summary>
    private void RemovePfnRangeFromZone(Zone z, long start, long end)
    {
        if (!z.IsPopulated)
        {
            z.ZoneStartPfn = 0;
            z.SpannedPages = 0;
            return;
        }
        if (start != z.ZoneStartPfn && end != z.ZoneEndPfn) return;
        // Online blocks of the node that still hold pages of this zone (a block spanning zones has no single zone).
        long s = long.MaxValue, e = 0;
        foreach (var mb in _k.AllMemoryBlocks)
        {
            if (mb.Nid != z.NodeId || mb.State != MemoryBlockState.Online || (mb.Zone is not null && mb.Zone != z)) continue;
            if (mb.StartPfn >= start && mb.EndPfn <= end) continue;
            long bs = Math.Max(mb.StartPfn, z.ZoneStartPfn), be = Math.Min(mb.EndPfn, z.ZoneEndPfn);
            if (bs >= be) continue;
            s = Math.Min(s, bs);
            e = Math.Max(e, be);
        }
        if (e == 0) return;
        long newStart = start == z.ZoneStartPfn ? s : z.ZoneStartPfn;
        long newEnd = end == z.ZoneEndPfn ? e : z.ZoneEndPfn;
        z.ZoneStartPfn = newStart;
        z.SpannedPages = newEnd - newStart;
    }

    /// <summary>Models node_states_clear_node(): N_NORMAL_MEMORY and N_MEMORY go with the node's last pages.</summary>
    private void NodeStatesClearNode(PgData p)
    {
        using var call = _k.Trace.Call("node_states_clear_node", "mm/memory_hotplug.c", $"node {p.NodeId}");
        bool normal = false;
        for (int i = 0; i <= (int)ZoneType.Normal; i++) normal |= p.Zones[i].IsPopulated;
        if (!normal && _k.NodeStates.Has(p.NodeId, NodeState.NormalMemory)) _k.Trace.Change($"node_states[N_NORMAL_MEMORY] -= node {p.NodeId}: no populated kernel zone left");
        if (p.NodePresentPages == 0 && _k.NodeStates.Has(p.NodeId, NodeState.Memory)) _k.Trace.Change($"node_states[N_MEMORY] -= node {p.NodeId}: no present pages left");
        if (!normal && _k.Profile.Fixd9713679dbd2) _k.NodeStates.Clear(p.NodeId, NodeState.NormalMemory);
        if (p.NodePresentPages == 0) _k.NodeStates.Clear(p.NodeId, NodeState.Memory);
    }
}
