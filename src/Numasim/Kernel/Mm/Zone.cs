using System.Runtime.CompilerServices;
using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>lowmem_reserve[MAX_NR_ZONES].</summary>
[InlineArray(ZoneTypes.MaxNrZones)]
internal struct LowmemReserves
{
    private long _e;
}

/// <summary>A zone's counters as a record of the compact state (struct zone's fields the model keeps).</summary>
internal struct ZoneRecord
{
    public long ZoneStartPfn, SpannedPages, PresentPages, ManagedPages, PresentEarlyPages;
    public long WatermarkMin, WatermarkLow, WatermarkHigh, WatermarkPromo;
    public LowmemReserves LowmemReserve;
    public NumaStat Numa;
}

/// <summary>
/// struct zone, include/linux/mmzone.h: span, present and managed page counts, watermarks and lowmem
/// reserves; the free pages themselves live in <see cref="ZonePageAllocator"/>. The object is structure (made once
/// with its pgdat, shared by every state); its values are a record of the pgdat's zone region.
/// </summary>
public sealed class Zone
{
    private readonly StateArray<ZoneRecord> _recs;
    private readonly int _i;

    internal Zone(PgData pgdat, ZoneType type)
    {
        PgData = pgdat;
        Type = type;
        _recs = pgdat.ZoneRecords;
        _i = (int)type;
        Id = pgdat.NodeId * ZoneTypes.MaxNrZones + (int)type;
        Pages = new ZonePageAllocator(0, 0, pgdat.Kernel.State, $"zone {pgdat.NodeId}/{type.Name()}", Id);
    }

    public PgData PgData { get; }
    public ZoneType Type { get; }
    public int NodeId => PgData.NodeId;
    public string Name => Type.Name();

    /// <summary>node * MAX_NR_ZONES + zone type: how zonelists and the fingerprint name a zone.</summary>
    public int Id { get; }

    private ref readonly ZoneRecord R => ref _recs[_i];
    private ref ZoneRecord M => ref _recs.Mut(_i);
    private StateStore State => PgData.Kernel.State;

    /// <summary>zone_start_pfn and spanned_pages, observed by the fingerprint (the zone-span invariant reads them).</summary>
    public long ZoneStartPfn { get => R.ZoneStartPfn; internal set => SetSpan(FieldKind.ZoneStart, ref M.ZoneStartPfn, value); }
    public long SpannedPages { get => R.SpannedPages; internal set => SetSpan(FieldKind.ZoneSpanned, ref M.SpannedPages, value); }

    private void SetSpan(FieldKind kind, ref long field, long value)
    {
        State.Observe(Zobrist.Key(kind, Id), (ulong)field, (ulong)value);
        field = value;
    }

    public long PresentPages
    {
        get => R.PresentPages;
        internal set
        {
            State.Observe(Zobrist.Key(FieldKind.ZonePresent, Id), (ulong)R.PresentPages, (ulong)value);
            M.PresentPages = value;
        }
    }

    public long ManagedPages
    {
        get => R.ManagedPages;
        internal set
        {
            State.Observe(Zobrist.Key(FieldKind.ZoneManaged, Id), (ulong)R.ManagedPages, (ulong)value);
            M.ManagedPages = value;
        }
    }

    /// <summary>present_early_pages: present pages of early (boot) sections, which the auto-movable online policy
    /// counts as KERNEL_EARLY (6.1 zoneinfo does not print it).</summary>
    public long PresentEarlyPages { get => R.PresentEarlyPages; internal set => M.PresentEarlyPages = value; }

    public long ZoneEndPfn => ZoneStartPfn + SpannedPages;

    /// <summary>_watermark[WMARK_MIN..HIGH] plus watermark_boost.</summary>
    public long WatermarkMin { get => R.WatermarkMin; internal set => M.WatermarkMin = value; }
    public long WatermarkLow { get => R.WatermarkLow; internal set => M.WatermarkLow = value; }
    public long WatermarkHigh { get => R.WatermarkHigh; internal set => M.WatermarkHigh = value; }
    public long WatermarkPromo { get => R.WatermarkPromo; internal set => M.WatermarkPromo = value; }

    /// <summary>lowmem_reserve[MAX_NR_ZONES]: pages kept back from allocations that could use a higher zone.</summary>
    public ReadOnlySpan<long> LowmemReserve => R.LowmemReserve;

    /// <summary>Sets lowmem_reserve[] (setup_per_zone_lowmem_reserve()).</summary>
    internal void SetLowmemReserve(ReadOnlySpan<long> reserve)
    {
        if (reserve.SequenceEqual(R.LowmemReserve)) return;
        reserve.CopyTo(M.LowmemReserve);
    }

    /// <summary>The zone's NUMA_HIT/MISS/FOREIGN/LOCAL/OTHER counters (per_cpu_zonestats folded).</summary>
    public NumaStat Numa => R.Numa;

    /// <summary>The counters for writing (zone_statistics()).</summary>
    internal ref NumaStat NumaMut => ref M.Numa;

    /// <summary>NR_FREE_PAGES: pages in the buddy free lists.</summary>
    public long FreePages => Pages.FreePages;

    /// <summary>The zone's buddy free areas, pcp lists and allocated-page tracking (its state in the machine's
    /// compact state; empty regions cost nothing to save).</summary>
    public ZonePageAllocator Pages { get; }

    /// <summary>free_area[order].nr_free: free blocks of that order (what /proc/buddyinfo prints).</summary>
    public long NrFree(int order) => Pages.NrFree(order);

    /// <summary>Hands [start, end) to the buddy (__free_pages_core()); the zone span must already cover it. With
    /// <paramref name="initPageblocks"/>, the range's pageblocks start MIGRATE_MOVABLE again, as memmap_init_range()
    /// and undo_isolate_page_range() leave them when online_pages() brings memory back.</summary>
    internal void ReleaseRange(long start, long end, bool initPageblocks = false)
    {
        if (Pages.ZoneStartPfn != ZoneStartPfn || Pages.SpannedPages != SpannedPages)
        {
            if (Pages.ManagedPages == 0 && Pages.AllocatedPages == 0) Pages.Reset(ZoneStartPfn, SpannedPages);
            else Pages.Resize(ZoneStartPfn, SpannedPages);
        }
        if (initPageblocks) Pages.SetPageblockMigratetype(start, end, MigrateType.Movable);
        Pages.OnlineRange(start, end - start);
    }

    /// <summary>Models populated_zone(): present pages exist.</summary>
    public bool IsPopulated => PresentPages > 0;

    /// <summary>Models managed_zone(): the buddy allocator manages pages here.</summary>
    public bool IsManaged => ManagedPages > 0;

    /// <summary>The test build_zonerefs_node() makes of a zone: populated_zone(), managed_zone() before e553f62f10d9.</summary>
    public bool InZonelists(Profiles.KernelProfile p) => p.ZonerefsOfPopulatedZones ? IsPopulated : IsManaged;

    /// <summary>Models zone_spans_pfn().</summary>
    public bool SpansPfn(long pfn) => pfn >= ZoneStartPfn && pfn < ZoneEndPfn;

    /// <summary>Models zone_is_empty().</summary>
    public bool IsEmpty => SpannedPages == 0;

    public override string ToString() => $"Node {NodeId} {Name}";
}
