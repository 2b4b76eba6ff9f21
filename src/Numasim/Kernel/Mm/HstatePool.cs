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

    /// <summary>__nr_hugepages_store_common()'s nodes_allowed: N_MEMORY for the global files (NUMA_NO_NODE), or for the
    /// *_mempolicy files what init_nodemask_of_mempolicy() gives of the writer's policy; the node alone for a node's file.</summary>
    public static Bitmap NodesAllowed(KernelContext k, int nid, bool obeyMempolicy = false)
    {
        if (nid == NumaConstants.NumaNoNode && obeyMempolicy && InitNodemaskOfMempolicy(k) is { } policyNodes) return policyNodes;
        var m = k.NodeStates[NodeState.Memory].Clone();
        if (nid == NumaConstants.NumaNoNode) return m;
        m.ClearAll();
        m.Set(nid);
        return m;
    }

    /// <summary>h->nr_huge_pages(_node[nid]) of a pool whose free and in-use pages are kept apart (hugepage_freelists[]
    /// and hugepage_activelist).</summary>
    public static long Count(StateArray<HugePage> free, StateArray<HugePage> active, int nid = -1) =>
        Count(free, nid) + Count(active, nid);

    /// <summary>Models set_max_huge_pages(): a node's count becomes a global target; surplus pages become persistent
    /// first (adjust_pool_surplus(-1)), then alloc_pool_huge_page() grows the pool until the target or the first
    /// failure; shrinking stops at min_count (resv + the pages in use) with remove_pool_huge_page(), and what is still
    /// above the target turns surplus (adjust_pool_surplus(+1)); max_huge_pages is then persistent_huge_pages().</summary>
    public static Errno SetMaxHugePages(IHstatePool h, StateValue<long> maxHugePages, ulong count, int nid, Bitmap allowed)
    {
        if (nid != NumaConstants.NumaNoNode)
        {
            ulong old = count;
            count += (ulong)(h.NrHugePages() - h.NrHugePages(nid));
            if (count < old) count = ulong.MaxValue;
        }
        ulong Persistent() => (ulong)(h.NrHugePages() - h.SurplusHugePages());
        while (h.SurplusHugePages() > 0 && count > Persistent())
            if (!h.AdjustPoolSurplus(allowed, -1)) break;
        bool grown = true;
        while (count > Persistent())
            if (!h.AllocPoolHugePage(allowed)) { grown = false; break; }
        h.EndPoolGrowth();
        if (grown)
        {
            ulong minCount = (ulong)(h.ResvHugePages + h.NrHugePages() - h.FreeHugePages());
            minCount = Math.Max(count, minCount);
            while (minCount < Persistent())
                if (!h.RemovePoolHugePage(allowed)) break;
            while (count < Persistent())
                if (!h.AdjustPoolSurplus(allowed, 1)) break;
        }
        maxHugePages.Mut = (long)Persistent();
        return Errno.None;
    }

    /// <summary>Models prep_and_add_allocated_folios() for the pages a set_max_huge_pages() batch appended from
    /// <paramref name="start"/> on (allocation order): enqueued from the list's head, the first allocated ends nearest
    /// the head of its node's free list (the pool's end). start is reset (-1: no batch).</summary>
    public static void PrepAndAddAllocated(StateArray<HugePage> pool, ref int start)
    {
        if (start < 0) return;
        pool.MutItems[start..].Reverse();
        start = -1;
    }

    /// <summary>Models init_nodemask_of_mempolicy(): the writing task's policy nodes (preferred, preferred-many, bind,
    /// interleave), its CPU's node for MPOL_LOCAL; null for the default policy (no current->mempolicy). The writer is
    /// taken to run on CPU 0.</summary>
    private static Bitmap? InitNodemaskOfMempolicy(KernelContext k)
    {
        if (k.WriterMempolicy is not { } pol || pol.Mode == MpolMode.Default) return null;
        if (pol.Mode != MpolMode.Local) return pol.Nodes.ToBitmap();
        var m = new Bitmap(NumaConstants.MaxNumNodes);
        m.Set(k.Cpus.CpuToNode(0));
        return m;
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
            int j = HeadOf(pool, node);
            if (j >= 0) free(j);
            return j >= 0;
        });

    /// <summary>The head of node nid's free list (hugepage_freelists[nid].next): the index of its most recently enqueued
    /// page in the pool, or -1 when the list is empty.</summary>
    public static int HeadOf(StateArray<HugePage> pool, int nid)
    {
        var items = pool.Items;
        for (int j = items.Length - 1; j >= 0; j--) if (items[j].Nid == nid) return j;
        return -1;
    }

    /// <summary>The index of the page with head pfn in a list of huge pages, or -1.</summary>
    public static int IndexOfPfn(StateArray<HugePage> pages, long pfn)
    {
        var items = pages.Items;
        for (int i = 0; i < items.Length; i++) if (items[i].Pfn == pfn) return i;
        return -1;
    }

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

/// <summary>What set_max_huge_pages() reads and calls of one hstate.</summary>
internal interface IHstatePool
{
    /// <summary>h->nr_huge_pages(_node[nid]).</summary>
    long NrHugePages(int nid = -1);

    /// <summary>h->free_huge_pages.</summary>
    long FreeHugePages(int nid = -1);

    /// <summary>h->surplus_huge_pages(_node[nid]).</summary>
    long SurplusHugePages(int nid = -1);

    /// <summary>h->resv_huge_pages.</summary>
    long ResvHugePages { get; }

    /// <summary>Models alloc_pool_huge_page() (6.12: alloc_pool_huge_folio(), the folio kept for the batch).</summary>
    bool AllocPoolHugePage(Bitmap allowed);

    /// <summary>Models prep_and_add_allocated_folios() after the growth loop (6.12); nothing where each page joined
    /// the pool as it came (6.1's free_huge_page() of every new page).</summary>
    void EndPoolGrowth();

    /// <summary>Models remove_pool_huge_page() + update_and_free_page().</summary>
    bool RemovePoolHugePage(Bitmap allowed);

    /// <summary>Models adjust_pool_surplus().</summary>
    bool AdjustPoolSurplus(Bitmap allowed, int delta);
}
