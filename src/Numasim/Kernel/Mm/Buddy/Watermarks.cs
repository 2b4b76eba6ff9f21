namespace Numasim.Kernel.Mm;

/// <summary>What the reserve calculations need to know of one zone: its index in the node (0 DMA, 1 DMA32,
/// 2 Normal, 3 Movable, 4 Device on x86_64), managed pages, and, for nr_free_buffer_pages(), its high watermark.</summary>
public readonly record struct ZoneReserveInput(int ZoneIndex, long ManagedPages, long HighWatermark = 0);

/// <summary>zone->_watermark[]: WMARK_MIN, WMARK_LOW, WMARK_HIGH, WMARK_PROMO, in pages.</summary>
public readonly record struct ZoneWatermarks(long Min, long Low, long High, long Promo);

/// <summary>Pure functions for watermarks, lowmem reserves and pcp sizing of mm/page_alloc.c (v6.1).</summary>
public static class Watermarks
{
    public const int ZoneDma = 0, ZoneDma32 = 1, ZoneNormal = 2, ZoneMovable = 3, ZoneDevice = 4;

    /// <summary>sysctl_lowmem_reserve_ratio[] defaults, mm/page_alloc.c: DMA 256, DMA32 256, Normal 32, Movable 0
    /// (Device not listed, so 0).</summary>
    public static readonly int[] DefaultLowmemReserveRatio = [256, 256, 32, 0, 0];

    /// <summary>watermark_scale_factor default.</summary>
    public const int DefaultWatermarkScaleFactor = 10;

    /// <summary>Models int_sqrt(), lib/math/int_sqrt.c (floor of the square root).</summary>
    public static long IntSqrt(long x)
    {
        if (x < 2) return x;
        long r = (long)Math.Sqrt(x);
        while (r * r > x) r--;
        while ((r + 1) * (r + 1) <= x) r++;
        return r;
    }

    /// <summary>Models mult_frac(), include/linux/math.h.</summary>
    public static long MultFrac(long x, long numer, long denom)
    {
        long q = x / denom, r = x % denom;
        return q * numer + r * numer / denom;
    }

    /// <summary>Models nr_free_zone_pages(gfp_zone(GFP_USER)) = nr_free_buffer_pages(), mm/page_alloc.c: managed pages
    /// above the high watermark of every zone up to ZONE_NORMAL, over all nodes.</summary>
    public static long NrFreeBufferPages(IEnumerable<ZoneReserveInput> zones)
    {
        long sum = 0;
        foreach (var z in zones)
            if (z.ZoneIndex <= ZoneNormal && z.ManagedPages > z.HighWatermark) sum += z.ManagedPages - z.HighWatermark;
        return sum;
    }

    /// <summary>NrFreeBufferPages over a span (no enumerator).</summary>
    public static long NrFreeBufferPages(ReadOnlySpan<ZoneReserveInput> zones)
    {
        long sum = 0;
        foreach (var z in zones)
            if (z.ZoneIndex <= ZoneNormal && z.ManagedPages > z.HighWatermark) sum += z.ManagedPages - z.HighWatermark;
        return sum;
    }

    /// <summary>Models calculate_min_free_kbytes(), mm/page_alloc.c: sqrt(lowmem_kbytes * 16) clamped to
    /// [128, 262144]; a user value that is at least as large is kept.</summary>
    public static int CalculateMinFreeKbytes(long nrFreeBufferPages, int userMinFreeKbytes = -1, int currentMinFreeKbytes = 1024)
    {
        long lowmemKbytes = nrFreeBufferPages * (4096 >> 10);
        long n = IntSqrt(lowmemKbytes * 16);
        if (n > userMinFreeKbytes) return (int)Math.Clamp(n, 128, 262144);
        return currentMinFreeKbytes;
    }

    /// <summary>Models __setup_per_zone_wmarks(), mm/page_alloc.c, over every zone of every node (x86_64 has no
    /// highmem). With <paramref name="movableLikeHighmem"/> (v6.4+), ZONE_MOVABLE (index 3) is left out of
    /// lowmem_pages and its min watermark is capped like highmem's: managed/1024 clamped to [SWAP_CLUSTER_MAX, 128].
    /// Result i belongs to zones[i].</summary>
    public static ZoneWatermarks[] SetupPerZoneWmarks(int minFreeKbytes, IReadOnlyList<ZoneReserveInput> zones,
        int watermarkScaleFactor = DefaultWatermarkScaleFactor, bool movableLikeHighmem = false) =>
        SetupPerZoneWmarks(minFreeKbytes, zones.ToArray().AsSpan(), watermarkScaleFactor, movableLikeHighmem).ToArray();

    [ThreadStatic] private static ZoneWatermarks[]? t_marks;

    /// <summary>SetupPerZoneWmarks over a span; the result is valid until the thread's next call.</summary>
    public static ReadOnlySpan<ZoneWatermarks> SetupPerZoneWmarks(int minFreeKbytes, ReadOnlySpan<ZoneReserveInput> zones,
        int watermarkScaleFactor = DefaultWatermarkScaleFactor, bool movableLikeHighmem = false)
    {
        const int ZoneMovable = 3, SwapClusterMax = 32;
        long pagesMin = minFreeKbytes >> (BuddyConstants.PageShift - 10);
        long lowmemPages = 0;
        foreach (ref readonly var z in zones)
            if (!movableLikeHighmem || z.ZoneIndex != ZoneMovable) lowmemPages += z.ManagedPages;
        if (t_marks is null || t_marks.Length < zones.Length) t_marks = new ZoneWatermarks[Math.Max(16, zones.Length)];
        var r = t_marks.AsSpan(0, zones.Length);
        for (int i = 0; i < zones.Length; i++)
        {
            long managed = zones[i].ManagedPages;
            long tmp = lowmemPages == 0 ? 0 : pagesMin * managed / lowmemPages;
            long min = movableLikeHighmem && zones[i].ZoneIndex == ZoneMovable ? Math.Clamp(managed / 1024, SwapClusterMax, 128) : tmp;
            tmp = Math.Max(tmp >> 2, MultFrac(managed, watermarkScaleFactor, 10000));
            long low = min + tmp, high = low + tmp;
            r[i] = new ZoneWatermarks(min, low, high, high + tmp);
        }
        return r;
    }

    /// <summary>Models setup_per_zone_lowmem_reserve(), mm/page_alloc.c, for one node: managedPerZone[j] is the
    /// managed pages of zone index j (length MAX_NR_ZONES). Returns lowmem_reserve[i][j] (/proc/zoneinfo
    /// "protection:" of zone i).</summary>
    public static long[][] SetupPerZoneLowmemReserve(IReadOnlyList<long> managedPerZone, IReadOnlyList<int>? ratio = null)
    {
        int n0 = managedPerZone.Count;
        var flat = new long[n0 * n0];
        SetupPerZoneLowmemReserve(managedPerZone.ToArray(), flat, ratio);
        var res0 = new long[n0][];
        for (int i = 0; i < n0; i++) res0[i] = flat.AsSpan(i * n0, n0).ToArray();
        return res0;
    }

    /// <summary>SetupPerZoneLowmemReserve into a flat n x n span (row i: lowmem_reserve[] of zone i).</summary>
    public static void SetupPerZoneLowmemReserve(ReadOnlySpan<long> managedPerZone, Span<long> res, IReadOnlyList<int>? ratio = null)
    {
        ratio ??= DefaultLowmemReserveRatio;
        int n = managedPerZone.Length;
        res[..(n * n)].Clear();
        for (int i = 0; i < n - 1; i++)
        {
            int rt = ratio[i];
            bool clear = rt == 0 || managedPerZone[i] == 0;
            long managed = 0;
            for (int j = i + 1; j < n; j++)
            {
                managed += managedPerZone[j];
                res[i * n + j] = clear ? 0 : managed / rt;
            }
        }
    }

    /// <summary>Models zone_batchsize(), mm/page_alloc.c (CONFIG_MMU), with zone_set_pageset_high_and_batch()'s
    /// max(1, ...).</summary>
    public static int ZoneBatchsize(long managedPages)
    {
        long batch = Math.Min(managedPages >> 10, (1L << 20) / 4096);
        batch /= 4;
        if (batch < 1) batch = 1;
        long x = batch + batch / 2;
        long pow = 1L << (63 - System.Numerics.BitOperations.LeadingZeroCount((ulong)x));
        return (int)Math.Max(1, pow - 1);
    }

    /// <summary>Models zone_highsize(), mm/page_alloc.c: pcp->high from the low watermark (or managed /
    /// percpu_pagelist_high_fraction) split over the node's CPUs (+ cpuOnline during CPU online).</summary>
    public static int ZoneHighsize(long lowWatermark, long managedPages, int batch, int cpusOnNode, int cpuOnline,
        int numOnlineCpus, int percpuPagelistHighFraction = 0)
    {
        long total = percpuPagelistHighFraction == 0 ? lowWatermark : managedPages / percpuPagelistHighFraction;
        int split = cpusOnNode + cpuOnline;
        if (split == 0) split = numOnlineCpus;
        long high = split == 0 ? total : total / split;
        return (int)Math.Max(high, (long)batch << 2);
    }
}
