namespace Numasim.Kernel.Mm;

/// <summary>
/// pg_data_t (struct pglist_data), include/linux/mmzone.h: one per possible node once allocated, and never
/// freed (the seed's fix relies on that). Holds the node's zones and its two zonelists.
/// </summary>
public sealed class PgData
{
    public PgData(int nid)
    {
        NodeId = nid;
        Zones = new Zone[ZoneTypes.MaxNrZones];
        for (int i = 0; i < Zones.Length; i++) Zones[i] = new Zone(this, (ZoneType)i);
    }

    public int NodeId { get; }
    public Zone[] Zones { get; }

    public long NodeStartPfn { get; internal set; }
    public long NodeSpannedPages { get; internal set; }
    public long NodePresentPages { get; internal set; }
    public long NodeEndPfn => NodeStartPfn + NodeSpannedPages;

    /// <summary>node_zonelists[ZONELIST_FALLBACK]: every populated zone of every node with memory, in fallback order.</summary>
    public Zonelist Fallback { get; internal set; } = Zonelist.Empty;

    /// <summary>node_zonelists[ZONELIST_NOFALLBACK]: this node's own zones, used for __GFP_THISNODE.</summary>
    public Zonelist NoFallback { get; internal set; } = Zonelist.Empty;

    /// <summary>The node order the last build_zonelists() printed.</summary>
    public IReadOnlyList<int> FallbackNodeOrder { get; internal set; } = [];

    /// <summary>kswapd_highest_zoneidx and friends are out of scope; this is the kernel's pgdat->node_present_pages != 0.</summary>
    public bool HasPresentPages => NodePresentPages > 0;

    public Zone Zone(ZoneType t) => Zones[(int)t];

    /// <summary>Recomputes node span and present pages from the zones (as resize_pgdat_range()/zone accounting do).</summary>
    internal void RecomputeSpan()
    {
        long start = long.MaxValue, end = 0, present = 0;
        foreach (var z in Zones)
        {
            present += z.PresentPages;
            if (z.IsEmpty) continue;
            start = Math.Min(start, z.ZoneStartPfn);
            end = Math.Max(end, z.ZoneEndPfn);
        }
        NodePresentPages = present;
        if (end == 0)
        {
            NodeSpannedPages = 0;
            return;
        }
        NodeStartPfn = start;
        NodeSpannedPages = end - start;
    }
}

/// <summary>A zonelist: zones in the order the allocator tries them (struct zonelist of zoneref entries).</summary>
public sealed class Zonelist
{
    public static readonly Zonelist Empty = new([]);

    public Zonelist(IReadOnlyList<Zone> zones) => Zones = zones;

    public IReadOnlyList<Zone> Zones { get; }

    /// <summary>Models for_each_zone_zonelist(): zones whose index is at most <paramref name="highestZoneIdx"/>.</summary>
    public IEnumerable<Zone> Eligible(ZoneType highestZoneIdx)
    {
        foreach (var z in Zones)
            if (z.Type <= highestZoneIdx) yield return z;
    }
}
