using Numasim.Kernel.Arch;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Mm;

/// <summary>Where ZONE_MOVABLE starts on each node at boot: zone_movable_pfn[] and movable_zone, as
/// find_zone_movable_pfns_for_nodes() left them.</summary>
internal sealed class ZoneMovableLayout
{
    /// <summary>zone_movable_pfn[nid]; 0 where the node has no ZONE_MOVABLE.</summary>
    public Dictionary<int, long> StartPfn { get; } = [];

    /// <summary>movable_zone: the highest zone below ZONE_MOVABLE the architecture populates (find_usable_zone_for_movable()).</summary>
    public ZoneType MovableZone { get; init; }

    /// <summary>kernelcore=mirror was in effect (mirrored_kernelcore): ZONE_MOVABLE may overlap the kernel zone.</summary>
    public bool Mirrored { get; init; }

    public long Of(int nid) => StartPfn.GetValueOrDefault(nid);
}

/// <summary>ZONE_MOVABLE at boot from movable_node, kernelcore= (sizes, percentages, mirror) and movablecore=:
/// find_zone_movable_pfns_for_nodes() and adjust_zone_range_for_zone_movable(), mm/page_alloc.c (v6.1),
/// mm/mm_init.c (v6.12).</summary>
internal static class ZoneMovable
{
    /// <summary>MAX_ORDER_NR_PAGES: ZONE_MOVABLE starts on a max-order boundary.</summary>
    private const long MaxOrderNrPages = 1L << 10;

    /// <summary>Models find_zone_movable_pfns_for_nodes(): with movable_node, the hotpluggable memblock ranges
    /// (none on QEMU's pc: its boot RAM is not hotpluggable); with kernelcore=mirror, every range of memory that
    /// is not mirrored from 4 GiB (v6.1; v6.12 ignores it without mirrored memory); otherwise kernelcore memory
    /// spread evenly over the nodes with memory from the lowest pfn of movable_zone up, the rest of each node
    /// becoming ZONE_MOVABLE.</summary>
    public static ZoneMovableLayout Find(KernelContext k, long[] zoneLow, long[] zoneHigh)
    {
        var boot = k.Boot;
        var movableZone = FindUsableZoneForMovable(zoneLow, zoneHigh);
        var layout = new ZoneMovableLayout { MovableZone = movableZone, Mirrored = boot.MirroredKernelcore };
        var zmp = layout.StartPfn;
        var memory = k.Memblock.Memory;
        long totalpages = 0;
        var memoryNodes = new SortedSet<int>();   // early_calculate_totalpages() sets N_MEMORY for nodes with pages
        foreach (var r in memory)
        {
            totalpages += r.Count;
            if (r.Count > 0) memoryNodes.Add(r.Nid);
        }
        int usableNodes = memoryNodes.Count;

        if (boot.MovableNode)
            return Align(k, layout);   // no memblock range is hotpluggable here: no ZONE_MOVABLE
        if (boot.MirroredKernelcore)
        {
            if (k.Profile.KernelcoreMirrorNeedsMirrorMemory)
            {
                k.Log.Printk("The system has no mirror memory, ignore kernelcore=mirror.");
                return layout;
            }
            bool below4GNotMirrored = false;
            foreach (var r in memory)
            {
                if (r.Start < ZoneTypes.MaxDma32Pfn) { below4GNotMirrored = true; continue; }
                zmp[r.Nid] = zmp.TryGetValue(r.Nid, out var cur) && cur != 0 ? Math.Min(cur, r.Start) : r.Start;
            }
            if (below4GNotMirrored) k.Log.Printk("This configuration results in unmirrored kernel memory.");
            return Align(k, layout);
        }

        long requiredKernelcore = boot.RequiredKernelcore, requiredMovablecore = boot.RequiredMovablecore;
        if (boot.RequiredKernelcorePercent != 0) requiredKernelcore = totalpages * 100 * boot.RequiredKernelcorePercent / 10000;
        if (boot.RequiredMovablecorePercent != 0) requiredMovablecore = totalpages * 100 * boot.RequiredMovablecorePercent / 10000;
        if (requiredMovablecore != 0)
        {
            requiredMovablecore = (requiredMovablecore + MaxOrderNrPages - 1) / MaxOrderNrPages * MaxOrderNrPages;
            requiredMovablecore = Math.Min(totalpages, requiredMovablecore);
            requiredKernelcore = Math.Max(requiredKernelcore, totalpages - requiredMovablecore);
        }
        if (requiredKernelcore == 0 || requiredKernelcore >= totalpages) return layout;

        long usableStartPfn = zoneLow[(int)movableZone];
        while (true)
        {
            // Spread kernelcore memory as evenly as possible throughout nodes.
            long kernelcoreNode = requiredKernelcore / usableNodes;
            foreach (int nid in memoryNodes)
            {
                if (requiredKernelcore < kernelcoreNode) kernelcoreNode = requiredKernelcore / usableNodes;
                long remaining = kernelcoreNode;
                foreach (var r in memory)
                {
                    if (r.Nid != nid) continue;
                    long start = Math.Max(r.Start, zmp.GetValueOrDefault(nid)), end = r.End;
                    if (start >= end) continue;
                    if (start < usableStartPfn)
                    {
                        long kernelPages = Math.Min(end, usableStartPfn) - start;
                        remaining -= Math.Min(kernelPages, remaining);
                        requiredKernelcore -= Math.Min(kernelPages, requiredKernelcore);
                        if (end <= usableStartPfn)
                        {
                            zmp[nid] = end;
                            continue;
                        }
                        start = usableStartPfn;
                    }
                    long sizePages = Math.Min(end - start, remaining);
                    zmp[nid] = start + sizePages;
                    requiredKernelcore -= Math.Min(requiredKernelcore, sizePages);
                    remaining -= sizePages;
                    if (remaining == 0) break;
                }
            }
            usableNodes--;
            if (usableNodes == 0 || requiredKernelcore <= usableNodes) break;
        }
        return Align(k, layout);
    }

    /// <summary>The "out2:" part: every start rounded up to MAX_ORDER_NR_PAGES, and dropped when it lies at or beyond
    /// the node's end (get_pfn_range_for_nid()).</summary>
    private static ZoneMovableLayout Align(KernelContext k, ZoneMovableLayout layout)
    {
        foreach (var nid in layout.StartPfn.Keys.ToList())
        {
            long pfn = (layout.StartPfn[nid] + MaxOrderNrPages - 1) / MaxOrderNrPages * MaxOrderNrPages;
            long end = 0;
            foreach (var r in k.Memblock.Memory)
                if (r.Nid == nid) end = Math.Max(end, r.End);
            if (pfn >= end) layout.StartPfn.Remove(nid);
            else layout.StartPfn[nid] = pfn;
        }
        foreach (var nid in layout.StartPfn.Where(kv => kv.Value == 0).Select(kv => kv.Key).ToList()) layout.StartPfn.Remove(nid);
        return layout;
    }

    /// <summary>Models find_usable_zone_for_movable(): the highest zone other than ZONE_MOVABLE with a pfn range.</summary>
    private static ZoneType FindUsableZoneForMovable(long[] zoneLow, long[] zoneHigh)
    {
        for (int i = (int)ZoneType.Normal; i >= 0; i--)
            if (zoneHigh[i] > zoneLow[i]) return (ZoneType)i;
        return ZoneType.Dma;
    }

    /// <summary>free_area_init()'s "Movable zone start for each node" lines.</summary>
    public static void Print(KernelContext k, ZoneMovableLayout layout)
    {
        k.Log.Printk("Movable zone start for each node");
        foreach (var (nid, pfn) in layout.StartPfn.OrderBy(kv => kv.Key))
            k.Log.Printk($"  Node {nid}: {X86Numa.Hex018(Page.AddrOf(pfn))}");
    }

    /// <summary>Models adjust_zone_range_for_zone_movable(): ZONE_MOVABLE spans from zone_movable_pfn to the end of
    /// movable_zone on the node; a kernel zone crossing it ends there (not under kernelcore=mirror, where zones
    /// overlap and absent pages sort them out); one wholly above it is empty.</summary>
    public static void AdjustZoneRange(ZoneMovableLayout layout, int nid, ZoneType type, long nodeEnd, long[] zoneHigh, ref long zs, ref long ze)
    {
        long zmp = layout.Of(nid);
        if (zmp == 0) return;
        if (type == ZoneType.Movable)
        {
            zs = zmp;
            ze = Math.Min(nodeEnd, zoneHigh[(int)layout.MovableZone]);
        }
        else if (!layout.Mirrored && zs < zmp && ze > zmp) ze = zmp;
        else if (zs >= zmp) zs = ze;
    }

    /// <summary>The kernelcore=mirror part of zone_absent_pages_in_node(): without mirrored memory, ZONE_NORMAL's
    /// pages that ZONE_MOVABLE covers are absent from it (ZONE_MOVABLE's mirrored pages would be absent from it).</summary>
    public static long MirrorAbsent(KernelContext k, ZoneMovableLayout layout, int nid, ZoneType type, long zs, long ze)
    {
        if (!layout.Mirrored || layout.Of(nid) == 0 || type != ZoneType.Normal) return 0;
        long absent = 0;
        foreach (var r in k.Memblock.Memory)
        {
            long s = Math.Clamp(r.Start, zs, ze), e = Math.Clamp(r.End, zs, ze);
            absent += e - s;
        }
        return absent;
    }
}
