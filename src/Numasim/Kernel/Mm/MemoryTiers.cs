using System.Globalization;
using Numasim.Kernel.Drivers;
using Numasim.Kernel.Hotplug;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Mm;

/// <summary>struct memory_tier as the model derives it: the abstract distance chunk it covers, the memory nodes of
/// its memory types (the nodes with memory whose type falls in the chunk) and the nodes of every lower tier
/// (lower_tier_mask, the fallback demotion set).</summary>
internal sealed class MemoryTier(int adistanceStart)
{
    public readonly int AdistanceStart = adistanceStart;
    public readonly SortedSet<int> Nodes = [];
    public SortedSet<int> LowerTierMask = [];
    public int DeviceId => AdistanceStart >> MemoryTiers.ChunkBits;
}

/// <summary>
/// mm/memory-tiers.c: every memory node has a memory type (an abstract distance: MEMTIER_ADISTANCE_DRAM by default;
/// in 6.12 the one an adistance algorithm such as HMAT's computes, <see cref="Profiles.KernelProfile.MemoryTierAdistanceFromHmat"/>),
/// the types are grouped into tiers of MEMTIER_CHUNK_SIZE, and each node of a tier demotes to the nearest nodes of the
/// next lower tier (node_demotion[].preferred). Rebuilt on memory hotplug, when a node gains or loses its memory.
/// A node's type is fixed once computed (node_memory_types[] keeps it across offline), so the tiers and demotion
/// targets are a function of N_MEMORY: the model derives them (compact state: only demotion_enabled).
/// </summary>
internal sealed class MemoryTiers(KernelContext k)
{
    /// <summary>MEMTIER_CHUNK_BITS, MEMTIER_CHUNK_SIZE and MEMTIER_ADISTANCE_DRAM, include/linux/memory-tiers.h (6.1 and 6.12).</summary>
    public const int ChunkBits = 7, ChunkSize = 1 << ChunkBits, AdistanceDram = 4 * ChunkSize + (ChunkSize >> 1);

    /// <summary>MEMTIER_HOTPLUG_PRIO (6.1) / MEMTIER_HOTPLUG_PRI (6.12): 100.</summary>
    private const int HotplugPriority = 100;

    private const string Root = "/sys/devices/virtual/memory_tiering", Bus = "/sys/bus/memory_tiering/devices";

    // node_memory_types[node].memtype->adistance + 1 (0: no type yet); set at a node's first online, kept after (compact state)
    private Snapshots.StateArray<int>? _nodeAdistance;
    private Snapshots.StateValue<bool> _demotionEnabled = null!;

    /// <summary>numa_demotion_enabled (/sys/kernel/mm/numa/demotion_enabled).</summary>
    public bool DemotionEnabled => _demotionEnabled.Value;

    /// <summary>default_dram_nodes (6.12): the nodes with memory and CPUs when memory_tier_init() ran.</summary>
    public SortedSet<int> DefaultDramNodes { get; } = [];

    /// <summary>The adistance algorithms of mt_calc_adistance() (HMAT's): true stops the chain with a value.</summary>
    public Func<int, int?>? AdistanceAlgorithm { get; set; }

    /// <summary>Models memory_tier_init() (subsys_initcall) and numa_init_sysfs(); the memory_tierN devices are a view of
    /// the tiers (device_register() when a tier is created, device_unregister() when its last type leaves).</summary>
    public void Init(MemoryNotifierChain notifiers)
    {
        if (!k.Profile.MemoryTiers) return;
        using var call = k.Trace.Call("memory_tier_init", "mm/memory-tiers.c");
        _demotionEnabled = new Snapshots.StateValue<bool>(k.State, "numa_demotion_enabled");
        _nodeAdistance = new Snapshots.StateArray<int>(k.State, "memory tier node adistance", k.NrNodeIds);
        var root = k.Fs.MakeDirs(Root);
        DeviceCommon.AddUeventAndPower(root);
        root.AddSource(new NumberedSource("memory_tier", TierIds, id => Tiers().Any(t => t.DeviceId == id), (_, name, id) => TierDevice(name, id)));
        k.Fs.MakeDirs(Bus).AddSource(new NumberedSource("memory_tier", TierIds, id => Tiers().Any(t => t.DeviceId == id),
            (_, name, _) => new SysfsLink(name, $"{Root}/{name}")));
        var numa = k.Fs.MakeDirs("/sys/kernel/mm/numa");
        numa.Attr("demotion_enabled", () => DemotionEnabled ? "true\n" : "false\n", StoreDemotionEnabled, 0b110_100_100);
        if (k.Profile.MemoryTierAdistanceFromHmat)
        {
            // 6.12: tiers are assigned in memory_tier_late_init(), once the adistance algorithms registered.
            foreach (var n in k.NodeStates[NodeState.Memory].Bits())
                if (k.NodeStates.Has(n, NodeState.Cpu)) DefaultDramNodes.Add(n);
        }
        else
        {
            foreach (var n in k.NodeStates[NodeState.Memory].Bits()) SetNodeMemoryTier(n);
            EstablishDemotionTargets();
        }
        notifiers.Register(HotplugCallback, HotplugPriority);
    }

    private void TierIds(List<long> ids)
    {
        foreach (var t in Tiers()) ids.Add(t.DeviceId);
    }

    /// <summary>A memory_tierN device: nodelist (nodelist_show()), subsystem, uevent, power/.</summary>
    private SysfsDirectory TierDevice(string name, long id)
    {
        var d = new SysfsDirectory(name);
        d.Attr("nodelist", () => ListOf(Tiers().FirstOrDefault(t => t.DeviceId == id)?.Nodes ?? []));
        d.Link("subsystem", "/sys/bus/memory_tiering");
        DeviceCommon.AddUeventAndPower(d);
        return d;
    }

    /// <summary>Models memory_tier_late_init() (6.12, late_initcall): every memory node without a type gets its tier.</summary>
    public void LateInit()
    {
        if (!k.Profile.MemoryTiers || !k.Profile.MemoryTierAdistanceFromHmat) return;
        foreach (var n in k.NodeStates[NodeState.Memory].Bits()) SetNodeMemoryTier(n);
        EstablishDemotionTargets();
    }

    /// <summary>Models numa_demotion_enabled_store(): kstrtobool(), -EINVAL otherwise.</summary>
    private Errno StoreDemotionEnabled(string v)
    {
        if (Numasim.Kernel.Init.CmdlineParsing.KstrToBool(v) is not bool b) return Errno.EINVAL;
        _demotionEnabled.Mut = b;
        return Errno.None;
    }

    private static string ListOf(IEnumerable<int> nodes)
    {
        var b = new Bitmap(NumaConstants.MaxNumNodes);
        foreach (var n in nodes) b.Set(n);
        return b.ToListString() + "\n";
    }

    private AccessCoordinate _defaultDramPerf;
    private int _defaultDramPerfRefNid = NumaConstants.NumaNoNode;
    private string _defaultDramPerfRefSource = "";
    private bool _defaultDramPerfError;

    /// <summary>Models mt_set_default_dram_perf() (6.12): the first DRAM node's figures are the reference; one more than
    /// 10% off in any figure disables the performance-based abstract distance (EINVAL, with the kernel's lines).</summary>
    public Errno SetDefaultDramPerf(int nid, AccessCoordinate perf, string source)
    {
        if (_defaultDramPerfError) return Errno.EIO;
        if (perf.ReadLatency + perf.WriteLatency == 0 || perf.ReadBandwidth + perf.WriteBandwidth == 0) return Errno.EINVAL;
        if (_defaultDramPerfRefNid == NumaConstants.NumaNoNode)
        {
            _defaultDramPerf = perf;
            _defaultDramPerfRefNid = nid;
            _defaultDramPerfRefSource = source;
            return Errno.None;
        }
        var d = _defaultDramPerf;
        static bool Off(uint v, uint r) => Math.Abs((long)(int)(v - r)) * 10 > r; // abs() of the u32 difference as int
        if (Off(perf.ReadLatency, d.ReadLatency) || Off(perf.WriteLatency, d.WriteLatency) ||
            Off(perf.ReadBandwidth, d.ReadBandwidth) || Off(perf.WriteBandwidth, d.WriteBandwidth))
        {
            k.Log.Printk($"memory-tiers: the performance of DRAM node {nid} mismatches that of the reference");
            k.Log.Printk($"DRAM node {_defaultDramPerfRefNid}.");
            k.Log.Printk($"  performance of reference DRAM node {_defaultDramPerfRefNid} from {_defaultDramPerfRefSource}:");
            DumpHmemAttrs(d);
            k.Log.Printk($"  performance of DRAM node {nid} from {source}:");
            DumpHmemAttrs(perf);
            k.Log.Printk("  disable default DRAM node performance based abstract distance algorithm.");
            _defaultDramPerfError = true;
            return Errno.EINVAL;
        }
        return Errno.None;
    }

    private void DumpHmemAttrs(AccessCoordinate c) =>
        k.Log.Printk($"    read_latency: {c.ReadLatency}, write_latency: {c.WriteLatency}, read_bandwidth: {c.ReadBandwidth}, write_bandwidth: {c.WriteBandwidth}");

    /// <summary>Models mt_perf_to_adistance() (6.12): MEMTIER_ADISTANCE_DRAM scaled by the latency over the reference DRAM's
    /// and by the reference's bandwidth over the node's, in the kernel's integer order; null on its errors.</summary>
    public int? PerfToAdistance(AccessCoordinate perf)
    {
        if (_defaultDramPerfError) return null;
        if (perf.ReadLatency + perf.WriteLatency == 0 || perf.ReadBandwidth + perf.WriteBandwidth == 0) return null;
        if (_defaultDramPerfRefNid == NumaConstants.NumaNoNode) return null;
        var d = _defaultDramPerf;
        long adist = (long)AdistanceDram * (perf.ReadLatency + perf.WriteLatency) / (d.ReadLatency + d.WriteLatency)
            * (d.ReadBandwidth + d.WriteBandwidth) / (perf.ReadBandwidth + perf.WriteBandwidth);
        return (int)adist;
    }

    /// <summary>Models mt_calc_adistance(): the algorithms in priority order; MEMTIER_ADISTANCE_DRAM when none answers.</summary>
    private int CalcAdistance(int node) => (k.Profile.MemoryTierAdistanceFromHmat ? AdistanceAlgorithm?.Invoke(node) : null) ?? AdistanceDram;

    /// <summary>Models set_node_memory_tier(): the node's memory type, computed the first time (mt_find_alloc_memory_type(),
    /// __init_node_memory_type()) and kept; the node then counts in the tier of its type.</summary>
    private void SetNodeMemoryTier(int node)
    {
        if (!k.NodeStates.Has(node, NodeState.Memory)) return;
        if (!HasMemoryType(node)) _nodeAdistance!.Set(node, CalcAdistance(node) + 1);
        int adist = AdistanceOf(node);
        k.Trace.Change($"node {node}: memory type adistance {adist} in memory_tier{adist >> ChunkBits}");
    }

    /// <summary>The node's memory type's abstract distance (the default DRAM type's for a node never given one).</summary>
    private int AdistanceOf(int node) => HasMemoryType(node) ? _nodeAdistance![node] - 1 : AdistanceDram;

    private bool HasMemoryType(int node) => _nodeAdistance is { } a && (uint)node < (uint)a.Length && a[node] != 0;

    /// <summary>The tiers now (memory_tiers, by adistance_start): find_create_memory_tier() groups the memory nodes by
    /// round_down(adistance, MEMTIER_CHUNK_SIZE); clear_node_memory_tier() drops a node without memory and with it an
    /// emptied tier. lower_tier_mask as establish_demotion_targets() sets it.</summary>
    private List<MemoryTier> Tiers()
    {
        var byStart = new SortedDictionary<int, MemoryTier>();
        foreach (var n in k.NodeStates[NodeState.Memory].Bits())
        {
            int start = AdistanceOf(n) / ChunkSize * ChunkSize;
            if (!byStart.TryGetValue(start, out var t)) byStart[start] = t = new MemoryTier(start);
            t.Nodes.Add(n);
        }
        var tiers = byStart.Values.ToList();
        var lower = new SortedSet<int>(k.NodeStates[NodeState.Memory].Bits());
        foreach (var t in tiers)
        {
            lower.ExceptWith(t.Nodes);
            t.LowerTierMask = [.. lower];
        }
        return tiers;
    }

    /// <summary>Models establish_demotion_targets(): each memory node of a tier that is not the last demotes to the
    /// nodes of the next tier at the best distance (find_next_best_node() order); 6.12 then prints them. The model
    /// derives the targets from the tiers when asked (<see cref="Preferred"/>); this is the rebuild's log line.</summary>
    private void EstablishDemotionTargets()
    {
        using var call = k.Trace.Call("establish_demotion_targets", "mm/memory-tiers.c");
        if (k.Profile.PrintsDemotionTargets) DumpDemotionTargets();
    }

    /// <summary>node_demotion[node].preferred: the next tier's nodes at the best distance, found with
    /// find_next_best_node() (node_load[] taken as zero).</summary>
    private SortedSet<int> Preferred(int node, List<MemoryTier> tiers)
    {
        var preferred = new SortedSet<int>();
        int at = tiers.FindIndex(t => t.Nodes.Contains(node));
        if (at < 0 || at == tiers.Count - 1) return preferred;
        var memory = k.NodeStates[NodeState.Memory];
        var used = memory.Clone();
        foreach (var n in tiers[at + 1].Nodes) used.Clear(n);
        var load = new int[k.NrNodeIds];
        int best = -1;
        while (true)
        {
            int target = Zonelists.FindNextBestNode(k, node, used, load);
            if (target == NumaConstants.NumaNoNode) break;
            int distance = k.Distance.Get(node, target);
            if (distance != best && best != -1) break;
            best = distance;
            preferred.Add(target);
        }
        return preferred;
    }

    /// <summary>What dump_demotion_targets() prints for a node (6.12), and what a scenario's demotion expectation reads:
    /// "null", or "preferred: LIST, fallback: LIST". Null for a node without a tier (no memory).</summary>
    public string? DemotionTargets(int node)
    {
        var tiers = Tiers();
        if (tiers.Find(t => t.Nodes.Contains(node)) is not { } tier) return null;
        var preferred = Preferred(node, tiers);
        if (preferred.Count == 0) return "null";
        return $"preferred: {ListOf(preferred).TrimEnd('\n')}, fallback: {ListOf(tier.LowerTierMask).TrimEnd('\n')}";
    }

    /// <summary>Models next_demotion_node() without its random pick: the preferred targets of a node (empty: none).</summary>
    public IReadOnlyCollection<int> PreferredTargets(int node) => Preferred(node, Tiers());

    /// <summary>Models node_is_toptier(): top_tier_adistance is the end of the lowest tier holding a CPU node.</summary>
    public bool NodeIsToptier(int node)
    {
        var tiers = Tiers();
        if (tiers.Find(t => t.Nodes.Contains(node)) is not { } tier) return true;
        for (int i = tiers.Count - 1; i >= 0; i--)
            if (tiers[i].Nodes.Any(n => k.NodeStates.Has(n, NodeState.Cpu)))
                return tier.AdistanceStart <= tiers[i].AdistanceStart + ChunkSize - 1;
        return false;
    }

    /// <summary>Models dump_demotion_targets() (6.12).</summary>
    private void DumpDemotionTargets()
    {
        foreach (var node in k.NodeStates[NodeState.Memory].Bits())
            if (DemotionTargets(node) is { } text) k.Log.Printk($"Demotion targets for Node {node}: {text}");
    }

    /// <summary>Models memtier_hotplug_callback(): a node that loses (MEM_OFFLINE) or gains (MEM_ONLINE) its memory.</summary>
    private Errno HotplugCallback(MemoryAction action, MemoryNotify arg)
    {
        if (arg.StatusChangeNid < 0) return Errno.None;
        if (action == MemoryAction.Offline && (HasMemoryType(arg.StatusChangeNid) || !k.Profile.MemoryTierAdistanceFromHmat))
            EstablishDemotionTargets();
        if (action == MemoryAction.Online)
        {
            SetNodeMemoryTier(arg.StatusChangeNid);
            EstablishDemotionTargets();
        }
        return Errno.None;
    }
}
