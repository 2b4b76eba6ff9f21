using System.Text;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Mm;

/// <summary>mm/page_alloc.c: building the node fallback order and the zonelists (v6.1).</summary>
internal static class Zonelists
{
    /// <summary>PENALTY_FOR_NODE_WITH_CPUS.</summary>
    private const int PenaltyForNodeWithCpus = 1;

    /// <summary>Models build_all_zonelists(pgdat): a node being hot-added (not yet online) rebuilds only its own
    /// list; otherwise every possible node's. Prints the kernel's summary lines.</summary>
    public static void BuildAll(KernelContext k, PgData? self)
    {
        using var call = k.Trace.Call("build_all_zonelists", "mm/page_alloc.c", $"{(self is null ? "NULL" : $"NODE_DATA({self.NodeId})")}");
        var candidates = Candidates.For(k);
        var nodeLoad = candidates.NodeLoad;
        if (self is not null && !k.NodeStates.Has(self.NodeId, NodeState.Online))
        {
            Build(k, self, nodeLoad, candidates);
        }
        else
        {
            foreach (var nid in k.NodeStates[NodeState.Possible].Bits())
                if (k.NodeDataOf(nid) is { } p) Build(k, p, nodeLoad, candidates);
        }
        long total = NrFreeZonePages(k, ZoneType.Movable);
        bool mobilityOff = total < Page.PageblockNrPages * 6; // MIGRATE_TYPES with CMA
        k.PageGroupByMobilityDisabled = mobilityOff;
        k.Log.Printk($"Built {k.NodeStates.NrOnline} zonelists, mobility grouping {(mobilityOff ? "off" : "on")}.  Total pages: {total}");
        k.Log.Printk($"Policy zone: {k.PolicyZone.Name()}");
    }

    /// <summary>Models nr_free_zone_pages(): managed pages above the high watermark in zones up to the index.</summary>
    public static long NrFreeZonePages(KernelContext k, ZoneType highest)
    {
        long sum = 0;
        foreach (var p in k.AllPgData())
        {
            if (!k.NodeStates.Has(p.NodeId, NodeState.Online) && p.NodePresentPages == 0) continue;
            foreach (var z in p.Zones)
            {
                if (z.Type > highest) continue;
                if (z.ManagedPages > z.WatermarkHigh) sum += z.ManagedPages - z.WatermarkHigh;
            }
        }
        return sum;
    }

    /// <summary>Models build_zonelists(): the node order by find_next_best_node() with the node_load round robin,
    /// then build_zonelists_in_node_order() and build_thisnode_zonelists().</summary>
    /// <remarks>
    /// Calling <see cref="FindNextBestNode"/> until it gives up costs O(nodes²) per node, a billion steps for 1,024
    /// nodes. Within one build_zonelists() every candidate's value is fixed: distance, the n &lt; local bump and the
    /// CPU penalty do not change, and node_load[] only grows for the node just picked, which is then used. So the
    /// successive picks (smallest value, lowest node id first on a tie: the strict "&lt;" of the ascending scan) are
    /// the candidates sorted once by (value, node id), after the local node. Same order, O(n log n) per node.
    /// </remarks>
    private static void Build(KernelContext k, PgData pgdat, int[] nodeLoad, Candidates candidates)
    {
        int local = pgdat.NodeId;
        int prev = local;
        var byValue = candidates.Keys;
        int count = 0;
        for (int i = 0; i < candidates.Count; i++)
        {
            int n = candidates.Nodes[i];
            if (n == local) continue; // find_next_best_node() returned it first
            long val = k.Distance.Get(local, n);
            val += n < local ? 1 : 0;
            val += candidates.CpuPenalty[i];
            val *= NumaConstants.MaxNumNodes;
            val += n < nodeLoad.Length ? nodeLoad[n] : 0;
            byValue[count++] = (val, n);
        }
        // (value, node id) pairs: on a tie the lower node id comes first.
        Array.Sort(byValue, 0, count);

        var order = candidates.Order;
        order.Clear();
        // find_next_best_node() hands out the local node first; v6.6+ only when it has memory.
        if (!k.Profile.FallbackSkipsMemorylessLocalNode || k.NodeStates.Has(local, NodeState.Memory)) order.Add(local);
        for (int i = 0; i < count; i++)
        {
            int node = byValue[i].Node;
            if (k.Distance.Get(local, node) != k.Distance.Get(local, prev) && node < nodeLoad.Length)
                nodeLoad[node] += 1;
            order.Add(node);
            prev = node;
        }

        var zones = candidates.Zones;
        zones.Clear();
        foreach (var n in order)
            if (k.NodeDataOf(n) is { } p) AddZonesOfNode(k, p, zones);
        var own = candidates.Own;
        own.Clear();
        AddZonesOfNode(k, pgdat, own);
        pgdat.SetZonelists(zones, own, order);
        k.Trace.Change($"node {local}'s fallback order: {Trace.TraceList.Brief(order, " ")} (zonelist: {Trace.TraceList.Brief(zones)})");
        // The scratch must not hold this machine's zones (and through them the machine) once it is done.
        zones.Clear();
        own.Clear();

        if (!k.Log.Enabled) return; // printk() would drop the line: not even built
        var sb = new StringBuilder(32 + 6 * order.Count).Append("Fallback order for Node ").Append(local).Append(": ");
        foreach (var n in order) sb.Append(n).Append(' ');
        k.Log.Printk(sb.ToString());
    }

    /// <summary>for_each_node_state(n, N_MEMORY) as arrays (the first Count entries), with each node's
    /// PENALTY_FOR_NODE_WITH_CPUS (0 or 1): neither changes while build_all_zonelists() runs. With node_load[] and the
    /// lists one build_zonelists() fills, it is scratch, made once per thread and filled anew by every
    /// build_all_zonelists() (memory onlining runs it on every transition; the pgdat copies what it keeps).</summary>
    private sealed class Candidates
    {
        [ThreadStatic] private static Candidates? t_scratch;

        public static Candidates For(KernelContext k)
        {
            var c = t_scratch ??= new Candidates();
            var mem = k.NodeStates[NodeState.Memory];
            int count = mem.Weight();
            if (c.Nodes.Length < count)
            {
                c.Nodes = new int[count];
                c.CpuPenalty = new int[count];
                c.Keys = new (long, int)[count];
            }
            c.Count = count;
            int i = 0;
            for (int n = mem.NextSet(0); n < mem.NBits; n = mem.NextSet(n + 1), i++)
            {
                c.Nodes[i] = n;
                c.CpuPenalty[i] = k.Cpus.CpumaskOfNode(n).IsEmpty ? 0 : PenaltyForNodeWithCpus;
            }
            if (c.NodeLoad.Length != k.NrNodeIds) c.NodeLoad = new int[k.NrNodeIds];
            else Array.Clear(c.NodeLoad);
            return c;
        }

        public int Count { get; private set; }
        public int[] Nodes { get; private set; } = [];
        public int[] CpuPenalty { get; private set; } = [];

        /// <summary>Scratch for one build_zonelists(): (value, node) of the candidates.</summary>
        public (long Val, int Node)[] Keys { get; private set; } = [];

        /// <summary>node_load[], zeroed for each build_all_zonelists().</summary>
        public int[] NodeLoad { get; private set; } = [];

        /// <summary>One build_zonelists()'s node order, fallback zones and own zones.</summary>
        public readonly List<int> Order = [];
        public readonly List<Zone> Zones = [], Own = [];
    }

    /// <summary>Models build_zonerefs_node(): the populated zones of a node (managed ones before e553f62f10d9), highest
    /// zone first; tracks policy_zone.</summary>
    private static void AddZonesOfNode(KernelContext k, PgData p, List<Zone> zones)
    {
        for (int i = ZoneTypes.MaxNrZones - 1; i >= 0; i--)
        {
            var z = p.Zones[i];
            if (!z.InZonelists(k.Profile)) continue;
            zones.Add(z);
            // check_highest_zone()
            if (z.Type > k.PolicyZone && z.Type != ZoneType.Movable && z.Type <= ZoneType.Normal) k.PolicyZone = z.Type;
        }
    }

    /// <summary>Models find_next_best_node(): the local node first, then the closest node with memory, preferring
    /// higher node ids at equal distance, headless nodes, and less loaded nodes.</summary>
    public static int FindNextBestNode(KernelContext k, int node, Bitmap used, int[] nodeLoad)
    {
        if (!used[node] && (!k.Profile.FallbackSkipsMemorylessLocalNode || k.NodeStates.Has(node, NodeState.Memory)))
        {
            used.Set(node);
            return node;
        }
        used.Set(node);
        long minVal = long.MaxValue;
        int best = NumaConstants.NumaNoNode;
        foreach (var n in k.NodeStates[NodeState.Memory].Bits())
        {
            if (used[n]) continue;
            long val = k.Distance.Get(node, n);
            val += n < node ? 1 : 0;
            if (!k.Cpus.CpumaskOfNode(n).IsEmpty) val += PenaltyForNodeWithCpus;
            val *= NumaConstants.MaxNumNodes;
            val += n < nodeLoad.Length ? nodeLoad[n] : 0;
            if (val < minVal)
            {
                minVal = val;
                best = n;
            }
        }
        if (best >= 0) used.Set(best);
        return best;
    }
}
