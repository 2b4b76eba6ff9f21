using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Mm;

/// <summary>mm/hugetlb.c's pages in use: alloc_huge_page() for a hugetlbfs file's page (the pool's free lists by the
/// task's memory policy, else a surplus page within nr_overcommit_hugepages), free_huge_page() when the file lets it
/// go, and the migration of a page in use out of a memory block being offlined (alloc_huge_page_nodemask(),
/// move_hugetlb_state()). 6.12's folio functions (alloc_hugetlb_folio() ...) do the same steps.</summary>
internal sealed partial class Hugetlb
{
    private static readonly AllocContext MigrateCaller = new(0, "kworker/u8:1", 40, ["alloc_buddy_huge_page", "alloc_fresh_huge_page",
        "alloc_migrate_huge_page", "alloc_huge_page_nodemask", "alloc_migration_target", "migrate_pages", "do_migrate_range"]);

    /// <summary>Raised when a page in use moves: the old head pfn and the new page (the page cache that holds it follows).</summary>
    public event Action<long, HugePage>? HugePageMigrated;

    /// <summary>Models alloc_huge_page(vma, addr, 0) for a page of a shared hugetlbfs mapping (hugetlbfs_fallocate()'s
    /// pseudo vma or a fault; no subpool limit): <paramref name="reserved"/> when the file's reserve map holds the index
    /// (vma_needs_reservation() 0: the page consumes a reservation, resv_huge_pages--). dequeue_huge_page_vma() takes a
    /// free page by the policy (without a reservation only while a free page is not reserved), else
    /// alloc_buddy_huge_page_with_mpol() makes a surplus page. Null: -ENOSPC.</summary>
    public HugePage? AllocHugePage(in Mempolicy pol, long index, int cpu, bool reserved = false)
    {
        using var call = _k.Trace.Call("alloc_huge_page", "mm/hugetlb.c", $"index {index}, {MempolicyOps.ModeName(pol.Mode)} policy, CPU {cpu}{(reserved ? ", reserved" : "")}");
        var (nid, nmask) = HugeNode(pol, index, cpu);
        HugePage? page = null;
        if (reserved || FreeHugePages() - ResvHugePages > 0)
        {
            if (pol.Mode == MpolMode.PreferredMany)
            {
                page = DequeueHugePageNodemask(nid, nmask);
                nmask = null; // fall back to all nodes
            }
            page ??= DequeueHugePageNodemask(nid, nmask);
        }
        else _k.Trace.Decide("free_huge_pages - resv_huge_pages == 0: no page to dequeue");
        if (page is null && AllocBuddyHugePageWithMpol(pol, nid, nmask, cpu) is { } fresh)
        {
            _active.Add(fresh);
            page = fresh;
        }
        if (page is not null && reserved) _resv.Mut--;
        return page;
    }

    /// <summary>Models huge_node(): the interleave node of the page's index, else policy_node() on the CPU's node with
    /// MPOL_BIND's and MPOL_PREFERRED_MANY's nodes as the nodemask.</summary>
    private (int Nid, Bitmap? Nodemask) HugeNode(in Mempolicy pol, long index, int cpu)
    {
        int local = _k.Cpus.CpuToNode(cpu);
        if (pol.Mode == MpolMode.Interleave) return (MempolicyOps.OffsetIlNode(pol, index, local), null);
        var nmask = pol.Mode is MpolMode.Bind or MpolMode.PreferredMany ? pol.Nodes.ToBitmap() : null;
        return (MempolicyOps.PolicyNode(pol, local), nmask);
    }

    /// <summary>Models dequeue_huge_page_nodemask(): the zones of node nid's fallback zonelist allowed by the nodemask,
    /// each node asked once (the pool is per node), dequeue_huge_page_node_exact() on it.</summary>
    private HugePage? DequeueHugePageNodemask(int nid, Bitmap? nmask)
    {
        if (_k.NodeDataOf(nid) is not { } pgdat) return null;
        var zonelist = pgdat.Fallback;
        int node = NumaConstants.NumaNoNode;
        for (int i = 0; i < zonelist.Count; i++)
        {
            var z = zonelist[i];
            if (nmask is not null && !nmask[z.NodeId]) continue;
            if (z.NodeId == node) continue;
            node = z.NodeId;
            if (DequeueHugePageNodeExact(node) is { } page) return page;
        }
        return null;
    }

    /// <summary>Models dequeue_huge_page_node_exact(): the head of the node's free list moves to the active list.</summary>
    private HugePage? DequeueHugePageNodeExact(int nid)
    {
        int j = HstatePool.HeadOf(_pool, nid);
        if (j < 0) return null;
        var page = _pool[j];
        _pool.RemoveAt(j);
        _active.Add(page);
        _k.Trace.Change($"free huge page at pfn 0x{page.Pfn:x} of node {nid} taken into use");
        return page;
    }

    /// <summary>Models alloc_buddy_huge_page_with_mpol(): alloc_surplus_huge_page() on the policy's node and nodemask
    /// (MPOL_PREFERRED_MANY first without reclaim, then on any node).</summary>
    private HugePage? AllocBuddyHugePageWithMpol(in Mempolicy pol, int nid, Bitmap? nmask, int cpu)
    {
        var ctx = new AllocContext(cpu, "fallocate", 1, ["alloc_buddy_huge_page", "alloc_fresh_huge_page", "alloc_surplus_huge_page",
            "alloc_buddy_huge_page_with_mpol", "alloc_huge_page", "hugetlbfs_fallocate", "vfs_fallocate"]);
        HugePage? page = null;
        if (pol.Mode == MpolMode.PreferredMany)
        {
            page = AllocSurplusHugePage((Gfp.GfpHighUserMovable | Gfp.NoWarn) & ~Gfp.DirectReclaim, nid, nmask, ctx);
            nmask = null;
        }
        return page ?? AllocSurplusHugePage(Gfp.GfpHighUserMovable, nid, nmask, ctx);
    }

    /// <summary>Models alloc_surplus_huge_page(): none while surplus_huge_pages has reached nr_overcommit_hugepages; a fresh
    /// page from the buddy allocator is counted surplus on its node (on no list yet).</summary>
    private HugePage? AllocSurplusHugePage(Gfp gfp, int nid, Bitmap? nmask, AllocContext ctx)
    {
        if (SurplusHugePages() >= _nrOvercommit.Value)
        {
            _k.Trace.Decide($"surplus_huge_pages {SurplusHugePages()} has reached nr_overcommit_hugepages {_nrOvercommit.Value}: no surplus page");
            return null;
        }
        if (AllocFreshHugePage(gfp, nid, nmask, ctx) is not { } page) return null;
        AddSurplus(page.Nid, 1);
        _k.Trace.Change($"surplus huge page at pfn 0x{page.Pfn:x} of node {page.Nid}");
        return page;
    }

    /// <summary>Models alloc_fresh_huge_page() → alloc_buddy_huge_page() without a node_alloc_noretry mask: __alloc_pages()
    /// with __GFP_COMP | __GFP_NOWARN | __GFP_RETRY_MAYFAIL added, order 9, on nid (numa_mem_id() for NUMA_NO_NODE).</summary>
    private HugePage? AllocFreshHugePage(Gfp gfp, int nid, Bitmap? nmask, AllocContext ctx)
    {
        if (nid == NumaConstants.NumaNoNode) nid = _alloc.NumaMemId(ctx.Cpu);
        if (_k.NodeDataOf(nid) is null) return null;
        long pfn = _alloc.AllocPagesPfn(gfp | Gfp.Comp | Gfp.NoWarn | Gfp.RetryMayfail, Order, nid, nmask, ctx, out var zone);
        return zone is null ? null : new HugePage(pfn, zone.NodeId, zone.Id);
    }

    /// <summary>Models the last put of a page in use (a hugetlbfs file truncated or unlinked): free_huge_page().</summary>
    public void PutHugePage(long pfn)
    {
        int i = HstatePool.IndexOfPfn(_active, pfn);
        if (i < 0) throw new InvalidOperationException($"BUG: pfn 0x{pfn:x} is not a huge page in use");
        var page = _active[i];
        _active.RemoveAt(i);
        FreeHugePage(page, temporary: false);
    }

    /// <summary>Models unmap_and_move_huge_page() for do_migrate_range() when pfn heads a page in use (null otherwise):
    /// alloc_migration_target() → alloc_huge_page_nodemask() takes a free page of the other nodes (preferring nid's
    /// zonelist) while one is not reserved, else alloc_migrate_huge_page() allocates a temporary one; move_hugetlb_state()
    /// hands the temporary state (and a surplus count across nodes) to the old page, which free_huge_page() then returns
    /// to the buddy allocator (temporary) or to its node's free list.</summary>
    internal Errno? MigrateHugePage(long pfn, int nid, Bitmap nmask)
    {
        int i = HstatePool.IndexOfPfn(_active, pfn);
        if (i < 0) return null;
        var old = _active[i];
        using var call = _k.Trace.Call("unmap_and_move_huge_page", "mm/migrate.c", $"pfn 0x{pfn:x} of node {old.Nid}");
        HugePage? target = null;
        if (FreeHugePages() - ResvHugePages > 0) target = DequeueHugePageNodemask(nid, nmask);
        bool temporary = false;
        if (target is null && AllocFreshHugePage(Gfp.GfpHighUserMovable, nid, nmask, MigrateCaller) is { } fresh)
        {
            target = fresh;
            temporary = true;
            _active.Add(fresh);
        }
        if (target is not { } to) return _k.Trace.Fail(Errno.ENOMEM, $"no huge page to migrate pfn 0x{pfn:x} to (alloc_huge_page_nodemask() failed)");
        if (temporary && to.Nid != old.Nid && SurplusHugePages(old.Nid) > 0)
        {
            AddSurplus(old.Nid, -1);
            AddSurplus(to.Nid, 1);
        }
        _k.Trace.Change($"huge page at pfn 0x{pfn:x} migrated to pfn 0x{to.Pfn:x} of node {to.Nid}");
        HugePageMigrated?.Invoke(pfn, to);
        _active.RemoveAt(i); // the target, if any, went on the list's end
        FreeHugePage(old, temporary);
        return Errno.None;
    }
}
