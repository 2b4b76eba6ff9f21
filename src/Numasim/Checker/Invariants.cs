using Numasim.Kernel.Drivers;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Sysfs;
using Numasim.Scenarios;

namespace Numasim.Checker;

/// <summary>
/// A property every reachable state must have. Implement it and register it (<see cref="Invariants.Register"/>
/// or <see cref="CheckOptions.Invariants"/>) to have the checker run it after every operation.
/// </summary>
public interface IInvariant
{
    /// <summary>Short name, kebab-case (printed with a violation, used by --invariants).</summary>
    string Name { get; }

    /// <summary>One sentence: what must hold.</summary>
    string Description { get; }

    /// <summary>Null when the invariant holds in the driver's current state, else what is wrong. Called on a live
    /// machine only (after an oops only no-oops runs).</summary>
    string? Check(CheckDriver d);

    /// <summary>Scenario expectations that show the violation on replay (appended to the written scenario).</summary>
    IReadOnlyList<ScenarioStep> Expectations(CheckDriver d) => [];
}

/// <summary>The built-in invariants and the registry of user ones.</summary>
public static class Invariants
{
    private static readonly List<IInvariant> s_user = [];
    private static readonly Lock s_lock = new();

    /// <summary>The built-in invariants, cheapest first; no-oops always first.</summary>
    public static IReadOnlyList<IInvariant> BuiltIn { get; } =
    [
        new NoOops(), new CpuToNodeValid(), new NodeDataNeverFreed(), new NodeOnlineRule(), new NodeStatesMatchZones(),
        new NodeCpuLinks(), new ZonelistsMatchNodes(), new PageConservation(), new FreePagesSum(), new PresentPagesInBlocks(),
        new NoPageInOfflineMemory(), new ZoneSpansMatchBlocks(), new PgdatMatchesZones(),
    ];

    /// <summary>The invariants that read /sys itself: run on the counterexample and on the sampled states whose
    /// rendering is compared with a replay (<see cref="CheckOptions.RenderSample"/>), not on every state.</summary>
    public static IReadOnlyList<IInvariant> Sampled { get; } = [new SysfsReadable()];

    /// <summary>Registers a user invariant for every later check (thread-safe; registered once by name).</summary>
    public static void Register(IInvariant inv)
    {
        lock (s_lock)
        {
            s_user.RemoveAll(i => i.Name == inv.Name);
            s_user.Add(inv);
        }
    }

    /// <summary>Removes a registered invariant; false when none has the name.</summary>
    public static bool Unregister(string name)
    {
        lock (s_lock) return s_user.RemoveAll(i => i.Name == name) > 0;
    }

    /// <summary>The built-in and registered invariants.</summary>
    public static IReadOnlyList<IInvariant> All
    {
        get { lock (s_lock) return [.. BuiltIn, .. s_user]; }
    }

    internal static ScenarioStep Expect(params (string Key, string Value)[] args) =>
        new("expect", args.ToDictionary(a => a.Key, a => a.Value), null, 0);
}

/// <summary>no-oops: no operation ends in a modelled kernel oops (the machine is then dead).</summary>
public sealed class NoOops : IInvariant
{
    public string Name => "no-oops";
    public string Description => "no operation ends in a modelled kernel oops";
    public string? Check(CheckDriver d) => d.Machine.Oops is { } o ? o.Report : null;

    public IReadOnlyList<ScenarioStep> Expectations(CheckDriver d)
    {
        var lines = d.Machine.Oops!.Report.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var steps = new List<ScenarioStep> { Invariants.Expect(("oops", lines[0].Trim())) };
        var comm = lines.FirstOrDefault(l => l.Contains("Comm: ", StringComparison.Ordinal));
        if (comm is not null)
        {
            var c = comm[comm.IndexOf("Comm: ", StringComparison.Ordinal)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (c.Length > 1) steps.Add(Invariants.Expect(("oops", "Comm: " + c[1])));
        }
        return steps;
    }
}

/// <summary>cpu-to-node-valid: every possible CPU's cpu_to_node() is a possible node. Not checked under profiles with
/// e13fe8695c57's clearing (v4.19), where NUMA_NO_NODE is the very bug the seed fixed.</summary>
public sealed class CpuToNodeValid : IInvariant
{
    public string Name => "cpu-to-node-valid";
    public string Description => "every possible CPU's cpu_to_node is a possible node (post-fix profiles)";

    public string? Check(CheckDriver d)
    {
        var k = d.Machine.Kernel;
        if (k.Profile.ClearCpuNodeOnNodeOffline || d.Machine.Oops is not null) return null;
        foreach (var cpu in k.Cpus.Possible.Bits())
        {
            int nid = k.Cpus.CpuToNode(cpu);
            if (nid < 0 || nid >= k.NrNodeIds || !k.NodeStates.Has(nid, NodeState.Possible))
                return $"cpu_to_node({cpu}) = {nid}, not a possible node";
        }
        return null;
    }
}

/// <summary>node-online-rule: a node with a memory block or an online CPU is online; an online node has a memory block
/// or a present CPU, unless the boot onlined it memoryless and CPU-less (v4.x) and nothing on it was ejected since.
/// (A present but offline CPU may leave its node offline: 6.1 onlines the node only at cpu_up().)</summary>
public sealed class NodeOnlineRule : IInvariant
{
    public string Name => "node-online-rule";
    public string Description => "node online iff it holds a memory block or a present CPU (boot-time memoryless nodes excepted)";

    public string? Check(CheckDriver d)
    {
        var k = d.Machine.Kernel;
        if (d.Machine.Oops is not null) return null;
        foreach (var nid in k.NodeStates[NodeState.Possible].Bits())
        {
            bool online = k.NodeStates.Has(nid, NodeState.Online);
            bool blocks = k.MemoryBlocks.AnyOnNode(nid);
            bool present = false, onlineCpu = false;
            foreach (var cpu in k.Cpus.Present.Bits())
                if (k.Cpus.CpuToNode(cpu) == nid) { present = true; onlineCpu |= k.Cpus.Online[cpu]; }
            if (!online && (blocks || onlineCpu))
                return $"node {nid} is offline but holds {(blocks ? "memory blocks" : "an online CPU")}";
            if (online && !blocks && !present && (d.BootUntouchedNodes & (1UL << nid)) == 0)
                return $"node {nid} is online with no memory block and no present CPU";
        }
        return null;
    }
}

/// <summary>node-states-match-zones: N_MEMORY iff the node has present pages, N_NORMAL_MEMORY iff a zone up to
/// ZONE_NORMAL is populated, N_CPU iff an online CPU is on the node, and N_MEMORY implies N_ONLINE.</summary>
public sealed class NodeStatesMatchZones : IInvariant
{
    public string Name => "node-states-match-zones";
    public string Description => "node_states[] (N_MEMORY, N_NORMAL_MEMORY, N_CPU) agree with the zones and the online CPUs";

    public string? Check(CheckDriver d)
    {
        var k = d.Machine.Kernel;
        if (d.Machine.Oops is not null) return null;
        foreach (var nid in k.NodeStates[NodeState.Possible].Bits())
        {
            var p = k.NodeDataOf(nid);
            long present = 0;
            bool normal = false;
            if (p is not null)
                foreach (var z in p.Zones)
                {
                    present += z.PresentPages;
                    if (z.Type <= ZoneType.Normal && z.PresentPages > 0) normal = true;
                }
            bool cpu = false;
            foreach (var c in k.Cpus.Online.Bits()) cpu |= k.Cpus.CpuToNode(c) == nid;
            if (k.NodeStates.Has(nid, NodeState.Memory) != present > 0)
                return $"node {nid}: N_MEMORY is {Bit(k.NodeStates.Has(nid, NodeState.Memory))} but its zones hold {present} present pages";
            if (k.NodeStates.Has(nid, NodeState.NormalMemory) != normal)
                return $"node {nid}: N_NORMAL_MEMORY is {Bit(k.NodeStates.Has(nid, NodeState.NormalMemory))} but a zone up to Normal is {(normal ? "" : "not ")}populated";
            if (k.NodeStates.Has(nid, NodeState.Cpu) != cpu)
                return $"node {nid}: N_CPU is {Bit(k.NodeStates.Has(nid, NodeState.Cpu))} but it has {(cpu ? "an" : "no")} online CPU";
            if (present > 0 && !k.NodeStates.Has(nid, NodeState.Online))
                return $"node {nid} has memory (N_MEMORY) but is not online";
        }
        return null;
    }

    private static string Bit(bool b) => b ? "set" : "clear";
}

/// <summary>node-cpu-links: for every possible node N and CPU K, node/nodeN/cpuK and cpu/cpuK/nodeN exist exactly when
/// CPU K is present, cpu_to_node(K) = N and node N is online; nodeN/cpulist lists the online CPUs of node N, which
/// is also cpumask_of_node(N).</summary>
public sealed class NodeCpuLinks : IInvariant
{
    public string Name => "node-cpu-links";
    public string Description => "nodeN/cpuK and cpuK/nodeN links and nodeN/cpulist agree with cpu_to_node, presence and onlineness";

    public string? Check(CheckDriver d)
    {
        var m = d.Machine;
        var k = m.Kernel;
        if (m.Oops is not null) return null;
        var nodes = m.Subsystems.NodeDevices;
        foreach (var nid in k.NodeStates[NodeState.Possible].Bits())
        {
            bool online = k.NodeStates.Has(nid, NodeState.Online);
            var mask = k.Cpus.CpumaskOfNode(nid);
            foreach (var cpu in k.Cpus.Possible.Bits())
            {
                bool want = k.Cpus.Present[cpu] && k.Cpus.CpuToNode(cpu) == nid && online;
                bool linked = nodes.CpuLinkNode(cpu) == nid;
                if (linked != want)
                    return $"node/node{nid}/cpu{cpu} and cpu/cpu{cpu}/node{nid} {(linked ? "exist" : "are missing")} (present={k.Cpus.Present[cpu]}, cpu_to_node={k.Cpus.CpuToNode(cpu)}, node online={online})";
                bool inMask = k.Cpus.Online[cpu] && k.Cpus.CpuToNode(cpu) == nid;
                if (mask[cpu] != inMask)
                    return $"cpumask_of_node({nid}) = {mask.ToListString()}: cpu{cpu} is {(k.Cpus.Online[cpu] ? "online" : "offline")} with cpu_to_node {k.Cpus.CpuToNode(cpu)}";
            }
            if (online != nodes.IsRegistered(nid))
                return $"node {nid} is {(online ? "online" : "offline")} but node/node{nid} {(online ? "is missing" : "exists")}";
        }
        return null;
    }
}

/// <summary>node-data-never-freed: every possible node has its pg_data_t (NODE_DATA), allocated at boot
/// (free_area_init()) and never freed since the seed's fix: try_offline_node() must not free it, and
/// __alloc_pages_node() on any possible node's CPU may read it.</summary>
public sealed class NodeDataNeverFreed : IInvariant
{
    public string Name => "node-data-never-freed";
    public string Description => "every possible node keeps its NODE_DATA (pg_data_t) once allocated";

    public string? Check(CheckDriver d)
    {
        var k = d.Machine.Kernel;
        if (d.Machine.Oops is not null) return null;
        foreach (var nid in k.NodeStates[NodeState.Possible].Bits())
            if (k.NodeDataOf(nid) is null) return $"NODE_DATA({nid}) is NULL for a possible node";
        return null;
    }
}

/// <summary>free-pages-sum: per zone, NR_FREE_PAGES is the pages of the buddy free lists outside MIGRATE_ISOLATE
/// (__mod_zone_freepage_state() accounting), and free_area[order].nr_free counts every list of that order.</summary>
public sealed class FreePagesSum : IInvariant
{
    public string Name => "free-pages-sum";
    public string Description => "per zone, NR_FREE_PAGES == pages on the free lists (isolated ones apart), nr_free == blocks per order";

    public string? Check(CheckDriver d)
    {
        if (d.Machine.Oops is not null) return null;
        foreach (var z in d.Machine.Kernel.ZoneSpan)
        {
            var a = z.Pages;
            if (a.ManagedPages == 0 && a.FreePages == 0) continue;
            long sum = a.ListedPages(out int order, out long blocks);
            if (order >= 0) return $"{z}: free_area[{order}].nr_free = {a.NrFree(order)}, its lists hold {blocks} blocks";
            if (sum != a.FreePages) return $"{z}: NR_FREE_PAGES = {a.FreePages}, the free lists hold {sum} pages";
        }
        return null;
    }
}

/// <summary>present-pages-in-blocks: every present page is in exactly one online memory block: the online blocks'
/// present pages add up to the zones' present_pages (online_pages() and offline_pages() move both together).</summary>
public sealed class PresentPagesInBlocks : IInvariant
{
    public string Name => "present-pages-in-blocks";
    public string Description => "the online memory blocks' present pages add up to the zones' present_pages";

    public string? Check(CheckDriver d)
    {
        var k = d.Machine.Kernel;
        if (d.Machine.Oops is not null) return null;
        long blocks = 0, zones = 0;
        var t = k.MemoryBlocks;
        for (int i = 0; i < t.Count; i++)
            if (t.RecordAt(i).State == MemoryBlockState.Online) blocks += t.RecordAt(i).PresentPages;
        foreach (var z in k.ZoneSpan) zones += z.PresentPages;
        return blocks == zones ? null : $"online memory blocks hold {blocks} present pages, the zones {zones}";
    }
}

/// <summary>zonelists-match-nodes: each online node's fallback zonelist holds exactly the zones build_zonerefs_node() takes
/// (populated; managed in the profiles before e553f62f10d9) of the N_MEMORY
/// nodes (and its own), each once, node by node with the local node first, zones highest first, nodes in
/// non-decreasing distance (within the 2 units find_next_best_node()'s penalties may reorder); the no-fallback list
/// holds exactly the node's own such zones.</summary>
public sealed class ZonelistsMatchNodes : IInvariant
{
    public string Name => "zonelists-match-nodes";
    public string Description => "every online node's zonelists hold exactly the populated (managed, before v5.18) zones of N_MEMORY nodes, in the kernel's order";

    public string? Check(CheckDriver d)
    {
        var k = d.Machine.Kernel;
        if (d.Machine.Oops is not null) return null;
        int nz = k.NrNodeIds * ZoneTypes.MaxNrZones;
        Span<byte> seen = nz <= 1024 ? stackalloc byte[nz] : new byte[nz];
        Span<bool> nodeSeen = k.NrNodeIds <= 1024 ? stackalloc bool[k.NrNodeIds] : new bool[k.NrNodeIds];
        foreach (var nid in k.NodeStates[NodeState.Online].Bits())
        {
            var p = k.NodeDataOf(nid);
            if (p is null) return $"node {nid} is online without a pgdat";
            var zl = p.Fallback;
            seen.Clear();
            for (int i = 0; i < zl.Count; i++)
            {
                var z = zl[i];
                if (z.Id >= nz) return $"node {nid}'s zonelist holds {z}, beyond nr_node_ids";
                if (seen[z.Id]++ > 0) return $"node {nid}'s zonelist holds {z} twice";
                if (!z.InZonelists(k.Profile)) return $"node {nid}'s zonelist holds {z} (not populated, or unmanaged where the profile takes managed zones)";
                if (z.NodeId != nid && !k.NodeStates.Has(z.NodeId, NodeState.Memory)) return $"node {nid}'s zonelist holds {z} of a node without N_MEMORY";
            }
            foreach (var q in k.PgDataSpan)
            {
                if (q.NodeId != nid && !k.NodeStates.Has(q.NodeId, NodeState.Memory)) continue;
                foreach (var z in q.Zones)
                    if (z.InZonelists(k.Profile) && seen[z.Id] == 0) return $"node {nid}'s zonelist misses {z}";
            }
            // Order: node by node, local first, zones descending, distance non-decreasing.
            nodeSeen.Clear();
            int first = -1, prevNode = -1;
            for (int i = 0; i < zl.Count; i++)
            {
                var z = zl[i];
                if (i > 0 && z.NodeId == zl[i - 1].NodeId)
                {
                    if (z.Type >= zl[i - 1].Type) return $"node {nid}'s zonelist: {zl[i - 1]} before {z}";
                    continue;
                }
                if (nodeSeen[z.NodeId]) return $"node {nid}'s zonelist: node {z.NodeId}'s zones are not contiguous";
                nodeSeen[z.NodeId] = true;
                if (first < 0) first = z.NodeId;
                else if (prevNode != nid && k.Distance.Get(nid, z.NodeId) + 2 < k.Distance.Get(nid, prevNode))
                    return $"node {nid}'s zonelist: node {z.NodeId} (distance {k.Distance.Get(nid, z.NodeId)}) after node {prevNode} (distance {k.Distance.Get(nid, prevNode)})";
                prevNode = z.NodeId;
            }
            bool ownManaged = false;
            foreach (var z in p.Zones) ownManaged |= z.InZonelists(k.Profile);
            if (ownManaged && first != nid) return $"node {nid}'s zonelist starts with node {first}";
            var own = p.NoFallback;
            int j = 0;
            for (int t = ZoneTypes.MaxNrZones - 1; t >= 0; t--)
            {
                if (!p.Zones[t].InZonelists(k.Profile)) continue;
                if (j >= own.Count || own[j] != p.Zones[t]) return NoFallbackMismatch(k, nid, p);
                j++;
            }
            if (j != own.Count) return $"node {nid}'s no-fallback zonelist is [{string.Join(", ", own.Zones)}]: more than its managed zones";
        }
        return null;
    }

    // Its own method: the lambda's closure would otherwise be made on every check.
    private static string NoFallbackMismatch(Kernel.KernelContext k, int nid, PgData p) =>
        $"node {nid}'s no-fallback zonelist is [{string.Join(", ", p.NoFallback.Zones)}], its zones [{string.Join(", ", p.Zones.Where(z => z.InZonelists(k.Profile)).OrderByDescending(z => z.Type))}]";
}

/// <summary>page-conservation: in every zone, free (buddy) + allocated + per-CPU-list pages = managed pages, by the
/// allocator's own counters, and the allocator manages what the zone says it manages.</summary>
public sealed class PageConservation : IInvariant
{
    public string Name => "page-conservation";
    public string Description => "per zone, free + allocated + pcp pages == managed pages";

    public string? Check(CheckDriver d)
    {
        if (d.Machine.Oops is not null) return null;
        foreach (var z in d.Machine.Kernel.ZoneSpan)
        {
            var a = z.Pages;
            if (a.ManagedPages != z.ManagedPages)
                return $"{z}: zone managed_pages {z.ManagedPages}, allocator manages {a.ManagedPages}";
            long sum = a.FreePages + a.AllocatedPages + a.PcpPages;
            if (sum != z.ManagedPages)
                return $"{z}: free {a.FreePages} + allocated {a.AllocatedPages} + pcp {a.PcpPages} = {sum}, managed {z.ManagedPages}";
        }
        return null;
    }
}

/// <summary>no-page-in-offline-memory: no allocated page lies in an offline memory block or in the range of an
/// ejected DIMM.</summary>
public sealed class NoPageInOfflineMemory : IInvariant
{
    public string Name => "no-page-in-offline-memory";
    public string Description => "no allocated page lies in offline or removed memory";

    public string? Check(CheckDriver d)
    {
        var k = d.Machine.Kernel;
        if (d.Machine.Oops is not null) return null;
        var t = k.MemoryBlocks;
        for (int i = 0; i < t.Count; i++)
        {
            ref readonly var r = ref t.RecordAt(i);
            long start = r.Id * k.PagesPerBlock;
            if (r.State == MemoryBlockState.Offline && Allocated(d, start, start + k.PagesPerBlock) is { } s)
                return $"memory{r.Id} is offline but {s}";
        }
        foreach (var (start, end) in d.RemovedRangeSpan)
            if (Allocated(d, start, end) is { } s)
                return $"removed range [0x{start:x}, 0x{end:x}) {s}";
        return null;
    }

    private static string? Allocated(CheckDriver d, long start, long end)
    {
        foreach (var z in d.Machine.Kernel.ZoneSpan)
        {
            var a = z.Pages;
            if (a.AllocatedBlocks == 0) continue;
            long s = Math.Max(start, a.ZoneStartPfn), e = Math.Min(end, a.ZoneEndPfn);
            if (s >= e || !a.AnyAllocatedInRange(s, e)) continue;
            foreach (var b in a.AllocatedInRange(s, e)) return $"pfn 0x{b.Pfn:x} (order {b.Order}) is allocated in {z}";
        }
        return null;
    }
}

/// <summary>sysfs-readable: every attribute under /sys/devices/system that has a show() reads without an exception,
/// and every symlink there into /sys/devices/system resolves.</summary>
public sealed class SysfsReadable : IInvariant
{
    public string Name => "sysfs-readable";
    public string Description => "every file under /sys/devices/system reads without error and every link resolves";
    private const string Root = "/sys/devices/system/";

    public string? Check(CheckDriver d)
    {
        var fs = d.Machine.Fs;
        if (d.Machine.Oops is not null) return null;
        if (fs.Lookup("/sys/devices/system") is not SysfsDirectory root) return "/sys/devices/system is missing";
        return Walk(fs, root);
    }

    private static string? Walk(SysfsTree fs, SysfsDirectory dir)
    {
        foreach (var e in dir.Children)
        {
            switch (e)
            {
                case SysfsAttribute { HasShow: true } a:
                    try { a.Show(); }
                    catch (Exception ex) { return $"{e.Path}: read throws {ex.GetType().Name}: {ex.Message}"; }
                    break;
                case SysfsLink l:
                    // Only links within the modelled part of the tree (firmware_node points into /sys/devices/LNXSYSTM:00,
                    // which the model does not show).
                    if (l.Target.StartsWith(Root, StringComparison.Ordinal) && fs.Lookup(l.Target) is null)
                        return $"{e.Path} -> {l.Target} does not resolve";
                    break;
                case SysfsDirectory sub:
                    if (Walk(fs, sub) is { } r) return r;
                    break;
            }
        }
        return null;
    }
}
