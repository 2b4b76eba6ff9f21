using System.Globalization;
using Numasim.Kernel.Arch;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Mm;

/// <summary>mm/page_alloc.c (v6.1; mm/mm_init.c later): zone ranges, per-node span/present pages,
/// memoryless pgdats, and the memmap's "unavailable ranges".</summary>
internal static class FreeAreaInit
{
    /// <summary>Models zone_sizes_init() (arch/x86/mm/init.c) → free_area_init(max_zone_pfns).</summary>
    public static void Run(KernelContext k, long dmaReserve)
    {
        using var call = k.Trace.Call("free_area_init", "mm/page_alloc.c");
        long lowest = k.Memblock.Memory.Count > 0 ? k.Memblock.Memory[0].Start : 0;
        var maxZonePfn = new long[ZoneTypes.MaxNrZones];
        maxZonePfn[(int)ZoneType.Dma] = ZoneTypes.MaxDmaPfn;
        maxZonePfn[(int)ZoneType.Dma32] = ZoneTypes.MaxDma32Pfn;
        maxZonePfn[(int)ZoneType.Normal] = k.MaxPfn;

        // arch_zone_lowest/highest_possible_pfn: each zone starts where the one below ends.
        var zoneLow = new long[ZoneTypes.MaxNrZones];
        var zoneHigh = new long[ZoneTypes.MaxNrZones];
        long start = lowest;
        for (int i = 0; i <= (int)ZoneType.Normal; i++)
        {
            long end = Math.Max(start, Math.Min(maxZonePfn[i], k.MaxPfn));
            zoneLow[i] = start;
            zoneHigh[i] = end;
            start = end;
        }

        // find_zone_movable_pfns_for_nodes() runs before the zone ranges are printed.
        var movable = ZoneMovable.Find(k, zoneLow, zoneHigh);
        k.Log.Printk("Zone ranges:");
        for (int i = 0; i < ZoneTypes.MaxNrZones; i++)
        {
            if (i == (int)ZoneType.Movable) continue;
            var name = ((ZoneType)i).Name().PadRight(8);
            k.Log.Printk(zoneLow[i] == zoneHigh[i]
                ? $"  {name} empty"
                : $"  {name} [mem {X86Numa.Hex018(Page.AddrOf(zoneLow[i]))}-{X86Numa.Hex018(Page.AddrOf(zoneHigh[i]) - 1)}]");
        }
        ZoneMovable.Print(k, movable);
        k.Log.Printk("Early memory node ranges");
        foreach (var r in k.Memblock.Memory)
            k.Log.Printk(string.Create(CultureInfo.InvariantCulture,
                $"  node {r.Nid,3}: [mem {X86Numa.Hex018(Page.AddrOf(r.Start))}-{X86Numa.Hex018(Page.AddrOf(r.End) - 1)}]"));

        k.NrKernelPages = k.NrAllPages = 0;
        for (int nid = 0; nid < k.NrNodeIds; nid++)
        {
            if (!k.NodeStates.Has(nid, NodeState.Possible)) continue;
            if (k.Profile.MemorylessPossibleNodesStayOffline && !k.NodeDataPhys.ContainsKey(nid))
            {
                // v6.x: every possible node without memory (with or without CPUs) gets its pgdat here, from any node
                k.Trace.Decide($"node {nid}: possible, no memory: a memoryless pgdat allocated from any node; the node stays offline until hotplug");
                if (k.Profile.PrintsInitializingMemoryless) k.Log.Printk($"Initializing node {nid} as memoryless");
                k.BootReservations.Alloc(k.Profile.MemorylessPgdatCaller, $"pgdat of memoryless node {nid}", k.Profile.Build.PgDataBytes, 64);
                k.AllocPgData(nid);
                k.Log.Printk($"Initmem setup node {nid} as memoryless");
                continue;
            }
            if (!k.NodeStates.Has(nid, NodeState.Online))
            {
                k.Trace.Decide($"node {nid}: possible but offline: a memoryless pgdat, no sysfs node until hotplug");
                k.Log.Printk($"Initializing node {nid} as memoryless");
                k.AllocPgData(nid);
                k.Log.Printk($"Initmem setup node {nid} as memoryless");
                continue;
            }
            var pgdat = k.AllocPgData(nid);
            FreeAreaInitNode(k, pgdat, zoneLow, zoneHigh, movable, nid == FirstNodeWithDma(k) ? dmaReserve : 0);
            if (pgdat.NodePresentPages > 0) k.NodeStates.Set(nid, NodeState.Memory);
            CheckForMemory(k, pgdat);
        }
        MemmapInit(k);
    }

    private static int FirstNodeWithDma(KernelContext k) =>
        k.Memblock.Memory.Count > 0 ? k.Memblock.Memory[0].Nid : 0;

    /// <summary>Models free_area_init_node() with calculate_node_totalpages() and free_area_init_core().</summary>
    private static void FreeAreaInitNode(KernelContext k, PgData pgdat, long[] zoneLow, long[] zoneHigh, ZoneMovableLayout movable, long dmaReserve)
    {
        int nid = pgdat.NodeId;
        long nodeStart = long.MaxValue, nodeEnd = 0;
        foreach (var r in k.Memblock.Memory)
        {
            if (r.Nid != nid) continue;
            nodeStart = Math.Min(nodeStart, r.Start);
            nodeEnd = Math.Max(nodeEnd, r.End);
        }
        if (nodeEnd == 0)
        {
            k.Log.Printk($"Initmem setup node {nid} as memoryless");
            return;
        }
        k.Log.Printk($"Initmem setup node {nid} [mem {X86Numa.Hex018(Page.AddrOf(nodeStart))}-{X86Numa.Hex018(Page.AddrOf(nodeEnd) - 1)}]");

        for (int i = 0; i <= (int)ZoneType.Movable; i++)
        {
            var z = pgdat.Zones[i];
            // zone_spanned_pages_in_node() and zone_absent_pages_in_node(), ZONE_MOVABLE carved out of the node
            long zs = Math.Clamp(nodeStart, zoneLow[i], zoneHigh[i]);
            long ze = Math.Clamp(nodeEnd, zoneLow[i], zoneHigh[i]);
            ZoneMovable.AdjustZoneRange(movable, nid, (ZoneType)i, nodeEnd, zoneHigh, ref zs, ref ze);
            zs = Math.Max(zs, nodeStart);
            ze = Math.Min(ze, nodeEnd);
            if (zs >= ze) { z.ZoneStartPfn = 0; z.SpannedPages = 0; z.PresentPages = 0; continue; }
            pgdat.InitCurrentlyEmptyZone(z, zs, ze - zs);
            z.PresentPages = k.Memblock.PresentIn(zs, ze, nid) - ZoneMovable.MirrorAbsent(k, movable, nid, (ZoneType)i, zs, ze);
            z.PresentEarlyPages = z.PresentPages;
            long freesize = z.PresentPages;
            long memmap = CalcMemmapSize(z.SpannedPages, z.PresentPages);
            if (freesize >= memmap) freesize -= memmap;
            if (i == 0 && freesize > dmaReserve) freesize -= dmaReserve;
            // an estimate until memblock_free_all() counts the real free pages; 6.12's free_area_init_core() takes the
            // present pages as they are (zone_init_internals(zone, j, nid, zone->present_pages))
            z.ManagedPages = k.Profile.ManagedEstimateIsPresentPages ? z.PresentPages : freesize;
            k.NrKernelPages += freesize; // no highmem on x86-64
            k.NrAllPages += freesize;
        }
        pgdat.RecomputeSpan();
    }

    /// <summary>Models calc_memmap_size(): struct page memory for a zone, sparse-aware.</summary>
    private static long CalcMemmapSize(long spanned, long present)
    {
        long pages = spanned > present + (present >> 4) ? present : spanned;
        return (pages * Page.StructPageSize + Page.Size - 1) >> Page.Shift;
    }

    /// <summary>Models check_for_memory(): N_NORMAL_MEMORY when a zone up to ZONE_NORMAL has pages
    /// (N_HIGH_MEMORY is the same mask without CONFIG_HIGHMEM).</summary>
    public static void CheckForMemory(KernelContext k, PgData pgdat)
    {
        for (int i = 0; i <= (int)ZoneType.Normal; i++)
        {
            if (pgdat.Zones[i].PresentPages > 0)
            {
                k.NodeStates.Set(pgdat.NodeId, NodeState.NormalMemory);
                return;
            }
        }
    }

    /// <summary>Models memmap_init()'s init_unavailable_range() reports: holes in populated zones and the tail
    /// of the last memory section.</summary>
    private static void MemmapInit(KernelContext k)
    {
        long holePfn = 0;
        ZoneType lastZone = ZoneType.Dma;
        int lastNid = 0;
        long endPfn = 0;
        foreach (var r in k.Memblock.Memory)
        {
            var pgdat = k.NodeData[r.Nid];
            if (pgdat is null) continue;
            foreach (var z in pgdat.Zones)
            {
                if (!z.IsPopulated) continue;
                long s = Math.Clamp(r.Start, z.ZoneStartPfn, z.ZoneEndPfn);
                long e = Math.Clamp(r.End, z.ZoneStartPfn, z.ZoneEndPfn);
                if (s >= e) continue;
                if (holePfn < s) InitUnavailableRange(k, holePfn, s, z.Type, r.Nid);
                holePfn = e;
                lastZone = z.Type;
            }
            lastNid = r.Nid;
            endPfn = r.End;
        }
        endPfn = (endPfn + Page.PagesPerSection - 1) / Page.PagesPerSection * Page.PagesPerSection;
        if (holePfn < endPfn) InitUnavailableRange(k, holePfn, endPfn, lastZone, lastNid);
    }

    /// <summary>Models init_unavailable_range(): counts the pages of valid (present) sections in the hole.</summary>
    private static void InitUnavailableRange(KernelContext k, long spfn, long epfn, ZoneType zone, int nid)
    {
        long count = 0;
        for (long sec = spfn / Page.PagesPerSection; sec * Page.PagesPerSection < epfn; sec++)
        {
            long ss = sec * Page.PagesPerSection, se = ss + Page.PagesPerSection;
            if (k.Memblock.PresentIn(ss, se) == 0) continue;
            count += Math.Min(se, epfn) - Math.Max(ss, spfn);
        }
        if (count > 0) k.Log.Printk($"On node {nid}, zone {zone.Name()}: {count} pages in unavailable ranges");
    }
}
