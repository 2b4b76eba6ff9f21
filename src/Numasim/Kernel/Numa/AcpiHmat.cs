using System.Globalization;
using Numasim.Firmware;
using Numasim.Kernel.Arch;
using Numasim.Kernel.Drivers;
using Numasim.Kernel.Hotplug;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Numa;

/// <summary>struct access_coordinate (6.12; struct node_hmem_attrs in 6.1): what nodeN/accessK/initiators/ shows.</summary>
internal struct AccessCoordinate
{
    public uint ReadBandwidth, WriteBandwidth, ReadLatency, WriteLatency;
}

/// <summary>struct node_cache_attrs, include/linux/node.h: indexing 0 direct-mapped, 1 indexed, 2 other; write policy
/// 0 write-back, 1 write-through, 2 other.</summary>
internal readonly record struct NodeCacheAttrs(int Level, ulong Size, uint LineSize, uint Indexing, uint WritePolicy);

/// <summary>struct memory_target, drivers/acpi/numa/hmat.c: a memory proximity domain of the SRAT, its local
/// initiator (PXM_INVAL: none) and its memory-side caches (fixed after boot). Its access class coordinates and
/// whether it was registered (once per boot) are compact state in <see cref="AcpiHmat"/>.</summary>
internal sealed class HmatTarget(int memoryPxm, int index)
{
    public const int PxmInval = -1;
    public readonly int MemoryPxm = memoryPxm;
    public readonly int Index = index;
    public int ProcessorPxm = PxmInval;
    public readonly List<NodeCacheAttrs> Caches = [];
}

/// <summary>One link register_memory_node_under_compute_node() made: target index, access class, initiator node.</summary>
internal readonly record struct HmatLink(int Target, int Access, int InitiatorNid);

/// <summary>struct memory_initiator: a processor proximity domain the localities name, and whether its node had a CPU
/// (N_CPU) when the table was parsed.</summary>
internal readonly record struct HmatInitiator(int ProcessorPxm, bool HasCpu);

/// <summary>
/// drivers/acpi/numa/hmat.c (v6.1 and v6.12 alike for what QEMU's tables reach): the SRAT's memory ranges become
/// targets, the HMAT's structures are parsed with their boot lines, and every online target node gets its access
/// classes (access0: the best initiators, access1: the best initiators with CPUs), performance attributes and
/// memory-side caches; a memory-only node that comes online later is registered by the memory notifier.
/// </summary>
internal sealed class AcpiHmat(KernelContext k)
{
    // Compact state (docs/checker.md), made at hmat_init(): each target's two access coordinates, the clock value of
    // its registration (0: not yet) and of each node device's registration, and the links registered.
    private Snapshots.StateArray<AccessCoordinate> _coord = null!;
    private Snapshots.StateArray<long> _registeredAt = null!, _nodeDeviceAt = null!;
    private Snapshots.StateValue<long> _clock = null!;
    private Snapshots.StateArray<HmatLink> _links = null!;

    // enum locality_types: the order breaks ties when picking the best initiators.
    private const int WriteLatency = 0, ReadLatency = 1, WriteBandwidth = 2, ReadBandwidth = 3;
    private const byte AccessLatency = 0, ReadLatencyType = 1, WriteLatencyType = 2, AccessBandwidth = 3, ReadBandwidthType = 4, WriteBandwidthType = 5;
    /// <summary>hmat_callback_nb.priority (6.1) / HMAT_CALLBACK_PRI (6.12), include/linux/memory.h.</summary>
    private const int CallbackPriority = 2;

    private readonly List<HmatTarget> _targets = [];
    private List<HmatInitiator> _initiators = [];
    private readonly HmatLocality?[] _localityTypes = new HmatLocality?[4];
    private int _localities;
    private byte _revision;

    /// <summary>The target of a proximity domain (find_mem_target()), or null.</summary>
    public HmatTarget? FindTarget(int pxm) => _targets.Find(t => t.MemoryPxm == pxm);

    /// <summary>Whether hmat_init() kept its structures (an HMAT was found and parsed).</summary>
    public bool Active { get; private set; }

    /// <summary>A target's access class coordinates (struct access_coordinate coord[access]).</summary>
    public ref readonly AccessCoordinate Coord(HmatTarget t, int access) => ref _coord[t.Index * 2 + access];

    /// <summary>Whether hmat_register_target() ran for the target (target->registered).</summary>
    public bool Registered(HmatTarget t) => _registeredAt[t.Index] != 0;

    /// <summary>Models hmat_init(): device_initcall in 6.1, subsys_initcall in 6.12 (after memory_tier_init()).</summary>
    public void Init(MemoryNotifierChain notifiers, NodeDevices nodes)
    {
        if (k.Firmware.Hmat is not { } table || !k.Firmware.HasSrat || k.Boot.NumaNoAcpi) return;
        using var call = k.Trace.Call("hmat_init", "drivers/acpi/numa/hmat.c");
        foreach (var m in k.Firmware.SratMemory) AllocMemoryTarget(m.Pxm); // srat_parse_mem_affinity()
        _coord = new Snapshots.StateArray<AccessCoordinate>(k.State, "hmat access coordinates", _targets.Count * 2);
        _registeredAt = new Snapshots.StateArray<long>(k.State, "hmat target registered at", _targets.Count);
        _nodeDeviceAt = new Snapshots.StateArray<long>(k.State, "hmat node device registered at", k.NrNodeIds);
        _clock = new Snapshots.StateValue<long>(k.State, "hmat clock");
        _links = new Snapshots.StateArray<HmatLink>(k.State, "hmat links");
        for (int n = 0; n < k.NrNodeIds; n++) if (nodes.IsRegistered(n)) NodeDeviceRegistered(n);
        nodes.NodeDeviceRegistered = NodeDeviceRegistered;
        nodes.AcpiHmatView = AddTo;
        _revision = table.Revision;
        if (_revision is not (1 or 2))
        {
            Pr($"Ignoring: Unknown revision:{_revision}");
            return;
        }
        // acpi_table_parse_entries() per type: a handler's error makes the whole table "invalid".
        bool ok = table.Proximity.Select(ParseProximityDomain).ToList().All(r => r);
        ok = ok && table.Localities.Select(ParseLocality).ToList().All(r => r);
        if (ok) foreach (var c in table.Caches) ParseCache(c);
        if (!ok)
        {
            Pr("Ignoring: Invalid table");
            _targets.Clear();
            return;
        }
        foreach (var t in _targets) RegisterTarget(t);
        Active = true;
        notifiers.Register(Callback, CallbackPriority);
    }

    private void Pr(string text) => k.Log.Printk("acpi/hmat: " + text);

    private int PxmToNode(int pxm) => AcpiNuma.PxmToNode(k, pxm);

    private bool NodeHasCpu(int nid) => nid >= 0 && k.NodeStates.Has(nid, NodeState.Cpu);

    private void AllocMemoryTarget(int pxm)
    {
        if (FindTarget(pxm) is null) _targets.Add(new HmatTarget(pxm, _targets.Count));
    }

    /// <summary>Models alloc_memory_initiator(): PXMs without a node are skipped.</summary>
    private void AllocMemoryInitiator(int pxm)
    {
        int nid = PxmToNode(pxm);
        if (nid == NumaConstants.NumaNoNode || _initiators.Exists(i => i.ProcessorPxm == pxm)) return;
        _initiators.Add(new HmatInitiator(pxm, NodeHasCpu(nid)));
    }

    /// <summary>Models hmat_parse_proximity_domain() (revision 2: the memory domain must be an SRAT target).</summary>
    private bool ParseProximityDomain(HmatProximity p)
    {
        Pr(string.Create(CultureInfo.InvariantCulture, $"Memory Flags:{p.Flags:x4} Processor Domain:{p.ProcessorPd} Memory Domain:{p.MemoryPd}"));
        HmatTarget? target = null;
        if ((_revision == 1 && (p.Flags & 2) != 0) || _revision > 1)
        {
            target = FindTarget((int)p.MemoryPd);
            if (target is null) return false; // pr_debug("Memory Domain missing from SRAT")
        }
        if (target is not null && (p.Flags & 1) != 0)
        {
            if (PxmToNode((int)p.ProcessorPd) == NumaConstants.NumaNoNode) return false; // "Invalid Processor Domain"
            target.ProcessorPxm = (int)p.ProcessorPd;
        }
        return true;
    }

    private static string TypeName(byte t) => t switch
    {
        AccessLatency => "Access Latency", ReadLatencyType => "Read Latency", WriteLatencyType => "Write Latency",
        AccessBandwidth => "Access Bandwidth", ReadBandwidthType => "Read Bandwidth", WriteBandwidthType => "Write Bandwidth", _ => "Reserved",
    };

    private static bool IsLatency(byte t) => t <= WriteLatencyType;

    /// <summary>Models hmat_normalize(): 0 for an invalid or overflowing entry; revision 2 latencies from ps to ns.</summary>
    private uint Normalize(ushort entry, ulong baseUnit, byte type)
    {
        if (entry is 0xffff or 0) return 0;
        if (baseUnit > uint.MaxValue / entry) return 0;
        uint value = (uint)(entry * baseUnit);
        if (_revision == 1)
        {
            if (value < 10) return 0;
            return (value + 9) / 10;
        }
        if (_revision == 2 && IsLatency(type)) value = (uint)(((ulong)value + 999) / 1000);
        return value;
    }

    /// <summary>Models hmat_update_target_access().</summary>
    private void UpdateTargetAccess(HmatTarget t, byte type, uint value, int access)
    {
        ref var c = ref _coord.Mut(t.Index * 2 + access);
        switch (type)
        {
            case AccessLatency: c.ReadLatency = c.WriteLatency = value; break;
            case ReadLatencyType: c.ReadLatency = value; break;
            case WriteLatencyType: c.WriteLatency = value; break;
            case AccessBandwidth: c.ReadBandwidth = c.WriteBandwidth = value; break;
            case ReadBandwidthType: c.ReadBandwidth = value; break;
            case WriteBandwidthType: c.WriteBandwidth = value; break;
        }
    }

    /// <summary>Models hmat_parse_locality() with hmat_add_locality() for the memory hierarchy.</summary>
    private bool ParseLocality(HmatLocality loc)
    {
        var inv = CultureInfo.InvariantCulture;
        int ipds = loc.Initiators.Count, tpds = loc.Targets.Count;
        Pr(string.Create(inv, $"Locality: Flags:{loc.Flags:x2} Type:{TypeName(loc.DataType)} Initiator Domains:{ipds} Target Domains:{tpds} Base:{loc.EntryBaseUnit}"));
        bool memory = (loc.Flags & 0xf) == 0;
        string suffix = loc.DataType <= WriteBandwidthType ? (IsLatency(loc.DataType) ? " nsec" : " MB/s") : "";
        for (int i = 0; i < ipds; i++)
        {
            int init = (int)loc.Initiators[i];
            AllocMemoryInitiator(init);
            for (int j = 0; j < tpds; j++)
            {
                uint value = Normalize(loc.Entries[i * tpds + j], loc.EntryBaseUnit, loc.DataType);
                Pr(string.Create(inv, $"  Initiator-Target[{init}-{loc.Targets[j]}]:{value}{suffix}"));
                if (!memory) continue;
                // hmat_update_target(): the local initiator's figures are access0, and access1 when it has a CPU
                if (FindTarget((int)loc.Targets[j]) is { } target && target.ProcessorPxm == init)
                {
                    UpdateTargetAccess(target, loc.DataType, value, 0);
                    if (NodeHasCpu(PxmToNode(init))) UpdateTargetAccess(target, loc.DataType, value, 1);
                }
            }
        }
        if (memory) AddLocality(loc);
        return true;
    }

    private void AddLocality(HmatLocality loc)
    {
        _localities++;
        switch (loc.DataType)
        {
            case AccessLatency: _localityTypes[ReadLatency] = _localityTypes[WriteLatency] = loc; break;
            case ReadLatencyType: _localityTypes[ReadLatency] = loc; break;
            case WriteLatencyType: _localityTypes[WriteLatency] = loc; break;
            case AccessBandwidth: _localityTypes[ReadBandwidth] = _localityTypes[WriteBandwidth] = loc; break;
            case ReadBandwidthType: _localityTypes[ReadBandwidth] = loc; break;
            case WriteBandwidthType: _localityTypes[WriteBandwidth] = loc; break;
        }
    }

    /// <summary>Models hmat_parse_cache(): the attributes decoded into node_cache_attrs of the target.</summary>
    private void ParseCache(HmatCacheInfo c)
    {
        uint attrs = c.Attributes;
        Pr(string.Create(CultureInfo.InvariantCulture, $"Cache: Domain:{c.MemoryPd} Size:{c.Size} Attrs:{attrs:x8} SMBIOS Handles:0"));
        if (FindTarget((int)c.MemoryPd) is not { } target) return;
        uint indexing = ((attrs >> 8) & 0xf) switch { 1 => 0u, 2 => 1u, _ => 2u };
        uint policy = ((attrs >> 12) & 0xf) switch { 1 => 0u, 2 => 1u, _ => 2u };
        target.Caches.Add(new NodeCacheAttrs((int)((attrs >> 4) & 0xf), c.Size, attrs >> 16, indexing, policy));
    }

    /// <summary>Models hmat_initiator_perf(): the entry of this initiator and target, normalized; 0 when either is absent.</summary>
    private uint InitiatorPerf(HmatTarget t, HmatInitiator init, HmatLocality loc)
    {
        int idx = -1, tdx = -1;
        for (int i = 0; i < loc.Initiators.Count; i++) if (loc.Initiators[i] == init.ProcessorPxm) { idx = i; break; }
        if (idx < 0) return 0;
        for (int i = 0; i < loc.Targets.Count; i++) if (loc.Targets[i] == t.MemoryPxm) { tdx = i; break; }
        if (tdx < 0) return 0;
        return Normalize(loc.Entries[idx * loc.Targets.Count + tdx], loc.EntryBaseUnit, loc.DataType);
    }

    /// <summary>Models hmat_update_best(): lower latency, higher bandwidth.</summary>
    private static bool UpdateBest(byte type, uint value, ref uint best)
    {
        if (value == 0) return false;
        if (IsLatency(type) ? (best == 0 || best > value) : (best == 0 || best < value))
        {
            best = value;
            return true;
        }
        return false;
    }

    /// <summary>Models hmat_update_target_attrs() (6.12; the body of hmat_register_target_initiators() in 6.1): the
    /// initiators of access class <paramref name="access"/> of a target, updating its coordinates with the best figures
    /// when the target names no usable local initiator.</summary>
    public SortedSet<int> UpdateTargetAttrs(HmatTarget t, int access)
    {
        var nodes = new SortedSet<int>();
        if (t.ProcessorPxm != HmatTarget.PxmInval && (access == 0 || NodeHasCpu(PxmToNode(t.ProcessorPxm))))
        {
            nodes.Add(t.ProcessorPxm);
            return nodes;
        }
        if (_localities == 0 || _initiators.Count == 0) return nodes;
        _initiators = [.. _initiators.OrderBy(i => i.ProcessorPxm)]; // list_sort(initiator_cmp)
        foreach (var i in _initiators) nodes.Add(i.ProcessorPxm);
        for (int type = WriteLatency; type <= ReadBandwidth; type++)
        {
            if (_localityTypes[type] is not { } loc) continue;
            uint best = 0;
            foreach (var init in _initiators)
            {
                if (access == 1 && !init.HasCpu) { nodes.Remove(init.ProcessorPxm); continue; }
                if (!nodes.Contains(init.ProcessorPxm)) continue;
                uint value = InitiatorPerf(t, init, loc);
                if (UpdateBest(loc.DataType, value, ref best)) nodes.RemoveWhere(p => p < init.ProcessorPxm); // bitmap_clear(p_nodes, 0, pxm)
                if (value != best) nodes.Remove(init.ProcessorPxm);
            }
            if (best != 0) UpdateTargetAccess(t, loc.DataType, best, access);
        }
        return nodes;
    }

    /// <summary>Models hmat_register_target() / hmat_hotplug_target(): an online target node, once per boot:
    /// hmat_register_target_initiators() (links of both online nodes), node_add_cache(), node_set_perf_attrs().</summary>
    private void RegisterTarget(HmatTarget t)
    {
        int nid = PxmToNode(t.MemoryPxm);
        if (nid == NumaConstants.NumaNoNode || !k.NodeStates.Has(nid, NodeState.Online) || Registered(t)) return;
        using var call = k.Trace.Call("hmat_register_target", "drivers/acpi/numa/hmat.c", $"node {nid}");
        for (int access = 0; access < 2; access++)
            foreach (var pxm in UpdateTargetAttrs(t, access))
            {
                int cpuNid = PxmToNode(pxm);
                if (cpuNid >= 0 && k.NodeStates.Has(cpuNid, NodeState.Online)) _links.Add(new HmatLink(t.Index, access, cpuNid));
            }
        _registeredAt.Set(t.Index, ++_clock.Mut);
        k.Trace.Change($"node {nid}: access0/access1 and memory-side caches registered");
    }

    /// <summary>__register_one_node(): a new node device (it carries none of what was registered before it).</summary>
    private void NodeDeviceRegistered(int nid)
    {
        if ((uint)nid < (uint)_nodeDeviceAt.Length) _nodeDeviceAt.Set(nid, ++_clock.Mut);
    }

    /// <summary>The nodeN view: what register_memory_node_under_compute_node(), node_set_perf_attrs() and node_add_cache()
    /// made under this node device (registrations after the device was registered).</summary>
    private void AddTo(SysfsDirectory node, int nid)
    {
        if (!Active || (uint)nid >= (uint)_nodeDeviceAt.Length) return;
        long device = _nodeDeviceAt[nid];
        foreach (var t in _targets)
        {
            long at = _registeredAt[t.Index];
            if (at == 0 || at < device) continue;
            int targetNid = PxmToNode(t.MemoryPxm);
            if (targetNid == nid)
            {
                for (int access = 0; access < 2; access++) NodeHmatView.SetPerfAttrs(node, Coord(t, access), access);
                foreach (var c in t.Caches) NodeHmatView.AddCache(node, c);
            }
            foreach (var l in _links.Items)
            {
                if (l.Target != t.Index) continue;
                if (targetNid == nid) NodeHmatView.Link(node, l.Access, "initiators", l.InitiatorNid);
                if (l.InitiatorNid == nid) NodeHmatView.Link(node, l.Access, "targets", targetNid);
            }
        }
    }

    /// <summary>Models hmat_set_default_dram_perf() and, when it succeeds, register_mt_adistance_algorithm(&amp;hmat_adist_nb)
    /// (6.12, end of hmat_init()): the CPU access class of every default DRAM node is the reference DRAM performance.</summary>
    public void RegisterAdistanceAlgorithm(Mm.MemoryTiers tiers)
    {
        if (!Active || !k.Profile.MemoryTierAdistanceFromHmat) return;
        foreach (var nid in tiers.DefaultDramNodes)
        {
            if (FindTarget(NodeToPxm(nid)) is not { } t) continue;
            if (tiers.SetDefaultDramPerf(nid, Coord(t, 1), "ACPI HMAT") != Errno.None) return;
        }
        tiers.AdistanceAlgorithm = nid => CalculateAdistance(nid, tiers);
    }

    /// <summary>Models hmat_calculate_adistance(): the node's CPU access class (best initiators recomputed) turned into an
    /// abstract distance; null (NOTIFY_OK, the next algorithm or the default) without a target or figures.</summary>
    private int? CalculateAdistance(int nid, Mm.MemoryTiers tiers)
    {
        if (FindTarget(NodeToPxm(nid)) is not { } t) return null;
        UpdateTargetAttrs(t, 1);
        return tiers.PerfToAdistance(Coord(t, 1));
    }

    /// <summary>Models hmat_callback(): a node that gains memory (MEM_ONLINE with status_change_nid) is registered.</summary>
    private Errno Callback(MemoryAction action, MemoryNotify arg)
    {
        if (arg.StatusChangeNid < 0 || action != MemoryAction.Online) return Errno.None;
        if (FindTarget(NodeToPxm(arg.StatusChangeNid)) is { } t) RegisterTarget(t);
        return Errno.None;
    }

    /// <summary>node_to_pxm(): the PXM SRAT mapped to the node (-1: none).</summary>
    public int NodeToPxm(int nid)
    {
        foreach (var (pxm, n) in k.PxmToNode) if (n == nid) return pxm;
        return -1;
    }
}
