using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>
/// pg_data_t (struct pglist_data), include/linux/mmzone.h: one per possible node once allocated, and never
/// freed (the seed's fix relies on that). Holds the node's zones and its two zonelists. The node's and its zones'
/// counters are records of the compact state, the zonelists arrays of zone ids (docs/checker.md).
/// </summary>
public sealed class PgData
{
    private struct NodeRecord
    {
        public long NodeStartPfn, NodeSpannedPages, NodePresentPages;
        public int NrZones, InitializedZones;
    }

    private readonly StateArray<NodeRecord> _node;
    private readonly StateArray<int> _fallback, _noFallback, _fallbackOrder;

    internal PgData(KernelContext k, int nid)
    {
        Kernel = k;
        NodeId = nid;
        _node = new StateArray<NodeRecord>(k.State, $"pgdat {nid}", 1);
        ZoneRecords = new StateArray<ZoneRecord>(k.State, $"pgdat {nid} zones", ZoneTypes.MaxNrZones);
        _fallback = new StateArray<int>(k.State, $"pgdat {nid} node_zonelists[ZONELIST_FALLBACK]");
        _noFallback = new StateArray<int>(k.State, $"pgdat {nid} node_zonelists[ZONELIST_NOFALLBACK]");
        _fallbackOrder = new StateArray<int>(k.State, $"pgdat {nid} fallback node order");
        Zones = new Zone[ZoneTypes.MaxNrZones];
        for (int i = 0; i < Zones.Length; i++) Zones[i] = new Zone(this, (ZoneType)i);
    }

    internal KernelContext Kernel { get; }
    internal StateArray<ZoneRecord> ZoneRecords { get; }

    public int NodeId { get; }
    public Zone[] Zones { get; }

    public long NodeStartPfn { get => _node[0].NodeStartPfn; internal set => _node.Mut(0).NodeStartPfn = value; }
    public long NodeSpannedPages { get => _node[0].NodeSpannedPages; internal set => _node.Mut(0).NodeSpannedPages = value; }
    public long NodePresentPages { get => _node[0].NodePresentPages; internal set => _node.Mut(0).NodePresentPages = value; }
    public long NodeEndPfn => NodeStartPfn + NodeSpannedPages;

    /// <summary>pgdat->nr_zones: one more than the highest zone init_currently_empty_zone() set up (reset to 0 by
    /// free_area_init_core_hotplug() when an offline node comes back).</summary>
    public int NrZones
    {
        get => _node[0].NrZones;
        internal set
        {
            Kernel.State.Observe(Zobrist.Key(FieldKind.PgdatNrZones, NodeId), (ulong)_node[0].NrZones, (ulong)value);
            _node.Mut(0).NrZones = value;
        }
    }

    /// <summary>Zones (a bit per zone type) that init_currently_empty_zone() has set up: zone->initialized.</summary>
    public bool ZoneInitialized(ZoneType t) => (_node[0].InitializedZones & (1 << (int)t)) != 0;

    /// <summary>Models init_currently_empty_zone(), mm/page_alloc.c (mm/mm_init.c since v6.6): the zone starts at the range and
    /// is initialised; nr_zones grows to cover it (8f416836c0d5; before it, nr_zones was set to the zone's index + 1).</summary>
    internal void InitCurrentlyEmptyZone(Zone z, long startPfn, long nrPages)
    {
        int want = (int)z.Type + 1;
        if (want > NrZones || !Kernel.Profile.Fix8f416836c0d5) NrZones = want;
        _node.Mut(0).InitializedZones |= 1 << (int)z.Type;
        z.ZoneStartPfn = startPfn;
        z.SpannedPages = nrPages;
    }

    /// <summary>node_zonelists[ZONELIST_FALLBACK]: every populated zone of every node with memory, in fallback order.</summary>
    public Zonelist Fallback => new(Kernel, _fallback);

    /// <summary>node_zonelists[ZONELIST_NOFALLBACK]: this node's own zones, used for __GFP_THISNODE.</summary>
    public Zonelist NoFallback => new(Kernel, _noFallback);

    /// <summary>The node order the last build_zonelists() printed.</summary>
    public IReadOnlyList<int> FallbackNodeOrder => _fallbackOrder.Items.ToArray();

    /// <summary>Sets both zonelists and the node order (build_zonelists()).</summary>
    internal void SetZonelists(List<Zone> fallback, List<Zone> noFallback, List<int> order)
    {
        Fill(_fallback, fallback);
        Fill(_noFallback, noFallback);
        _fallbackOrder.Resize(order.Count);
        for (int i = 0; i < order.Count; i++) _fallbackOrder.Mut(i) = order[i];
    }

    private static void Fill(StateArray<int> a, List<Zone> zones)
    {
        if (a.Length == zones.Count)
        {
            bool same = true;
            for (int i = 0; i < zones.Count && same; i++) same = a[i] == zones[i].Id;
            if (same) return;
        }
        a.Resize(zones.Count);
        var s = a.MutItems;
        for (int i = 0; i < zones.Count; i++) s[i] = zones[i].Id;
    }

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

/// <summary>A zonelist: zones in the order the allocator tries them (struct zonelist of zoneref entries), kept as
/// zone ids (node * MAX_NR_ZONES + zone type) in the compact state.</summary>
public readonly struct Zonelist
{
    private readonly KernelContext? _k;
    private readonly StateArray<int>? _ids;

    internal Zonelist(KernelContext k, StateArray<int> ids)
    {
        _k = k;
        _ids = ids;
    }

    public int Count => _ids?.Length ?? 0;

    public Zone this[int i] => _k!.ZoneById(_ids![i]);

    public IReadOnlyList<Zone> Zones
    {
        get
        {
            var l = new Zone[Count];
            for (int i = 0; i < l.Length; i++) l[i] = this[i];
            return l;
        }
    }

    /// <summary>Models for_each_zone_zonelist(): zones whose index is at most <paramref name="highestZoneIdx"/>.</summary>
    public IEnumerable<Zone> Eligible(ZoneType highestZoneIdx)
    {
        for (int i = 0; i < Count; i++)
            if (this[i] is var z && z.Type <= highestZoneIdx) yield return z;
    }
}
