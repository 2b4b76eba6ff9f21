using Numasim.Kernel.Numa;
using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>What mm/hugetlb.c does the same way for every hstate's pool (a compact list of free pages in enqueue order,
/// and the next_nid_to_alloc / next_nid_to_free cursors): counting, set_max_huge_pages()'s node target,
/// for_each_node_mask_to_alloc() and remove_pool_huge_page().</summary>
internal static class HstatePool
{
    /// <summary>An hstate's compact state: its pool pages, the alloc/free cursors (NUMA_NO_NODE until first used) and
    /// h->max_huge_pages, named "{prefix} pool pages" and so on.</summary>
    public static (StateArray<HugePage> Pool, StateArray<int> NextNid, StateValue<long> Max) NewState(StateStore store, string prefix)
    {
        var pool = new StateArray<HugePage>(store, $"{prefix} pool pages");
        var nextNid = new StateArray<int>(store, $"{prefix} next nid to alloc/free", 2);
        nextNid.Fill(NumaConstants.NumaNoNode);
        return (pool, nextNid, new StateValue<long>(store, $"{prefix} max_huge_pages"));
    }

    /// <summary>h->nr_huge_pages (nid &lt; 0) or h->nr_huge_pages_node[nid].</summary>
    public static long Count(StateArray<HugePage> pool, int nid = -1)
    {
        long n = 0;
        foreach (var p in pool.Items) if (nid < 0 || p.Nid == nid) n++;
        return n;
    }

    /// <summary>__nr_hugepages_store_common()'s nodes_allowed: N_MEMORY for the global files (NUMA_NO_NODE), the
    /// node alone for a node's file.</summary>
    public static Bitmap NodesAllowed(KernelContext k, int nid)
    {
        var m = k.NodeStates[NodeState.Memory].Clone();
        if (nid == NumaConstants.NumaNoNode) return m;
        m.ClearAll();
        m.Set(nid);
        return m;
    }

    /// <summary>Models set_max_huge_pages(): a node's count becomes a global target; grow with alloc_pool_huge_page()
    /// until the target or the first failure, shrink with remove_pool_huge_page() down to it (min_count = resv + nr -
    /// free = 0: the model's pages are all free); max_huge_pages is what the pool then holds.</summary>
    public static Errno SetMaxHugePages(StateArray<HugePage> pool, StateValue<long> maxHugePages, ulong count, int nid,
        Bitmap allowed, Func<Bitmap, bool> allocPoolHugePage, Func<Bitmap, bool> removePoolHugePage)
    {
        count = GlobalTarget(pool, count, nid);
        while (count > (ulong)Count(pool))
            if (!allocPoolHugePage(allowed)) break;
        while (count < (ulong)Count(pool))
            if (!removePoolHugePage(allowed)) break;
        maxHugePages.Mut = Count(pool);
        return Errno.None;
    }

    /// <summary>set_max_huge_pages(): a node's count becomes a global target (count + pages on the other nodes,
    /// ULONG_MAX on overflow).</summary>
    public static ulong GlobalTarget(StateArray<HugePage> pool, ulong count, int nid)
    {
        if (nid == NumaConstants.NumaNoNode) return count;
        ulong target = count + (ulong)(Count(pool) - Count(pool, nid));
        return target < count ? ulong.MaxValue : target;
    }

    /// <summary>for_each_node_mask_to_alloc() with hstate_next_node_to_alloc() on the cursor: each allowed node once,
    /// until <paramref name="allocOnNode"/> succeeds.</summary>
    public static bool AllocRoundRobin(ref int cursor, Bitmap allowed, Func<int, bool> allocOnNode)
    {
        int nodes = allowed.Weight();
        for (int i = 0; i < nodes; i++)
        {
            int node = Hugetlb.NextNode(ref cursor, allowed);
            if (node < 0) return false;
            if (allocOnNode(node)) return true;
        }
        return false;
    }

    /// <summary>Models remove_pool_huge_page(): for_each_node_mask_to_free() from the free cursor takes the head of
    /// the next node's free list (the most recently enqueued page); <paramref name="free"/> gives it back.</summary>
    public static bool RemoveRoundRobin(StateArray<HugePage> pool, StateArray<int> cursors, Bitmap allowed, Action<int> free) =>
        ForEachNodeToFree(cursors, allowed, node =>
        {
            for (int j = pool.Length - 1; j >= 0; j--)
                if (pool[j].Nid == node)
                {
                    free(j);
                    return true;
                }
            return false;
        });

    /// <summary>Models for_each_node_mask_to_free() with hstate_next_node_to_free() on the free cursor: each allowed
    /// node once, until <paramref name="visit"/> returns true (then true).</summary>
    public static bool ForEachNodeToFree(StateArray<int> cursors, Bitmap allowed, Func<int, bool> visit)
    {
        int nodes = allowed.Weight();
        for (int i = 0; i < nodes; i++)
        {
            int cursor = cursors[1];
            int node = Hugetlb.NextNode(ref cursor, allowed);
            cursors.Set(1, cursor);
            if (node < 0) return false;
            if (visit(node)) return true;
        }
        return false;
    }
}
