namespace Numasim.Kernel.Mm;

/// <summary>
/// struct zone, include/linux/mmzone.h: span, present and managed page counts, watermarks and lowmem
/// reserves; the free pages themselves live in <see cref="ZoneFreePages"/>.
/// </summary>
public sealed class Zone
{
    public Zone(PgData pgdat, ZoneType type)
    {
        PgData = pgdat;
        Type = type;
    }

    public PgData PgData { get; }
    public ZoneType Type { get; }
    public int NodeId => PgData.NodeId;
    public string Name => Type.Name();

    public long ZoneStartPfn { get; internal set; }
    public long SpannedPages { get; internal set; }
    public long PresentPages { get; internal set; }
    public long ManagedPages { get; internal set; }
    /// <summary>present_early_pages: present pages of early (boot) sections, which the auto-movable online policy
    /// counts as KERNEL_EARLY (6.1 zoneinfo does not print it).</summary>
    public long PresentEarlyPages { get; internal set; }

    public long ZoneEndPfn => ZoneStartPfn + SpannedPages;

    /// <summary>_watermark[WMARK_MIN..HIGH] plus watermark_boost.</summary>
    public long WatermarkMin { get; internal set; }
    public long WatermarkLow { get; internal set; }
    public long WatermarkHigh { get; internal set; }
    public long WatermarkPromo { get; internal set; }

    /// <summary>lowmem_reserve[MAX_NR_ZONES]: pages kept back from allocations that could use a higher zone.</summary>
    public long[] LowmemReserve { get; } = new long[ZoneTypes.MaxNrZones];

    /// <summary>The zone's NUMA_HIT/MISS/FOREIGN/LOCAL/OTHER counters (per_cpu_zonestats folded).</summary>
    public NumaStat Numa { get; } = new();

    /// <summary>NR_FREE_PAGES: pages in the buddy free lists.</summary>
    public long FreePages => Pages.FreePages;

    private ZonePageAllocator? _pages;

    /// <summary>The zone's buddy free areas, pcp lists and allocated-page tracking (made on first use: most zones
    /// of a big machine are never populated, and an empty allocator still costs kilobytes).</summary>
    public ZonePageAllocator Pages
    {
        get => _pages ??= new(0, 0);
        private set => _pages = value;
    }

    /// <summary>free_area[order].nr_free: free blocks of that order (what /proc/buddyinfo prints).</summary>
    public long NrFree(int order) => Pages.NrFree(order);

    /// <summary>Hands [start, end) to the buddy (__free_pages_core()); the zone span must already cover it. With
    /// <paramref name="initPageblocks"/>, the range's pageblocks start MIGRATE_MOVABLE again, as memmap_init_range()
    /// and undo_isolate_page_range() leave them when online_pages() brings memory back.</summary>
    internal void ReleaseRange(long start, long end, bool initPageblocks = false)
    {
        if (Pages.ZoneStartPfn != ZoneStartPfn || Pages.SpannedPages != SpannedPages)
        {
            if (Pages.ManagedPages == 0 && Pages.AllocatedPages == 0) Pages = new ZonePageAllocator(ZoneStartPfn, SpannedPages);
            else Pages.Resize(ZoneStartPfn, SpannedPages);
        }
        if (initPageblocks) Pages.SetPageblockMigratetype(start, end, MigrateType.Movable);
        Pages.OnlineRange(start, end - start);
    }

    /// <summary>Models populated_zone(): present pages exist.</summary>
    public bool IsPopulated => PresentPages > 0;

    /// <summary>Models managed_zone(): the buddy allocator manages pages here.</summary>
    public bool IsManaged => ManagedPages > 0;

    /// <summary>Models zone_spans_pfn().</summary>
    public bool SpansPfn(long pfn) => pfn >= ZoneStartPfn && pfn < ZoneEndPfn;

    /// <summary>Models zone_is_empty().</summary>
    public bool IsEmpty => SpannedPages == 0;

    public override string ToString() => $"Node {NodeId} {Name}";
}
