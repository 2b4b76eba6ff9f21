using System.Globalization;
using Numasim.Kernel.Drivers;
using Numasim.Kernel.Hotplug;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Mm;

/// <summary>struct memory_dev_type, include/linux/memory-tiers.h: an abstract distance and the nodes of that type;
/// Tier is the tier whose memory_types list holds it (tier_sibling), null when unlinked.</summary>
internal sealed class MemoryDevType(int adistance)
{
    public readonly int Adistance = adistance;
    public readonly SortedSet<int> Nodes = [];
    public MemoryTier? Tier;
}

/// <summary>struct memory_tier: the abstract distance chunk it covers, its memory types, the nodes of every lower
/// tier (lower_tier_mask, the fallback demotion set) and its memory_tierN device.</summary>
internal sealed class MemoryTier(int adistanceStart)
{
    public readonly int AdistanceStart = adistanceStart;
    public readonly List<MemoryDevType> MemoryTypes = [];
    public SortedSet<int> LowerTierMask = [];
    public int DeviceId => AdistanceStart >> MemoryTiers.ChunkBits;

    /// <summary>get_memtier_nodemask(): the nodes of all its memory types.</summary>
    public SortedSet<int> Nodes()
    {
        var s = new SortedSet<int>();
        foreach (var t in MemoryTypes) s.UnionWith(t.Nodes);
        return s;
    }
}

/// <summary>
/// mm/memory-tiers.c: every memory node has a memory type (an abstract distance: MEMTIER_ADISTANCE_DRAM by default;
/// in 6.12 the one an adistance algorithm such as HMAT's computes, <see cref="KernelProfile.MemoryTierAdistanceFromHmat"/>),
/// the types are grouped into tiers of MEMTIER_CHUNK_SIZE, and each node of a tier demotes to the nearest nodes of the
/// next lower tier (node_demotion[].preferred). Rebuilt on memory hotplug, when a node gains or loses its memory.
/// </summary>
internal sealed class MemoryTiers(KernelContext k)
{
    /// <summary>MEMTIER_CHUNK_BITS, MEMTIER_CHUNK_SIZE and MEMTIER_ADISTANCE_DRAM, include/linux/memory-tiers.h (6.1 and 6.12).</summary>
    public const int ChunkBits = 7, ChunkSize = 1 << ChunkBits, AdistanceDram = 4 * ChunkSize + (ChunkSize >> 1);

    /// <summary>MEMTIER_HOTPLUG_PRIO (6.1) / MEMTIER_HOTPLUG_PRI (6.12): 100.</summary>
    private const int HotplugPriority = 100;

    private const string Root = "/sys/devices/virtual/memory_tiering", Bus = "/sys/bus/memory_tiering/devices";

    private readonly List<MemoryTier> _tiers = [];                   // memory_tiers, by adistance_start
    private readonly List<MemoryDevType> _defaultTypes = [];          // default_memory_types (6.12)
    private readonly Dictionary<int, (MemoryDevType Type, int MapCount)> _nodeTypes = []; // node_memory_types[]
    private readonly Dictionary<int, MemoryTier> _nodeTier = [];       // pgdat->memtier
    private readonly Dictionary<int, SortedSet<int>> _demotion = [];   // node_demotion[].preferred
    private MemoryDevType _defaultDram = null!;
    private int _topTierAdistance;

    /// <summary>numa_demotion_enabled (/sys/kernel/mm/numa/demotion_enabled).</summary>
    public bool DemotionEnabled { get; private set; }

    /// <summary>default_dram_nodes (6.12): the nodes with memory and CPUs when memory_tier_init() ran.</summary>
    public SortedSet<int> DefaultDramNodes { get; } = [];

    /// <summary>The adistance algorithms of mt_calc_adistance() (HMAT's): true stops the chain with a value.</summary>
    public Func<int, int?>? AdistanceAlgorithm { get; set; }

    /// <summary>Models memory_tier_init() (subsys_initcall) and numa_init_sysfs().</summary>
    public void Init(MemoryNotifierChain notifiers)
    {
        if (!k.Profile.MemoryTiers) return;
        using var call = k.Trace.Call("memory_tier_init", "mm/memory-tiers.c");
        k.Fs.MakeDirs(Bus);
        DeviceCommon.AddUeventAndPower(k.Fs.MakeDirs(Root));
        var numa = k.Fs.MakeDirs("/sys/kernel/mm/numa");
        numa.Attr("demotion_enabled", () => DemotionEnabled ? "true\n" : "false\n", StoreDemotionEnabled, 0b110_100_100);
        _defaultDram = FindAllocMemoryType(AdistanceDram);
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

    /// <summary>Models memory_tier_late_init() (6.12, late_initcall): every memory node without a type gets its tier.</summary>
    public void LateInit()
    {
        if (!k.Profile.MemoryTiers || !k.Profile.MemoryTierAdistanceFromHmat) return;
        foreach (var n in k.NodeStates[NodeState.Memory].Bits())
            if (!_nodeTypes.ContainsKey(n)) SetNodeMemoryTier(n);
        EstablishDemotionTargets();
    }

    /// <summary>Models numa_demotion_enabled_store(): kstrtobool(), -EINVAL otherwise.</summary>
    private Errno StoreDemotionEnabled(string v)
    {
        if (Numasim.Kernel.Init.CmdlineParsing.KstrToBool(v) is not bool b) return Errno.EINVAL;
        DemotionEnabled = b;
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

    /// <summary>Models mt_find_alloc_memory_type() (6.12; alloc_memory_type() in 6.1): one type per abstract distance.</summary>
    private MemoryDevType FindAllocMemoryType(int adist)
    {
        foreach (var t in _defaultTypes) if (t.Adistance == adist) return t;
        var m = new MemoryDevType(adist);
        _defaultTypes.Add(m);
        return m;
    }

    /// <summary>Models mt_calc_adistance(): the algorithms in priority order; MEMTIER_ADISTANCE_DRAM when none answers.</summary>
    private int CalcAdistance(int node) => (k.Profile.MemoryTierAdistanceFromHmat ? AdistanceAlgorithm?.Invoke(node) : null) ?? AdistanceDram;

    /// <summary>Models set_node_memory_tier(): the node's memory type (its first one stays), linked into its tier.</summary>
    private MemoryTier? SetNodeMemoryTier(int node)
    {
        if (!k.NodeStates.Has(node, NodeState.Memory)) return null;
        var memtype = _defaultDram;
        int adist = CalcAdistance(node);
        if (!_nodeTypes.ContainsKey(node)) memtype = FindAllocMemoryType(adist);
        // __init_node_memory_type()
        if (!_nodeTypes.TryGetValue(node, out var nt)) _nodeTypes[node] = nt = (memtype, 0);
        if (nt.Type == memtype) _nodeTypes[node] = (memtype, nt.MapCount + 1);
        memtype = _nodeTypes[node].Type;
        memtype.Nodes.Add(node);
        var tier = FindCreateMemoryTier(memtype);
        _nodeTier[node] = tier;
        k.Trace.Change($"node {node}: memory type adistance {memtype.Adistance} in memory_tier{tier.DeviceId}");
        return tier;
    }

    /// <summary>Models find_create_memory_tier(): the tier of round_down(adistance, MEMTIER_CHUNK_SIZE), created (with
    /// its memory_tierN device) in adistance order when missing.</summary>
    private MemoryTier FindCreateMemoryTier(MemoryDevType memtype)
    {
        int adistance = memtype.Adistance / ChunkSize * ChunkSize;
        if (memtype.Tier is { } linked) return linked;
        int at = 0;
        while (at < _tiers.Count && _tiers[at].AdistanceStart < adistance) at++;
        MemoryTier tier;
        if (at < _tiers.Count && _tiers[at].AdistanceStart == adistance) tier = _tiers[at];
        else
        {
            tier = new MemoryTier(adistance);
            _tiers.Insert(at, tier);
            RegisterTierDevice(tier);
        }
        tier.MemoryTypes.Insert(0, memtype);
        memtype.Tier = tier;
        return tier;
    }

    /// <summary>Models device_register() of a memory_tierN device on the memory_tiering bus.</summary>
    private void RegisterTierDevice(MemoryTier tier)
    {
        var name = "memory_tier" + tier.DeviceId.ToString(CultureInfo.InvariantCulture);
        var d = ((SysfsDirectory)k.Fs.Lookup(Root)!).Dir(name);
        d.Attr("nodelist", () => ListOf(tier.Nodes()));
        d.Link("subsystem", "/sys/bus/memory_tiering");
        DeviceCommon.AddUeventAndPower(d);
        ((SysfsDirectory)k.Fs.Lookup(Bus)!).Link(name, $"{Root}/{name}");
    }

    /// <summary>Models clear_node_memory_tier(): the node leaves its type's nodes; an empty type leaves its tier, and an
    /// empty tier is destroyed (its device unregistered). The node keeps its memory type for a later online.</summary>
    private bool ClearNodeMemoryTier(int node)
    {
        if (!_nodeTier.Remove(node, out var tier)) return false;
        var memtype = _nodeTypes[node].Type;
        memtype.Nodes.Remove(node);
        if (memtype.Nodes.Count == 0)
        {
            tier.MemoryTypes.Remove(memtype);
            memtype.Tier = null;
            if (tier.MemoryTypes.Count == 0)
            {
                _tiers.Remove(tier);
                var name = "memory_tier" + tier.DeviceId.ToString(CultureInfo.InvariantCulture);
                ((SysfsDirectory)k.Fs.Lookup(Root)!).Remove(name);
                ((SysfsDirectory)k.Fs.Lookup(Bus)!).Remove(name);
            }
        }
        k.Trace.Change($"node {node}: left memory_tier{tier.DeviceId}");
        return true;
    }

    /// <summary>Models establish_demotion_targets(): each memory node of a tier that is not the last demotes to the
    /// nodes of the next tier at the best distance (find_next_best_node() order); top_tier_adistance is the lowest tier
    /// holding a CPU node; every tier's lower_tier_mask the memory nodes of the tiers below it. 6.12 then prints them.</summary>
    private void EstablishDemotionTargets()
    {
        using var call = k.Trace.Call("establish_demotion_targets", "mm/memory-tiers.c");
        _demotion.Clear(); // disable_all_demotion_targets()
        foreach (var t in _tiers) t.LowerTierMask = [];
        var memory = k.NodeStates[NodeState.Memory];
        var load = new int[k.NrNodeIds];
        foreach (var node in memory.Bits())
        {
            if (!_nodeTier.TryGetValue(node, out var tier) || tier == _tiers[^1]) continue;
            var next = _tiers[_tiers.IndexOf(tier) + 1].Nodes();
            var used = memory.Clone();
            foreach (var n in next) used.Clear(n);
            int best = -1;
            var preferred = new SortedSet<int>();
            while (true)
            {
                int target = Zonelists.FindNextBestNode(k, node, used, load);
                if (target == NumaConstants.NumaNoNode) break;
                int distance = k.Distance.Get(node, target);
                if (distance != best && best != -1) break;
                best = distance;
                preferred.Add(target);
            }
            if (preferred.Count > 0) _demotion[node] = preferred;
        }
        for (int i = _tiers.Count - 1; i >= 0; i--)
            if (_tiers[i].Nodes().Any(n => k.NodeStates.Has(n, NodeState.Cpu)))
            {
                _topTierAdistance = _tiers[i].AdistanceStart + ChunkSize - 1;
                break;
            }
        var lower = new SortedSet<int>(memory.Bits());
        foreach (var t in _tiers)
        {
            lower.ExceptWith(t.Nodes());
            t.LowerTierMask = [.. lower];
        }
        if (k.Profile.PrintsDemotionTargets) DumpDemotionTargets();
    }

    /// <summary>What dump_demotion_targets() prints for a node (6.12), and what a scenario's demotion expectation reads:
    /// "null", or "preferred: LIST, fallback: LIST". Null for a node without a tier.</summary>
    public string? DemotionTargets(int node)
    {
        if (!_nodeTier.TryGetValue(node, out var tier)) return null;
        if (!_demotion.TryGetValue(node, out var preferred)) return "null";
        return $"preferred: {ListOf(preferred).TrimEnd('\n')}, fallback: {ListOf(tier.LowerTierMask).TrimEnd('\n')}";
    }

    /// <summary>Models next_demotion_node() without its random pick: the preferred targets of a node (empty: none).</summary>
    public IReadOnlyCollection<int> PreferredTargets(int node) => _demotion.TryGetValue(node, out var p) ? p : [];

    /// <summary>Models node_is_toptier().</summary>
    public bool NodeIsToptier(int node) => !_nodeTier.TryGetValue(node, out var t) || t.AdistanceStart <= _topTierAdistance;

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
        if (action == MemoryAction.Offline && ClearNodeMemoryTier(arg.StatusChangeNid)) EstablishDemotionTargets();
        if (action == MemoryAction.Online && SetNodeMemoryTier(arg.StatusChangeNid) is not null) EstablishDemotionTargets();
        return Errno.None;
    }
}
