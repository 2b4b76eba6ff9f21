using Numasim.Kernel.Drivers;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;

namespace Numasim.Checker;

/// <summary>zone-spans-match-blocks: every online memory block of a single zone lies in that zone's span
/// (zone_spans_pfn()), and a zone's span starts and ends in online memory of that zone (/proc/zoneinfo's start_pfn and
/// spanned; move_pfn_range_to_zone() grows the span to the memory onlined, shrink_zone_span() shrinks it to the memory
/// left). A block that spans several zones (boot memory across a zone boundary) counts for each of them.</summary>
public sealed class ZoneSpansMatchBlocks : IInvariant
{
    public string Name => "zone-spans-match-blocks";
    public string Description => "every online block lies in its zone's span, and each zone's span starts and ends in its own online memory";

    public string? Check(CheckDriver d)
    {
        var k = d.Machine.Kernel;
        if (d.Machine.Oops is not null) return null;
        var t = k.MemoryBlocks;
        long ppb = k.PagesPerBlock;
        for (int i = 0; i < t.Count; i++)
        {
            ref readonly var r = ref t.RecordAt(i);
            if (r.State != MemoryBlockState.Online || r.ZoneId < 0) continue;
            var z = k.ZoneById(r.ZoneId);
            long start = r.Id * ppb;
            // (a boot block may end in a hole past the zone: e820's last RAM page is not the block's)
            if (start + ppb <= z.ZoneStartPfn || start >= z.ZoneEndPfn)
                return $"memory{r.Id} (pfn 0x{start:x}) is online in {z}, which spans [0x{z.ZoneStartPfn:x}, 0x{z.ZoneEndPfn:x})";
        }
        foreach (var z in k.ZoneSpan)
        {
            if (z.SpannedPages == 0) continue;
            if (Outside(k, z, z.ZoneStartPfn) is { } s) return $"{z} starts at pfn 0x{z.ZoneStartPfn:x}, {s}";
            if (Outside(k, z, z.ZoneEndPfn - 1) is { } e) return $"{z} ends at pfn 0x{z.ZoneEndPfn:x}, {e}";
        }
        return null;
    }

    /// <summary>Null when the pfn is in an online block of the zone (or of several zones including it on its node).</summary>
    private static string? Outside(Kernel.KernelContext k, Zone z, long pfn)
    {
        long id = pfn / k.PagesPerBlock;
        if (k.FindMemoryBlock(id) is not { } mb) return $"where no memory block is (spanned {z.SpannedPages}, present {z.PresentPages})";
        if (mb.State != MemoryBlockState.Online) return $"in memory{id}, which is {mb.State.ToString().ToLowerInvariant()} (spanned {z.SpannedPages}, present {z.PresentPages})";
        if (mb.Nid != z.NodeId || (mb.ZoneId >= 0 && mb.ZoneId != z.Id))
            return $"in memory{id}, online in {(mb.Zone is { } o ? o.ToString() : "several zones")} of node {mb.Nid}";
        return null;
    }
}

/// <summary>pgdat-matches-zones: a node's pg_data_t summarises its zones: node_present_pages is the sum of the zones'
/// present pages, the node span covers every zone's span, and nr_zones (the zones kswapd and reclaim walk) is above
/// the index of every populated zone.</summary>
public sealed class PgdatMatchesZones : IInvariant
{
    public string Name => "pgdat-matches-zones";
    public string Description => "each pgdat's present pages, span and nr_zones agree with its zones";

    public string? Check(CheckDriver d)
    {
        var k = d.Machine.Kernel;
        if (d.Machine.Oops is not null) return null;
        foreach (var p in k.PgDataSpan)
        {
            if (!k.NodeStates.Has(p.NodeId, NodeState.Online)) continue;
            long present = 0;
            foreach (var z in p.Zones)
            {
                present += z.PresentPages;
                if (z.IsPopulated && (int)z.Type >= p.NrZones)
                    return $"node {p.NodeId}: nr_zones is {p.NrZones} but {z} is populated ({z.PresentPages} pages)";
                if (z.SpannedPages > 0 && (z.ZoneStartPfn < p.NodeStartPfn || z.ZoneEndPfn > p.NodeEndPfn))
                    return $"node {p.NodeId} spans [0x{p.NodeStartPfn:x}, 0x{p.NodeEndPfn:x}), not all of {z} [0x{z.ZoneStartPfn:x}, 0x{z.ZoneEndPfn:x})";
            }
            if (present != p.NodePresentPages)
                return $"node {p.NodeId}: node_present_pages {p.NodePresentPages}, its zones hold {present}";
        }
        return null;
    }
}
