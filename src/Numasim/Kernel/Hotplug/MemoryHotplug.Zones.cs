using Numasim.Kernel.Drivers;
using Numasim.Kernel.Mm;

namespace Numasim.Kernel.Hotplug;

/// <summary>The zone a memory block onlines to: zone_for_pfn_range() with the contig-zones and auto-movable online
/// policies and movable_node, mm/memory_hotplug.c (v6.1/v6.12).</summary>
public sealed partial class MemoryHotplug
{
    /// <summary>Models valid_zones_show() for an offline block: the default zone, then the other zones
    /// print_allowed_zone() allows.</summary>
    public string ValidZonesOffline(MemoryBlock mb)
    {
        var def = ZoneForPfnRange(OnlineType.Online, mb.Nid, mb.Group, mb.StartPfn, mb.NrPages);
        var names = new List<string> { def.Name };
        foreach (var t in new[] { OnlineType.OnlineKernel, OnlineType.OnlineMovable })
        {
            var z = ZoneForPfnRange(t, mb.Nid, mb.Group, mb.StartPfn, mb.NrPages);
            if (z != def) names.Add(z.Name);
        }
        return string.Join(' ', names);
    }

    /// <summary>Models zone_for_pfn_range(): online_kernel and online_movable name their zone; plain "online"
    /// follows memory_hotplug.online_policy.</summary>
    private Zone ZoneForPfnRange(OnlineType type, int nid, MemoryGroup? group, long start, long nr)
    {
        using var call = _k.Trace.Call("zone_for_pfn_range", "mm/memory_hotplug.c", $"{MemoryDevices.OnlineTypeName(type)}, node {nid}, pfn 0x{start:x}, {nr} pages");
        var pgdat = _k.NodeDataOf(nid) ?? throw new InvalidOperationException($"no pgdat for node {nid}");
        if (type == OnlineType.OnlineKernel) return DefaultKernelZoneForPfn(pgdat, start, nr);
        if (type == OnlineType.OnlineMovable)
        {
            _k.Trace.Decide($"ZONE_MOVABLE: online_movable asked for node {nid}'s movable zone");
            return pgdat.Zone(ZoneType.Movable);
        }
        if (_k.MhpParams.Exist && _k.MhpParams.OnlinePolicy == OnlinePolicy.AutoMovable)
            return AutoMovableZoneForPfn(pgdat, group, start, nr);
        return DefaultZoneForPfn(pgdat, start, nr);
    }

    /// <summary>Models default_zone_for_pfn(): the zone the range already lies in when only one of the kernel zone
    /// and ZONE_MOVABLE intersects it; otherwise ZONE_MOVABLE with movable_node, else the kernel zone.</summary>
    private Zone DefaultZoneForPfn(PgData pgdat, long start, long nr)
    {
        using var call = _k.Trace.Call("default_zone_for_pfn", "mm/memory_hotplug.c");
        var kernel = DefaultKernelZoneForPfn(pgdat, start, nr);
        var movable = pgdat.Zone(ZoneType.Movable);
        bool inKernel = Intersects(kernel, start, nr), inMovable = Intersects(movable, start, nr);
        if (inKernel ^ inMovable)
        {
            _k.Trace.Decide($"{(inKernel ? kernel : movable).Name}: the range intersects only {(inKernel ? kernel : movable).Name} of node {pgdat.NodeId}");
            return inKernel ? kernel : movable;
        }
        var zone = _k.Boot.MovableNode ? movable : kernel;
        _k.Trace.Decide($"{zone.Name}: the range {(inKernel ? $"intersects both {kernel.Name} and ZONE_MOVABLE" : "touches no zone")} of node {pgdat.NodeId}; {(_k.Boot.MovableNode ? "movable_node takes ZONE_MOVABLE" : "online_policy=contig-zones takes the kernel zone")}");
        return zone;
    }

    /// <summary>Models auto_movable_zone_for_pfn(): ZONE_MOVABLE when the rest of the device (a static group's
    /// size, a dynamic group's unit) could all go MOVABLE and still keep MOVABLE:KERNEL_EARLY within
    /// auto_movable_ratio, system-wide and (auto_movable_numa_aware) on the node; a device with kernel memory
    /// onlines the rest to a kernel zone too.</summary>
    private Zone AutoMovableZoneForPfn(PgData pgdat, MemoryGroup? group, long pfn, long nr)
    {
        using var call = _k.Trace.Call("auto_movable_zone_for_pfn", "mm/memory_hotplug.c", $"node {pgdat.NodeId}, auto_movable_ratio {_k.MhpParams.AutoMovableRatio}%");
        var p = _k.MhpParams;
        if (p.AutoMovableRatio == 0) return DefaultKernelZoneForPfn(pgdat, pfn, nr);
        long online = 0, max;
        if (group is { IsDynamic: false })
        {
            max = group.MaxPages;
            online = group.PresentMovablePages;
            if (group.PresentKernelPages > 0)
            {
                _k.Trace.Decide($"memory group {group.Id} has kernel memory already: the rest of the device goes to a kernel zone");
                return DefaultKernelZoneForPfn(pgdat, pfn, nr);
            }
        }
        else if (group is null || group.UnitPages == nr)
        {
            max = nr;
        }
        else
        {
            // The online sections of the unit: all MOVABLE, or the rest goes to a kernel zone.
            max = group.UnitPages;
            long unitStart = pfn / group.UnitPages * group.UnitPages;
            foreach (var mb in _k.AllMemoryBlocks)
            {
                if (mb.State != MemoryBlockState.Online || mb.EndPfn <= unitStart || mb.StartPfn >= unitStart + group.UnitPages) continue;
                if (mb.Zone?.Type != ZoneType.Movable) return DefaultKernelZoneForPfn(pgdat, pfn, nr);
                online += mb.NrPages;
            }
        }
        long want = max - online;
        if (!AutoMovableCanOnlineMovable(-1, group, want))
        {
            _k.Trace.Decide($"{want} more MOVABLE pages would break auto_movable_ratio system-wide: a kernel zone");
            return DefaultKernelZoneForPfn(pgdat, pfn, nr);
        }
        if (p.AutoMovableNumaAware && !AutoMovableCanOnlineMovable(pgdat.NodeId, group, want))
        {
            _k.Trace.Decide($"{want} more MOVABLE pages would break auto_movable_ratio on node {pgdat.NodeId} (auto_movable_numa_aware): a kernel zone");
            return DefaultKernelZoneForPfn(pgdat, pfn, nr);
        }
        _k.Trace.Decide($"ZONE_MOVABLE: {want} more MOVABLE pages keep auto_movable_ratio");
        return pgdat.Zone(ZoneType.Movable);
    }

    /// <summary>Models auto_movable_can_online_movable(): MOVABLE present pages against the boot-time kernel pages
    /// (present_early_pages), where each other dynamic group's MOVABLE pages first claim the kernel pages the ratio
    /// requires of them, and this group's own kernel pages count in its favour.</summary>
    private bool AutoMovableCanOnlineMovable(int nid, MemoryGroup? group, long nrPages)
    {
        long ratio = _k.MhpParams.AutoMovableRatio;
        long kernelEarly = 0, movable = 0;
        IEnumerable<Zone> zones = nid < 0
            ? _k.AllPgData().Where(pg => _k.NodeStates.Has(pg.NodeId, Numa.NodeState.Online)).SelectMany(pg => pg.Zones)
            : _k.NodeDataOf(nid)!.Zones;
        foreach (var z in zones)
        {
            if (!z.IsPopulated) continue;
            if (z.Type == ZoneType.Movable) movable += z.PresentPages;
            else kernelEarly += z.PresentEarlyPages;
        }
        long reqKernelEarly = 0, groupMovable = 0;
        foreach (var g in _k.MemoryGroups.Dynamic(nid, group))
        {
            long pages = g.PresentMovablePages * 100 / ratio - g.PresentKernelPages;
            if (pages > 0) reqKernelEarly += pages;
            groupMovable += g.PresentMovablePages;
        }
        if (kernelEarly <= reqKernelEarly) return false;
        kernelEarly -= reqKernelEarly;
        movable -= groupMovable;
        if (group is { IsDynamic: true }) kernelEarly += group.PresentKernelPages;
        movable += nrPages;
        return movable <= ratio * kernelEarly / 100;
    }

    /// <summary>Models default_kernel_zone_for_pfn(): the first kernel zone the range intersects, else ZONE_NORMAL.</summary>
    private Zone DefaultKernelZoneForPfn(PgData pgdat, long start, long nr)
    {
        using var call = _k.Trace.Call("default_kernel_zone_for_pfn", "mm/memory_hotplug.c", $"node {pgdat.NodeId}");
        for (int i = 0; i < (int)ZoneType.Normal; i++)
            if (Intersects(pgdat.Zones[i], start, nr))
            {
                _k.Trace.Decide($"{pgdat.Zones[i].Name}: the first kernel zone of node {pgdat.NodeId} that the range intersects");
                return pgdat.Zones[i];
            }
        _k.Trace.Decide($"ZONE_NORMAL: the range intersects no kernel zone below ZONE_NORMAL of node {pgdat.NodeId}");
        return pgdat.Zone(ZoneType.Normal);
    }

    /// <summary>Models zone_intersects().</summary>
    private static bool Intersects(Zone z, long start, long nr) =>
        !z.IsEmpty && start < z.ZoneEndPfn && start + nr > z.ZoneStartPfn;

    /// <summary>Models adjust_present_page_count(): the zone's present pages (and present_early_pages for boot
    /// memory), the node's, and the memory group's kernel or movable count.</summary>
    private static void AdjustPresentPageCount(Zone zone, MemoryBlock mb, long nr)
    {
        if (!mb.Hotplugged) zone.PresentEarlyPages += nr;
        zone.PresentPages += nr;
        if (mb.Group is { } g)
        {
            if (zone.Type == ZoneType.Movable) g.PresentMovablePages += nr;
            else g.PresentKernelPages += nr;
        }
    }
}
