using Numasim.Kernel.Drivers;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Hotplug;

/// <summary>mm/memory_hotplug.c: bringing a node online and taking it offline.</summary>
public sealed class NodeHotplug
{
    private readonly KernelContext _k;
    private readonly NodeDevices _nodes;

    internal NodeHotplug(KernelContext k, NodeDevices nodes)
    {
        _k = k;
        _nodes = nodes;
    }

    /// <summary>Models __try_online_node(): an offline node gets its pgdat (re)initialised and its own zonelist
    /// built (hotadd_init_pgdat()), then, when asked, is set online and registered. Returns 0 when already online.</summary>
    public int TryOnlineNode(int nid, bool setNodeOnline)
    {
        using var call = _k.Trace.Call("__try_online_node", "mm/memory_hotplug.c", $"node {nid}, set_node_online {(setNodeOnline ? 1 : 0)}");
        if (_k.NodeStates.Has(nid, NodeState.Online))
        {
            _k.Trace.Decide($"node {nid} is already online: nothing to do");
            return 0;
        }
        HotaddInitPgdat(nid);
        if (setNodeOnline)
        {
            _k.Trace.Change($"node_states[N_ONLINE] += node {nid}");
            _k.NodeStates.Set(nid, NodeState.Online);
            _nodes.RegisterOneNode(nid);
        }
        return 1;
    }

    /// <summary>Models hotadd_init_pgdat(): NODE_DATA is kept from boot (never freed); its zones are reset
    /// as empty (free_area_init_core_hotplug()) and build_all_zonelists(pgdat) builds its fallback list.</summary>
    private PgData HotaddInitPgdat(int nid)
    {
        using var call = _k.Trace.Call("hotadd_init_pgdat", "mm/memory_hotplug.c", $"node {nid}");
        _k.Trace.Decide(_k.NodeData[nid] is null, $"NODE_DATA({nid}) allocated now", $"NODE_DATA({nid}) kept from before (a pgdat is never freed): its empty zones are reset");
        var pgdat = _k.AllocPgData(nid);
        pgdat.NrZones = 0;   // free_area_init_core_hotplug(): "Reset the nr_zones, order and highest_zoneidx before reuse"
        foreach (var z in pgdat.Zones)
        {
            if (z.PresentPages != 0) continue;
            z.ZoneStartPfn = 0;
            z.SpannedPages = 0;
        }
        pgdat.RecomputeSpan();
        Zonelists.BuildAll(_k, pgdat);
        return pgdat;
    }

    /// <summary>Models try_offline_node(): the node goes offline only when no memory block and no present CPU
    /// is left on it. Under e13fe8695c57 (v3.8..v4.19) every possible CPU of the node also loses its node.</summary>
    public void TryOfflineNode(int nid)
    {
        using var call = _k.Trace.Call("try_offline_node", "mm/memory_hotplug.c", $"node {nid}");
        if (!_k.NodeStates.Has(nid, NodeState.Online)) { _k.Trace.Decide($"node {nid} is not online: nothing to do"); return; }
        if ((_k.Profile.Fix2c91f8fc6c99 ? FirstBlockOn(nid) : PresentSectionInNodeSpan(nid)) is { } left)
        {
            _k.Trace.Decide($"node {nid} stays online: memory{left.Id} is still present on it");
            return;
        }
        using (var check = _k.Trace.Call(_k.Profile.ClearCpuNodeOnNodeOffline ? "check_and_unmap_cpu_on_node" : "check_cpu_on_node", "mm/memory_hotplug.c", $"node {nid}"))
        {
            // check_cpu_on_node(): a present CPU keeps the node.
            foreach (var cpu in _k.Cpus.Present.Bits())
                if (_k.Cpus.CpuToNode(cpu) == nid) { _k.Trace.Decide($"node {nid} stays online: CPU {cpu} is present with cpu_to_node({cpu}) = {nid}"); return; }
            _k.Trace.Decide($"no memory block and no present CPU left on node {nid}: it goes offline");
            if (_k.Profile.ClearCpuNodeOnNodeOffline)
                UnmapCpuOnNode(nid);
        }
        _k.Trace.Change($"node_states[N_ONLINE] -= node {nid} (node_set_offline())");
        _k.NodeStates.Clear(nid, NodeState.Online);
        _nodes.UnregisterOneNode(nid);
    }

    /// <summary>try_offline_node()'s for_each_memory_block() walk (2c91f8fc6c99): the first block on the node.</summary>
    private MemoryBlock? FirstBlockOn(int nid)
    {
        foreach (var mb in _k.AllMemoryBlocks)
            if (mb.Nid == nid) return mb;
        return null;
    }

    /// <summary>Models try_offline_node()'s loop before 2c91f8fc6c99 (v3.9..v5.4): the present sections in
    /// [node_start_pfn, node_end_pfn) whose pfn_to_nid() is the node. The span grows only when memory is onlined,
    /// so a block that was added but never onlined is not seen.</summary>
    private MemoryBlock? PresentSectionInNodeSpan(int nid)
    {
        var p = _k.NodeDataOf(nid);
        if (p is null || p.NodeSpannedPages == 0) return null;
        return _k.AllMemoryBlocks.FirstOrDefault(mb => mb.Nid == nid && mb.StartPfn < p.NodeEndPfn && mb.EndPfn > p.NodeStartPfn);
    }

    /// <summary>Models unmap_cpu_on_node() (removed by the seed, 46a3679b8190): numa_clear_node() for every
    /// possible CPU whose cpu_to_node() is the node.</summary>
    private void UnmapCpuOnNode(int nid)
    {
        using var call = _k.Trace.Call("unmap_cpu_on_node", "mm/memory_hotplug.c", $"node {nid}");
        _k.Trace.Decide("e13fe8695c57 (until the seed, 46a3679b8190): every possible CPU of the node loses its node");
        foreach (var cpu in _k.Cpus.Possible.Bits())
            if (_k.Cpus.CpuToNode(cpu) == nid)
            {
                using var clear = _k.Trace.Call("numa_clear_node", "arch/x86/mm/numa.c", $"cpu {cpu}");
                _k.Trace.Change($"cpu_to_node({cpu}): {nid} → -1 (NUMA_NO_NODE)");
                _k.Cpus.NumaClearNode(cpu);
            }
    }
}
