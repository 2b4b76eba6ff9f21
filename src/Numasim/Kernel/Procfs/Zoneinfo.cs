using System.Text;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Procfs;

/// <summary>mm/vmstat.c zoneinfo_show(): /proc/zoneinfo for every zone of every online node (v6.1 layout).</summary>
internal static class Zoneinfo
{
    /// <summary>Models zoneinfo_show_print() over walk_zones_in_node().</summary>
    public static string Show(KernelContext k)
    {
        var sb = new StringBuilder();
        foreach (var p in k.AllPgData())
        {
            if (!k.NodeStates.Has(p.NodeId, NodeState.Online)) continue;
            var firstPopulated = p.Zones.FirstOrDefault(z => z.IsPopulated);
            foreach (var z in p.Zones) Print(k, sb, p, z, z == firstPopulated);
        }
        return sb.ToString();
    }

    private static void Print(KernelContext k, StringBuilder sb, PgData p, Zone z, bool nodeStats)
    {
        sb.Append($"Node {p.NodeId}, zone {z.Name,8}");
        if (nodeStats)
        {
            sb.Append("\n  per-node stats");
            foreach (var name in k.Profile.Build.NodeStatItems) // enum node_stat_item of the build (NodeVmstat)
                sb.Append($"\n      {name,-12} 0");
        }
        sb.Append($"\n  pages free     {z.FreePages}");
        sb.Append("\n        boost    0");
        sb.Append($"\n        min      {z.WatermarkMin}");
        sb.Append($"\n        low      {z.WatermarkLow}");
        sb.Append($"\n        high     {z.WatermarkHigh}");
        sb.Append($"\n        spanned  {z.SpannedPages}");
        sb.Append($"\n        present  {z.PresentPages}");
        sb.Append($"\n        managed  {z.ManagedPages}");
        sb.Append("\n        cma      0");
        sb.Append("\n        protection: (").Append(string.Join(", ", z.LowmemReserve.ToArray())).Append(')');
        if (!z.IsPopulated)
        {
            sb.Append('\n');
            return;
        }
        (string, long)[] zoneStats =
        [
            ("nr_free_pages", z.FreePages), ("nr_zone_inactive_anon", 0), ("nr_zone_active_anon", 0),
            ("nr_zone_inactive_file", 0), ("nr_zone_active_file", 0), ("nr_zone_unevictable", 0),
            ("nr_zone_write_pending", 0), ("nr_mlock", 0), ("nr_bounce", 0), ("nr_zspages", 0), ("nr_free_cma", 0),
            ("numa_hit", z.Numa.Hit), ("numa_miss", z.Numa.Miss), ("numa_foreign", z.Numa.Foreign), ("numa_interleave", z.Numa.InterleaveHit),
            ("numa_local", z.Numa.Local), ("numa_other", z.Numa.Other),
        ];
        foreach (var (name, v) in zoneStats) sb.Append($"\n      {name,-12} {v}");
        sb.Append("\n  pagesets");
        foreach (var cpu in k.Cpus.Online.Bits())
        {
            sb.Append($"\n    cpu: {cpu}\n              count: {z.Pages.PcpCount(cpu)}\n              high:  {z.Pages.PcpHigh}\n              batch: {z.Pages.PcpBatch}");
            sb.Append("\n  vm stats threshold: 0");
        }
        sb.Append("\n  node_unreclaimable:  0");
        sb.Append($"\n  start_pfn:           {z.ZoneStartPfn}");
        sb.Append('\n');
    }
}
