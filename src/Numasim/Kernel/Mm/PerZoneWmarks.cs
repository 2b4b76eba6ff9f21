using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Mm;

/// <summary>init_per_zone_wmark_min() and khugepaged's set_recommended_min_free_kbytes(): recompute
/// min_free_kbytes, every zone's watermarks, lowmem reserves and pcp sizes after boot and memory hotplug.</summary>
internal static class PerZoneWmarks
{
    /// <summary>Models hugepage_init()'s "disable transparent hugepages on smaller systems": below 512 MiB of
    /// totalram_pages() the flags are cleared and khugepaged is not started.</summary>
    public static void HugepageInit(KernelContext k) => k.ThpEnabled = k.TotalRamPages >= (512L << 20) / Page.Size;

    /// <summary>Models init_per_zone_wmark_min() followed by khugepaged_min_free_kbytes_update().</summary>
    public static void InitPerZoneWmarkMin(KernelContext k)
    {
        var zones = k.AllZones().ToList();
        k.MinFreeKbytes = Watermarks.CalculateMinFreeKbytes(NrFreeBufferPages(zones), k.UserMinFreeKbytes, k.MinFreeKbytes);
        Setup(k, zones);
        if (k.Profile.TransparentHugepage && k.ThpEnabled) SetRecommendedMinFreeKbytes(k, zones);
    }

    /// <summary>Models set_recommended_min_free_kbytes(), mm/khugepaged.c: room for two free pageblocks per
    /// populated zone up to ZONE_NORMAL, plus MIGRATE_PCPTYPES² more, capped at 5% of lowmem.</summary>
    private static void SetRecommendedMinFreeKbytes(KernelContext k, List<Zone> zones)
    {
        int nrZones = zones.Count(z => z.IsPopulated && z.Type <= ZoneType.Normal);
        long recommended = Page.PageblockNrPages * nrZones * 2 + Page.PageblockNrPages * nrZones * 3 * 3;
        recommended = Math.Min(recommended, NrFreeBufferPages(zones) / 20);
        recommended <<= Page.Shift - 10;
        if (recommended > k.MinFreeKbytes)
        {
            k.MinFreeKbytes = (int)recommended;
        }
        Setup(k, zones);
    }

    /// <summary>nr_free_buffer_pages() over the zones as they are now (managed pages above the high watermark).</summary>
    private static long NrFreeBufferPages(List<Zone> zones) =>
        Watermarks.NrFreeBufferPages(zones.Select(z => new ZoneReserveInput((int)z.Type, z.ManagedPages, z.WatermarkHigh)));

    /// <summary>Models setup_per_zone_wmarks(), setup_per_zone_lowmem_reserve() and the pcp high/batch update.</summary>
    private static void Setup(KernelContext k, List<Zone> zones)
    {
        var inputs = zones.Select(z => new ZoneReserveInput((int)z.Type, z.ManagedPages)).ToList();
        var marks = Watermarks.SetupPerZoneWmarks(k.MinFreeKbytes, inputs, movableLikeHighmem: k.Profile.MovableWatermarksLikeHighmem);
        for (int i = 0; i < zones.Count; i++)
        {
            var z = zones[i];
            z.WatermarkMin = marks[i].Min;
            z.WatermarkLow = marks[i].Low;
            z.WatermarkHigh = marks[i].High;
            z.WatermarkPromo = marks[i].Promo;
        }
        foreach (var p in k.AllPgData())
        {
            var reserve = Watermarks.SetupPerZoneLowmemReserve(p.Zones.Select(z => z.ManagedPages).ToList());
            for (int i = 0; i < p.Zones.Length; i++)
                Array.Copy(reserve[i], p.Zones[i].LowmemReserve, ZoneTypes.MaxNrZones);
        }
        int online = k.Cpus.Online.Weight();
        foreach (var z in zones)
        {
            int cpusOnNode = k.Cpus.CpumaskOfNode(z.NodeId).Weight();
            z.Pages.UpdatePcpHighAndBatch(z.WatermarkLow, cpusOnNode, 0, online);
        }
        // calculate_totalreserve_pages(): per zone, its largest lowmem reserve plus its high watermark.
        long total = 0;
        foreach (var z in zones)
        {
            long max = z.LowmemReserve.Max() + z.WatermarkHigh;
            if (max > z.ManagedPages) max = z.ManagedPages;
            total += max;
        }
        k.TotalReservePages = total;
    }
}
