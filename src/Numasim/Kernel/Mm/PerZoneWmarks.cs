using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Mm;

/// <summary>init_per_zone_wmark_min() and khugepaged's set_recommended_min_free_kbytes(): recompute
/// min_free_kbytes, every zone's watermarks, lowmem reserves and pcp sizes after boot and memory hotplug.</summary>
internal static class PerZoneWmarks
{
    // Scratch of one recomputation (memory hotplug runs on one thread per machine; the checker's workers each
    // have their own machine): no allocation per on/offline.
    [ThreadStatic] private static ZoneReserveInput[]? t_inputs;

    private static Span<ZoneReserveInput> Inputs(ReadOnlySpan<Zone> zones, bool withHigh)
    {
        if (t_inputs is null || t_inputs.Length < zones.Length) t_inputs = new ZoneReserveInput[Math.Max(16, zones.Length)];
        var s = t_inputs.AsSpan(0, zones.Length);
        for (int i = 0; i < zones.Length; i++)
            s[i] = new ZoneReserveInput((int)zones[i].Type, zones[i].ManagedPages, withHigh ? zones[i].WatermarkHigh : 0);
        return s;
    }

    /// <summary>Models init_per_zone_wmark_min() followed by khugepaged_min_free_kbytes_update(), which does something
    /// only once khugepaged runs (not at the boot's postcore call: <see cref="StartKhugepaged"/> comes later).</summary>
    public static void InitPerZoneWmarkMin(KernelContext k)
    {
        var zones = k.ZoneSpan;
        k.MinFreeKbytes = Watermarks.CalculateMinFreeKbytes(NrFreeBufferPages(zones), k.UserMinFreeKbytes, k.MinFreeKbytes);
        Setup(k, zones);
        if (k.KhugepagedRunning) SetRecommendedMinFreeKbytes(k, zones);
    }

    /// <summary>Models hugepage_init() (a subsys_initcall after hugetlb_init() in mm/'s link order): "disable
    /// transparent hugepages on smaller systems" (below 512 MiB of totalram_pages() khugepaged is not started), else
    /// start_stop_khugepaged(): set_recommended_min_free_kbytes() and setup_per_zone_wmarks() on the managed pages of
    /// that moment, which include the gigantic pages hugetlb_init() gave back (adjust_managed_page_count()).</summary>
    public static void StartKhugepaged(KernelContext k)
    {
        k.KhugepagedRunning = k.Profile.TransparentHugepage && k.TotalRamPages >= (512L << 20) / Page.Size;
        if (k.KhugepagedRunning) SetRecommendedMinFreeKbytes(k, k.ZoneSpan, managedChanged: true);
    }

    /// <summary>Models set_recommended_min_free_kbytes(), mm/khugepaged.c: room for two free pageblocks per
    /// populated zone up to ZONE_NORMAL, plus MIGRATE_PCPTYPES² more, capped at 5% of lowmem.</summary>
    private static void SetRecommendedMinFreeKbytes(KernelContext k, ReadOnlySpan<Zone> zones, bool managedChanged = false)
    {
        int nrZones = 0;
        for (int i = 0; i < zones.Length; i++)
            if (zones[i].IsPopulated && zones[i].Type <= ZoneType.Normal) nrZones++;
        long recommended = Page.PageblockNrPages * nrZones * 2 + Page.PageblockNrPages * nrZones * 3 * 3;
        recommended = Math.Min(recommended, NrFreeBufferPages(zones) / 20);
        recommended <<= Page.Shift - 10;
        // The kernel calls setup_per_zone_wmarks() either way; Setup is a function of min_free_kbytes, the zones'
        // managed pages and the CPUs, and it overwrites everything it writes, so run again on the inputs the first
        // call just used it would write the same values: only a raised min_free_kbytes, or inputs changed since that
        // call (the boot's, after smp_init() and hugetlb_init()), need it.
        bool raised = recommended > k.MinFreeKbytes;
        if (raised) k.MinFreeKbytes = (int)recommended;
        if (raised || managedChanged) Setup(k, zones);
    }

    /// <summary>nr_free_buffer_pages() over the zones as they are now (managed pages above the high watermark).</summary>
    private static long NrFreeBufferPages(ReadOnlySpan<Zone> zones) => Watermarks.NrFreeBufferPages(Inputs(zones, withHigh: true));

    private static long Max(ReadOnlySpan<long> v)
    {
        long m = long.MinValue;
        foreach (var x in v) m = Math.Max(m, x);
        return m;
    }

    /// <summary>Models setup_per_zone_wmarks(), setup_per_zone_lowmem_reserve() and the pcp high/batch update.</summary>
    private static void Setup(KernelContext k, ReadOnlySpan<Zone> zones)
    {
        var marks = Watermarks.SetupPerZoneWmarks(k.MinFreeKbytes, Inputs(zones, withHigh: false), movableLikeHighmem: k.Profile.MovableWatermarksLikeHighmem);
        for (int i = 0; i < zones.Length; i++)
        {
            var z = zones[i];
            // for_each_zone() walks the online pgdats only: an offline node's zones keep what they had (0 for a node
            // never online), which shows once the node comes online without a recomputation (6.12's Movable cap)
            if (!k.NodeStates.Has(z.NodeId, NodeState.Online)) continue;
            z.WatermarkMin = marks[i].Min;
            z.WatermarkLow = marks[i].Low;
            z.WatermarkHigh = marks[i].High;
            z.WatermarkPromo = marks[i].Promo;
        }
        Span<long> managed = stackalloc long[ZoneTypes.MaxNrZones];
        Span<long> reserve = stackalloc long[ZoneTypes.MaxNrZones * ZoneTypes.MaxNrZones];
        foreach (var p in k.PgDataSpan)
        {
            for (int i = 0; i < p.Zones.Length; i++) managed[i] = p.Zones[i].ManagedPages;
            Watermarks.SetupPerZoneLowmemReserve(managed, reserve);
            for (int i = 0; i < p.Zones.Length; i++)
                p.Zones[i].SetLowmemReserve(reserve.Slice(i * ZoneTypes.MaxNrZones, ZoneTypes.MaxNrZones));
        }
        int online = k.Cpus.Online.Weight();
        for (int i = 0; i < zones.Length; i++)
        {
            var z = zones[i];
            int cpusOnNode = k.Cpus.CpumaskOfNode(z.NodeId).Weight();
            z.Pages.UpdatePcpHighAndBatch(z.WatermarkLow, cpusOnNode, 0, online);
        }
        // calculate_totalreserve_pages(): per zone, its largest lowmem reserve plus its high watermark.
        long total = 0;
        for (int i = 0; i < zones.Length; i++)
        {
            var z = zones[i];
            long max = Max(z.LowmemReserve) + z.WatermarkHigh;
            if (max > z.ManagedPages) max = z.ManagedPages;
            total += max;
        }
        k.TotalReservePages = total;
    }
}
