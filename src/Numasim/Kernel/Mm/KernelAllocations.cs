using Numasim.Kernel.Numa;
using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>
/// A deterministic model of the kernel's own unmovable allocations (slab caches and per-CPU data growing on
/// each node with online CPUs). The real kernel's amounts depend on the workload; the model keeps the one
/// property hotplug depends on: once a node with online CPUs has ZONE_NORMAL memory, GFP_KERNEL allocations
/// of its CPUs land there (the highest zone of the local node), so that memory holds unmovable pages and
/// offlining it fails with EBUSY, as ../shared/oracle/README.md saw on 6.1. Switched off by the profile's
/// ModelKernelAllocations or the machine's kernel_allocations: false.
/// </summary>
internal sealed class KernelAllocations
{
    /// <summary>Unmovable pages each online CPU keeps on its node's ZONE_NORMAL. Not a kernel constant: they are the
    /// new slabs (new_slab() → alloc_pages_node(numa_mem_id())) the guest's own work between the steps makes the
    /// CPUs' caches take, and the real kernel's offline answer varies with that work (docs/conformance.md, "Kernel
    /// allocations after a hot-add": the same case EBUSY under the oracle's reads between steps, success written back
    /// to back). 48 is about what the 6.1 guest used on node 1 with one online CPU and one ZONE_NORMAL block under the
    /// oracle's pace (MemUsed 208 kB, 248 kB in ../shared/oracle/node1-offline-after-dimm-eject.v6.1.txt; the model
    /// shows 196 kB, the pcp refill works in batches of 7 there): it stands for that work, not for a mechanism.</summary>
    public const int PagesPerCpu = 48;

    private readonly KernelContext _k;
    private readonly PageAlloc _alloc;
    // The pages held, with their node, sorted by node, as compact state.
    private readonly StateArray<(int Nid, PageRef Page)> _held;

    public KernelAllocations(KernelContext k, PageAlloc alloc)
    {
        _k = k;
        _alloc = alloc;
        _held = new StateArray<(int, PageRef)>(k.State, "kernel allocations");
    }

    private bool Enabled => _k.Profile.ModelKernelAllocations && _k.Machine.ModelKernelAllocations;

    /// <summary>Tops up the node's kernel pages in its ZONE_NORMAL to PagesPerCpu per online CPU of the node:
    /// __alloc_pages_node(nid, GFP_KERNEL | __GFP_THISNODE | __GFP_NOWARN, 0), which takes ZONE_NORMAL first.</summary>
    public void Refill(int nid)
    {
        if (!Enabled || nid < 0) return;
        var pgdat = _k.NodeDataOf(nid);
        if (pgdat is null || !pgdat.Zone(ZoneType.Normal).IsManaged) return;
        int cpus = _k.Cpus.CpumaskOfNode(nid).Weight();
        int start = LowerBound(nid), end = LowerBound(nid + 1);
        long inNormal = 0;
        for (int i = start; i < end; i++)
            if (_held[i].Page.ZoneId % ZoneTypes.MaxNrZones == (int)ZoneType.Normal) inNormal++;
        var ctx = new AllocContext(_k.Cpus.CpumaskOfNode(nid).First(), "kworker", 2, Caller);
        for (long i = inNormal; i < (long)PagesPerCpu * cpus; i++)
        {
            long pfn = _alloc.AllocPagesPfn(Gfp.GfpKernel | Gfp.ThisNode | Gfp.NoWarn, 0, nid, null, ctx, out var zone);
            if (zone is null || zone.Type != ZoneType.Normal)
            {
                if (zone is not null) _alloc.FreePages(pfn, ctx.Cpu);
                break;
            }
            _held.Insert(end++, (nid, new PageRef(pfn, 0, zone.Id)));
        }
    }

    /// <summary>The first held page of a node at least nid (the pages are sorted by node).</summary>
    private int LowerBound(int nid)
    {
        var h = _held.Items;
        int lo = 0, hi = h.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (h[mid].Nid < nid) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    private static readonly string[] Caller = ["kmem_cache_alloc_node"];


    /// <summary>Models kmem_cache_init()'s early_kmem_cache_node_alloc() (mm/slub.c): for every node in slab_nodes
    /// (N_NORMAL_MEMORY at boot), the first slab of kmem_cache_node, which holds that node's own struct
    /// kmem_cache_node, is a page taken on that node by new_slab(kmem_cache_node, GFP_NOWAIT, node): an unmovable
    /// allocation, so the buddy allocator steals the node's lowest free MAX_ORDER-1 block of its highest zone for
    /// MIGRATE_UNMOVABLE and the memory block holding it refuses offline (EBUSY, seen on 6.1 for the first block of
    /// a node with memory, CPU-less or not). Nodes whose memory is hot-added later get theirs from the onlining
    /// CPU's node (slab_mem_going_online_callback() uses kmem_cache_alloc()).</summary>
    public void EarlyKmemCacheNodeAlloc()
    {
        if (!Enabled) return;
        var ctx = new AllocContext(0, "swapper/0", 0, ["early_kmem_cache_node_alloc", "new_slab"]);
        foreach (var nid in _k.NodeStates[NodeState.NormalMemory].Bits().ToList())
        {
            var page = _alloc.AllocPages(Gfp.GfpNoWait, 0, nid, null, ctx);
            if (page is null) continue;
            _held.Insert(LowerBound(nid + 1), (nid, PageRef.Of(page)));
        }
    }

    /// <summary>Refills every node with online CPUs.</summary>
    public void RefillAll()
    {
        foreach (var nid in _k.NodeStates[NodeState.Cpu].Bits().ToList()) Refill(nid);
    }
}
