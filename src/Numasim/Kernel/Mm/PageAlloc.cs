using Numasim.Kernel.Log;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Mm;

/// <summary>A page handed out by the allocator: the head pfn, its order and zone.</summary>
public sealed record AllocatedPage(long Pfn, int Order, Zone Zone)
{
    public int Node => Zone.NodeId;
}

/// <summary>An allocated page as plain values, for the compact state (<see cref="AllocatedPage"/> is made from it on demand).</summary>
public readonly record struct PageRef(long Pfn, int Order, int ZoneId)
{
    public static PageRef Of(AllocatedPage p) => new(p.Pfn, p.Order, p.Zone.Id);

    public AllocatedPage ToPage(KernelContext k) => new(Pfn, Order, k.ZoneById(ZoneId));

    internal static IReadOnlyList<AllocatedPage> All(KernelContext k, Snapshots.StateArray<PageRef> refs)
    {
        var l = new AllocatedPage[refs.Length];
        for (int i = 0; i < l.Length; i++) l[i] = refs[i].ToPage(k);
        return l;
    }
}

/// <summary>Who is allocating: the CPU the call runs on and the task (for reports).</summary>
public readonly record struct AllocContext(int Cpu, string Comm, int Pid, IReadOnlyList<string> Caller);

/// <summary>mm/page_alloc.c entry points over the zonelists: alloc_pages_node(), __alloc_pages_node(),
/// __alloc_pages() / __alloc_pages_nodemask(), get_page_from_freelist(), __free_pages(), and migration for offlining.</summary>
public sealed class PageAlloc
{
    private readonly KernelContext _k;

    internal PageAlloc(KernelContext k)
    {
        _k = k;
        FailPageAlloc = new FaultInject.FailPageAlloc(k);
    }

    /// <summary>fail_page_alloc's fault injection (CONFIG_FAIL_PAGE_ALLOC), off until its knobs are set.</summary>
    public FaultInject.FailPageAlloc FailPageAlloc { get; }

    /// <summary>Raised when migration moves an allocated block: its old head pfn and the page that replaces it
    /// (what the owner of the page, following its page tables, sees next).</summary>
    public event Action<long, AllocatedPage>? PageMigrated;

    /// <summary>Models alloc_pages_node(): NUMA_NO_NODE means numa_mem_id() of the calling CPU.</summary>
    public AllocatedPage? AllocPagesNode(int nid, Gfp gfp, int order, AllocContext ctx)
    {
        using var call = _k.Trace.Call("alloc_pages_node", "include/linux/gfp.h", $"nid {nid}, {GfpFlags.Format(gfp)}, order {order}");
        if (nid == NumaConstants.NumaNoNode) _k.Trace.Decide($"nid NUMA_NO_NODE: numa_mem_id() of CPU {ctx.Cpu} = {NumaMemId(ctx.Cpu)}");
        if (nid == NumaConstants.NumaNoNode) nid = NumaMemId(ctx.Cpu);
        return AllocPagesNodeUnchecked(nid, gfp, order, ctx with { Caller = WithAllocPagesNode(ctx.Caller) });
    }

    // The call trace with alloc_pages_node() on top, made once per caller's trace (it only shows in an oops).
    private IReadOnlyList<string>? _caller, _withAllocPagesNode;

    private IReadOnlyList<string> WithAllocPagesNode(IReadOnlyList<string> caller)
    {
        if (!ReferenceEquals(caller, _caller))
        {
            _withAllocPagesNode = ["alloc_pages_node", .. caller];
            _caller = caller;
        }
        return _withAllocPagesNode!;
    }

    /// <summary>Models __alloc_pages_node(): only a VM_BUG_ON guards the nid (CONFIG_DEBUG_VM); without it an
    /// invalid nid reads node_data[nid] and faults at the node_zonelists offset, as the seed's oops shows.</summary>
    public AllocatedPage? AllocPagesNodeUnchecked(int nid, Gfp gfp, int order, AllocContext ctx)
    {
        using var call = _k.Trace.Call("__alloc_pages_node", "include/linux/gfp.h", $"nid {nid}, {GfpFlags.Format(gfp)}, order {order}");
        string fn = _k.Profile.AllocPagesIsNodemaskFree ? "__alloc_pages" : "__alloc_pages_nodemask";
        if (_k.Profile.DebugVm && (nid < 0 || nid >= NumaConstants.MaxNumNodes))
            _k.Trace.Oops($"VM_BUG_ON(nid < 0 || nid >= MAX_NUMNODES) with nid {nid} (CONFIG_DEBUG_VM)");
        if (_k.Profile.DebugVm && (nid < 0 || nid >= NumaConstants.MaxNumNodes))
            throw new KernelOops(OopsReport.Bug(_k, "include/linux/gfp.h:227", ctx.Cpu, ctx.Comm, ctx.Pid,
                ["__alloc_pages_node", .. ctx.Caller]));
        var pgdat = _k.NodeDataOf(nid);
        if (nid < 0) _k.Trace.Decide($"nid {nid} is not checked (only a VM_BUG_ON, off without CONFIG_DEBUG_VM)");
        else _k.Trace.Decide(pgdat is null, $"NODE_DATA({nid}) was never allocated", $"NODE_DATA({nid}) exists: its zonelist decides");
        if (pgdat is null) { using var inner = _k.Trace.Call(fn, "mm/page_alloc.c", $"preferred nid {nid}"); _k.Trace.Oops($"node_zonelist({nid}) reads NODE_DATA({nid})->node_zonelists: a paging request at {_k.Profile.NodeZonelistsOffset:x16}"); }
        if (pgdat is null)
            throw new KernelOops(OopsReport.PagingRequest(_k, _k.Profile.NodeZonelistsOffset, ctx.Cpu, ctx.Comm, ctx.Pid,
                [$"{fn}+0x93/0xb70", .. ctx.Caller]));
        return AllocPages(gfp, order, nid, null, ctx);
    }

    /// <summary>Models __alloc_pages() (v5.13+) / __alloc_pages_nodemask(): the fast path at the low watermark,
    /// then a retry at the min watermark (reclaim and compaction are not modelled); failure warns unless __GFP_NOWARN.</summary>
    public AllocatedPage? AllocPages(Gfp gfp, int order, int preferredNid, Bitmap? nodemask, AllocContext ctx)
    {
        long pfn = AllocPagesPfn(gfp, order, preferredNid, nodemask, ctx, out var zone);
        return zone is null ? null : new AllocatedPage(pfn, order, zone);
    }

    /// <summary>Models __alloc_pages() / __alloc_pages_nodemask() as <see cref="AllocPages"/> does, without the page
    /// object: the head pfn and its zone (null when the allocation fails), for callers that keep plain values.</summary>
    internal long AllocPagesPfn(Gfp gfp, int order, int preferredNid, Bitmap? nodemask, AllocContext ctx, out Zone? zone)
    {
        zone = null;
        using var call = _k.Trace.Call(_k.Profile.AllocPagesIsNodemaskFree ? "__alloc_pages" : "__alloc_pages_nodemask", "mm/page_alloc.c", $"{GfpFlags.Format(gfp)}, order {order}, preferred nid {preferredNid}");
        if (order < 0 || order >= _k.Profile.MaxOrder) { _k.Trace.Decide($"order {order} is not below MAX_ORDER {_k.Profile.MaxOrder}: NULL"); return -1; }
        // prepare_alloc_pages(): should_fail_alloc_page() fails the allocation before any zone is tried.
        if (FailPageAlloc.ShouldFail(gfp, order, ctx)) { _k.Trace.Decide("should_fail_alloc_page(): fail_page_alloc injects a failure: NULL"); return -1; }
        var pgdat = _k.NodeDataOf(preferredNid)!;
        var zonelist = (gfp & Gfp.ThisNode) != 0 ? pgdat.NoFallback : pgdat.Fallback;
        var highest = GfpFlags.GfpZone(gfp);
        _k.Trace.Decide($"{((gfp & Gfp.ThisNode) != 0 ? "__GFP_THISNODE: node" : "the fallback zonelist of node")} {preferredNid}, zones up to {highest.Name()}: {Trace.TraceList.Brief(zonelist.Eligible(highest))}");
        var mt = GfpFlags.GfpMigratetype(gfp);
        long pfn = GetPageFromFreelist(zonelist, highest, order, mt, nodemask, AllocFlags.WmarkLow, ctx, out zone);
        if (zone is null)
            pfn = GetPageFromFreelist(zonelist, highest, order, mt, nodemask,
                AllocFlags.WmarkMin | ((gfp & Gfp.High) != 0 ? AllocFlags.MinReserve : 0), ctx, out zone);
        _k.Trace.Decide(zone is null, $"no eligible zone is above its watermark: the allocation fails", $"pfn 0x{pfn:x} from {zone}");
        if (zone is null && (gfp & Gfp.NoWarn) == 0)
            _k.Log.Printk($"{ctx.Comm}: page allocation failure: order:{order}, mode:0x{(uint)gfp:x}, nodemask={(nodemask is null ? "(null)" : nodemask.ToListString())},cpuset=/,mems_allowed={_k.NodeStates[NodeState.Memory].ToListString()}");
        if (zone is not null) ZoneStatistics(FirstEligible(zonelist, highest, nodemask), zone, ctx.Cpu, order);
        return pfn;
    }

    /// <summary>Models get_page_from_freelist(): the first eligible zone whose watermark allows the request (its head pfn
    /// and the zone; the zone null when none does).</summary>
    private static long GetPageFromFreelist(Zonelist zonelist, ZoneType highest, int order, MigrateType mt,
        Bitmap? nodemask, AllocFlags flags, AllocContext ctx, out Zone? zone)
    {
        zone = null;
        for (int i = 0; i < zonelist.Count; i++)
        {
            var z = zonelist[i];
            if (z.Type > highest) continue;
            if (nodemask is not null && !nodemask[z.NodeId]) continue;
            long mark = (flags & AllocFlags.WmarkLow) != 0 ? z.WatermarkLow : z.WatermarkMin;
            if (!z.Pages.ZoneWatermarkOk(order, mark, (int)highest, flags, z.LowmemReserve)) continue;
            long pfn = z.Pages.Allocate(order, mt, ctx.Cpu, flags | (mt == MigrateType.Movable ? AllocFlags.Cma : 0));
            if (pfn >= 0) { zone = z; return pfn; }
        }
        return -1;
    }

    /// <summary>Models first_zones_zonelist(): ac->preferred_zoneref, the first zone allowed by the highest zone index
    /// and the nodemask (zone_statistics() counts a hit or a miss against it).</summary>
    private static Zone? FirstEligible(Zonelist zonelist, ZoneType highest, Bitmap? nodemask)
    {
        for (int i = 0; i < zonelist.Count; i++)
            if (zonelist[i].Type <= highest && (nodemask is null || nodemask[zonelist[i].NodeId])) return zonelist[i];
        return null;
    }

    /// <summary>Models zone_statistics(): NUMA_HIT or NUMA_MISS (and NUMA_FOREIGN on the preferred zone), then
    /// NUMA_LOCAL or NUMA_OTHER against the allocating CPU's node, each counted in pages.</summary>
    private void ZoneStatistics(Zone? preferred, Zone z, int cpu, int order)
    {
        long pages = 1L << order;
        if (preferred is null || preferred.NodeId == z.NodeId) z.NumaMut.Hit += pages;
        else
        {
            z.NumaMut.Miss += pages;
            preferred.NumaMut.Foreign += pages;
        }
        if (z.NodeId == _k.Cpus.CpuToNode(cpu)) z.NumaMut.Local += pages;
        else z.NumaMut.Other += pages;
    }

    /// <summary>Models __free_pages(): back through the pcp lists or the buddy of the page's zone.</summary>
    public Errno FreePages(long pfn, int cpu)
    {
        var z = ZoneOfAllocated(pfn);
        if (z is null) return Errno.EINVAL;
        z.Pages.Free(pfn, cpu);
        return Errno.None;
    }

    /// <summary>The zone holding an allocated head pfn (page_zone()).</summary>
    public Zone? ZoneOfAllocated(long pfn)
    {
        foreach (var z in _k.ZoneSpan)
            if (!z.IsEmpty && z.SpansPfn(pfn) && z.Pages.IsAllocatedHead(pfn)) return z;
        return null;
    }

    /// <summary>numa_mem_id(): x86 has no CONFIG_HAVE_MEMORYLESS_NODES, so it is numa_node_id().</summary>
    public int NumaMemId(int cpu) =>
        _k.Profile.HaveMemorylessNodes ? _k.Cpus.CpuToMem(cpu) : _k.Cpus.CpuToNode(cpu);

    private static readonly string[] MigrateCaller = ["do_migrate_range"];

    /// <summary>Set by hugetlb: head pfns scan_movable_pages() skips (free huge pages are not HPageMigratable).</summary>
    internal Func<long, bool>? SkipInScan { get; set; }

    /// <summary>Set by hugetlb: migrates a huge page in use (unmap_and_move_huge_page()); null when pfn heads none.</summary>
    internal Func<long, int, Bitmap, Errno?>? MigrateHugePage { get; set; }

    /// <summary>Models do_migrate_range() during offline_pages(): each movable page of the isolated range gets a
    /// new page from alloc_migration_target(), preferring other nodes with memory (a huge page in use from hugetlb);
    /// an unmovable page is EBUSY.</summary>
    internal Errno MigrateRange(Zone zone, long start, long end)
    {
        using var call = _k.Trace.Call("do_migrate_range", "mm/memory_hotplug.c", $"pfn 0x{start:x}-0x{end - 1:x}");
        var blocks = zone.Pages.AllocatedInRange(start, end).ToList();
        if (SkipInScan is { } skip) blocks.RemoveAll(b => skip(b.Pfn));
        _k.Trace.Decide($"{blocks.Count} allocated block(s) in the range{(blocks.Count == 0 ? ": nothing to migrate" : "")}");
        int pinned = blocks.FindIndex(b => !b.IsMovable);
        if (pinned >= 0) return _k.Trace.Fail(Errno.EBUSY, $"the page at pfn 0x{blocks[pinned].Pfn:x} is not movable");
        int nid = zone.NodeId;
        var mask = _k.NodeStates[NodeState.Memory].Clone();
        mask.Clear(nid);
        if (mask.IsEmpty) mask.Set(nid);
        var ctx = new AllocContext(0, "kworker/u8:1", 40, MigrateCaller);
        foreach (var b in blocks)
        {
            if (MigrateHugePage?.Invoke(b.Pfn, nid, mask) is { } huge)
            {
                if (huge != Errno.None) return _k.Trace.Fail(Errno.EBUSY, $"the huge page at pfn 0x{b.Pfn:x} could not be migrated");
                continue;
            }
            var target = AllocPages(Gfp.GfpUser | Gfp.Movable | Gfp.RetryMayfail | Gfp.NoWarn, b.Order, nid, mask, ctx);
            if (target is null) return _k.Trace.Fail(Errno.EBUSY, $"no page to migrate pfn 0x{b.Pfn:x} to (alloc_migration_target() failed)");
            _k.Trace.Change($"pfn 0x{b.Pfn:x} (order {b.Order}) migrated to pfn 0x{target.Pfn:x} on {target.Zone}");
            zone.Pages.Free(b.Pfn, 0);
            PageMigrated?.Invoke(b.Pfn, target);
        }
        zone.Pages.DrainPcp();
        return Errno.None;
    }
}
