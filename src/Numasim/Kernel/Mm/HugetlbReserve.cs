using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Mm;

/// <summary>mm/hugetlb.c's reservations: hugetlb_acct_memory() for a shared mapping's new reservations (made when a
/// hugetlbfs file is mmap()ed, Hugetlbfs.cs) and for those a truncation or unlink gives back; resv_huge_pages, the
/// surplus pages gathered to back them and returned when unused.</summary>
internal sealed partial class Hugetlb
{
    /// <summary>Models hugetlb_acct_memory(): a positive delta is reserved by gather_surplus_pages() and refused (-ENOMEM)
    /// beyond the free pages of the nodes the task may use (allowed_mems_nr()); a negative one is given back with
    /// return_unused_surplus_pages().</summary>
    public Errno AcctMemory(long delta, int cpu)
    {
        using var call = _k.Trace.Call("hugetlb_acct_memory", "mm/hugetlb.c", $"delta {delta}");
        if (delta > 0)
        {
            if (!GatherSurplusPages(delta, cpu)) return _k.Trace.Fail(Errno.ENOMEM, "gather_surplus_pages() could not back the reservation");
            if (delta > AllowedMemsNr())
            {
                ReturnUnusedSurplusPages(delta);
                return _k.Trace.Fail(Errno.ENOMEM, $"delta {delta} is more than the allowed nodes' free pages");
            }
        }
        else if (delta < 0) ReturnUnusedSurplusPages(-delta);
        return Errno.None;
    }

    /// <summary>Models allowed_mems_nr(): the free pages of cpuset_current_mems_allowed (N_MEMORY) within the task's bind
    /// nodemask (policy_mbind_nodemask(); the mapping task here runs with the default policy).</summary>
    private long AllowedMemsNr()
    {
        long n = 0;
        foreach (int node in _k.NodeStates[NodeState.Memory].Bits()) n += FreeHugePages(node);
        return n;
    }

    /// <summary>Models gather_surplus_pages(): reservations the free pages cover are taken at once; otherwise the missing
    /// pages are allocated as surplus (6.1: one try from the task's node; 6.12: each node of mems_allowed in turn), all
    /// of them or none, and enqueued in the order of the list they were gathered on.</summary>
    private bool GatherSurplusPages(long delta, int cpu)
    {
        long needed = ResvHugePages + delta - FreeHugePages();
        if (needed <= 0)
        {
            _resv.Mut += delta;
            return true;
        }
        var ctx = new AllocContext(cpu, "numactl", 1, ["alloc_buddy_huge_page", "alloc_fresh_huge_page", "alloc_surplus_huge_page",
            "gather_surplus_pages", "hugetlb_acct_memory", "hugetlb_reserve_pages", "hugetlbfs_file_mmap"]);
        var gathered = new List<HugePage>();
        while (gathered.Count < needed && GatherOne(ctx) is { } page) gathered.Add(page);
        gathered.Reverse(); // list_add(): the last one gathered is the list's head
        if (gathered.Count < needed)
        {
            foreach (var p in gathered) FreeHugePage(p, temporary: false);
            return false;
        }
        _resv.Mut += delta;
        foreach (var p in gathered) _pool.Add(p); // enqueue_huge_page() from the list's head
        return true;
    }

    private HugePage? GatherOne(AllocContext ctx)
    {
        if (!_k.Profile.HugetlbGatherSurplusPerNode)
            return AllocSurplusHugePage(Gfp.GfpHighUserMovable, NumaConstants.NumaNoNode, null, ctx);
        foreach (int node in _k.NodeStates[NodeState.Memory].Bits())
            if (AllocSurplusHugePage(Gfp.GfpHighUserMovable, node, null, ctx) is { } page) return page;
        return null;
    }

    /// <summary>Models return_unused_surplus_pages(): the reservation is uncommitted, and up to that many surplus pages
    /// leave the pool (remove_pool_huge_page() with acct_surplus: the free cursor over N_MEMORY, nodes with surplus and a
    /// free page) for the buddy allocator.</summary>
    private void ReturnUnusedSurplusPages(long unused)
    {
        _resv.Mut -= unused;
        long nr = Math.Min(unused, SurplusHugePages());
        var nodes = _k.NodeStates[NodeState.Memory];
        var removed = new List<HugePage>();
        while (nr-- > 0)
        {
            bool found = HstatePool.ForEachNodeToFree(_nextNid, nodes, node =>
            {
                int j = SurplusHugePages(node) == 0 ? -1 : HstatePool.HeadOf(_pool, node);
                if (j < 0) return false;
                removed.Add(_pool[j]);
                _pool.RemoveAt(j);
                AddSurplus(node, -1); // remove_hugetlb_page(h, page, true)
                return true;
            });
            if (!found) break;
        }
        // update_and_free_pages_bulk() of the list they were added to with list_add(): the last removed first
        for (int i = removed.Count - 1; i >= 0; i--) ReleaseToBuddy(removed[i], "surplus");
    }
}
