using System.Text;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Procfs;

/// <summary>mm/vmstat.c frag_show(): /proc/buddyinfo, one line per populated zone of each online node.</summary>
internal static class Buddyinfo
{
    /// <summary>Models frag_show_print().</summary>
    public static string Show(KernelContext k)
    {
        var sb = new StringBuilder();
        foreach (var p in k.AllPgData())
        {
            if (!k.NodeStates.Has(p.NodeId, NodeState.Online)) continue;
            foreach (var z in p.Zones)
            {
                if (!z.IsPopulated) continue;
                sb.Append($"Node {p.NodeId}, zone {z.Name,8} ");
                for (int order = 0; order < k.Profile.MaxOrder; order++)
                    sb.Append($"{z.NrFree(order),6} ");
                sb.Append('\n');
            }
        }
        return sb.ToString();
    }
}
