using Numasim.Kernel.Numa;
using Numasim.Kernel.Sysfs;
using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>One huge page of an hstate: its head pfn, node and zone.</summary>
internal readonly record struct HugePage(long Pfn, int Nid, int ZoneId);

/// <summary>mm/hugetlb.c: the default hstate's (2 MiB, order 9) pool, per node, allocated from and freed to the buddy
/// allocator: free pages on their node's list, pages in use (hugetlbfs files, HugetlbFolios.cs) on the active list,
/// and the per-node surplus counts. nr_huge_pages and free_huge_pages (and their per-node arrays) are derived from the
/// two lists; resv_huge_pages counts the pages hugetlbfs files have reserved (HugetlbReserve.cs).</summary>
internal sealed partial class Hugetlb : IHstate, IHstatePool
{
    public const int Order = 9; // HUGETLB_PAGE_ORDER on x86_64 (PMD_SHIFT - PAGE_SHIFT)
    public const string Root = "/sys/kernel/mm/hugepages";
    private static readonly AllocContext RuntimeCaller = new(0, "sh", 1, ["alloc_buddy_huge_page", "alloc_fresh_huge_page",
        "alloc_pool_huge_page", "set_max_huge_pages", "__nr_hugepages_store_common", "nr_hugepages_store", "kernfs_fop_write_iter", "vfs_write"]);

    private readonly KernelContext _k;
    private readonly PageAlloc _alloc;
    // The pool in enqueue order: enqueue_huge_page() puts a page at the head of its node's list, dequeue takes the head.
    private readonly StateArray<HugePage> _pool;
    // h->hugepage_activelist: the pages a hugetlbfs file holds (its page cache).
    private readonly StateArray<HugePage> _active;
    // h->surplus_huge_pages_node[nid], sized to the highest node that ever had one.
    private readonly StateArray<long> _surplus;
    // 6.12's set_max_huge_pages() keeps the pages it allocates on a list and enqueues them after the loop: where they start.
    private int _growStart = -1;
    // h->next_nid_to_alloc, h->next_nid_to_free (NUMA_NO_NODE until first used), h->max_huge_pages.
    private readonly StateArray<int> _nextNid;
    private readonly StateValue<long> _maxHugePages;
    // h->nr_overcommit_huge_pages: how many surplus pages alloc_surplus_huge_page() may hold.
    private readonly StateValue<long> _nrOvercommit;
    // h->resv_huge_pages.
    private readonly StateValue<long> _resv;

    public Hugetlb(KernelContext k, PageAlloc alloc)
    {
        _k = k;
        _alloc = alloc;
        (_pool, _nextNid, _maxHugePages) = HstatePool.NewState(k.State, "hugetlb");
        _nrOvercommit = new StateValue<long>(k.State, "hugetlb nr_overcommit_huge_pages");
        _resv = new StateValue<long>(k.State, "hugetlb resv_huge_pages");
        _active = new StateArray<HugePage>(k.State, "hugetlb active pages");
        _surplus = new StateArray<long>(k.State, "hugetlb surplus pages per node");
        Gigantic = new HugetlbGigantic(k, alloc);
        Default = this;
    }

    public int PagesPerHugePage => 1 << Order;

    /// <summary>The 1 GiB hstate (hugepages-1048576kB), when the CPU has pdpe1gb.</summary>
    public HugetlbGigantic Gigantic { get; }

    /// <summary>h->nr_huge_pages (nid &lt; 0) or h->nr_huge_pages_node[nid].</summary>
    public long NrHugePages(int nid = -1) => HstatePool.Count(_pool, _active, nid);

    /// <summary>h->free_huge_pages(_node[nid]): the pages on the free lists.</summary>
    public long FreeHugePages(int nid = -1) => HstatePool.Count(_pool, nid);

    /// <summary>h->surplus_huge_pages (nid &lt; 0) or h->surplus_huge_pages_node[nid].</summary>
    public long SurplusHugePages(int nid = -1)
    {
        if (nid >= 0) return nid < _surplus.Length ? _surplus[nid] : 0;
        long n = 0;
        foreach (var v in _surplus.Items) n += v;
        return n;
    }

    private void AddSurplus(int nid, long delta)
    {
        if (nid >= _surplus.Length) _surplus.Resize(nid + 1);
        _surplus.Mut(nid) += delta;
    }

    /// <summary>h->resv_huge_pages.</summary>
    public long ResvHugePages => _resv.Value;

    /// <summary>hugetlb_total_pages(): base pages held by all hstates' pools.</summary>
    public long TotalPages => NrHugePages() * PagesPerHugePage + Gigantic.TotalPages;

    /// <summary>Models hugetlb_sysfs_init() and hugetlb_register_node()'s files: /sys/kernel/mm/hugepages/hugepages-2048kB/
    /// (hstate_attrs). nodeN/hugepages/ uses <see cref="NodeAttrs"/>.</summary>
    public void SysfsInit()
    {
        var d = _k.Fs.MakeDirs($"{Root}/hugepages-2048kB");
        d.Attr("free_hugepages", () => $"{FreeHugePages()}\n", mode: 0b100_100_100);
        d.Attr("nr_hugepages", () => $"{NrHugePages()}\n", v => NrHugepagesStore(v, NumaConstants.NumaNoNode), 0b110_100_100);
        d.Attr("nr_hugepages_mempolicy", () => $"{NrHugePages()}\n", v => NrHugepagesStore(v, NumaConstants.NumaNoNode, true), 0b110_100_100);
        d.Attr("nr_overcommit_hugepages", () => $"{(ulong)_nrOvercommit.Value}\n", NrOvercommitStore, 0b110_100_100);
        d.Attr("resv_hugepages", () => $"{ResvHugePages}\n", mode: 0b100_100_100);
        d.Attr("surplus_hugepages", () => $"{SurplusHugePages()}\n", mode: 0b100_100_100);
    }

    /// <summary>A 2 MiB part of a demoted gigantic page joins its node's free list (enqueue_huge_page(): the head).</summary>
    internal void EnqueueDemoted(HugePage page) => _pool.Add(page);

    /// <summary>demote_free_huge_page()'s "target_hstate->max_huge_pages += ...".</summary>
    internal void AddMaxHugePages(long n) => _maxHugePages.Mut += n;

    /// <summary>h->max_huge_pages: what /proc/sys/vm/nr_hugepages shows (the sysfs file shows nr_huge_pages).</summary>
    public long MaxHugePages => _maxHugePages.Value;

    /// <summary>h->nr_overcommit_huge_pages.</summary>
    public ulong NrOvercommitHugePages => (ulong)_nrOvercommit.Value;

    public Errno SetNrOvercommitHugePages(ulong count)
    {
        _nrOvercommit.Mut = (long)count;
        return Errno.None;
    }

    public long SizeKb => (Page.Size << Order) / 1024;

    public bool IsGigantic => false;

    /// <summary>default_hstate: this one unless default_hugepagesz= named the 1 GiB hstate (set by hugetlb_init()).</summary>
    public IHstate Default { get; private set; }

    /// <summary>Models nr_overcommit_hugepages_store(): kstrtoul(buf, 10) (this hstate is not gigantic, so the
    /// -EINVAL for a gigantic one is <see cref="HugetlbGigantic"/>'s).</summary>
    private Errno NrOvercommitStore(string v)
    {
        var err = ParseCount(v, out var count);
        if (err == Errno.None) err = SetNrOvercommitHugePages(count);
        return err;
    }

    /// <summary>Whether scan_movable_pages() skips pfn: the head of a free 2 MiB pool page (not HPageMigratable) or inside
    /// a 1 GiB one.</summary>
    public bool SkipInScan(long pfn) => IsFreeHugePage(pfn) || Gigantic.Contains(pfn);

    /// <summary>Whether pfn is the head of a pool page (PageHuge() and not HPageMigratable(): scan_movable_pages() skips it).</summary>
    public bool IsFreeHugePage(long pfn) => HstatePool.IndexOfPfn(_pool, pfn) >= 0;

    /// <summary>kstrtoul(buf, 10, &amp;count): decimal digits and at most one trailing newline.</summary>
    internal static Errno ParseCount(string v, out ulong count)
    {
        var s = v.EndsWith('\n') ? v[..^1] : v;
        if (s.StartsWith('+')) s = s[1..];
        count = 0;
        if (s.Length == 0 || !s.All(char.IsAsciiDigit)) return Errno.EINVAL;
        return ulong.TryParse(s, out count) ? Errno.None : Errno.ERANGE;
    }

    /// <summary>Models nr_hugepages_store(): kstrtoul() then __nr_hugepages_store_common().</summary>
    public Errno NrHugepagesStore(string value, int nid, bool obeyMempolicy = false)
    {
        var err = ParseCount(value, out var count);
        return err != Errno.None ? err : NrHugepagesStoreCommon(count, nid, obeyMempolicy);
    }

    /// <summary>Models __nr_hugepages_store_common(): NUMA_NO_NODE balances over N_MEMORY (over the writer's policy nodes
    /// for the *_mempolicy files), a node's file only that node.</summary>
    public Errno NrHugepagesStoreCommon(ulong count, int nid, bool obeyMempolicy = false)
    {
        using var call = _k.Trace.Call("__nr_hugepages_store_common", "mm/hugetlb.c", $"count {count}, nid {nid}");
        return HstatePool.SetMaxHugePages(this, _maxHugePages, count, nid, HstatePool.NodesAllowed(_k, nid, obeyMempolicy));
    }

    bool IHstatePool.AllocPoolHugePage(Bitmap allowed)
    {
        if (_k.Profile.HugetlbPoolGrowBatched && _growStart < 0) _growStart = _pool.Length;
        return AllocPoolHugePage(allowed);
    }

    /// <summary>Models prep_and_add_allocated_folios() (6.12): the folios set_max_huge_pages() allocated, kept on a list
    /// with list_add(), are enqueued from its head, so the first one allocated ends at the head of its node's free list.</summary>
    void IHstatePool.EndPoolGrowth() => HstatePool.PrepAndAddAllocated(_pool, ref _growStart);

    bool IHstatePool.RemovePoolHugePage(Bitmap allowed) => RemovePoolHugePage(allowed);

    /// <summary>Models adjust_pool_surplus(): -1 makes a surplus page persistent on the first node (from the alloc cursor)
    /// that has one; +1 makes one surplus on the first node (from the free cursor) with a page not yet surplus.</summary>
    public bool AdjustPoolSurplus(Bitmap allowed, int delta)
    {
        int found = NumaConstants.NumaNoNode;
        if (delta < 0)
        {
            int cursor = _nextNid[0];
            HstatePool.AllocRoundRobin(ref cursor, allowed, node => { found = node; return SurplusHugePages(node) > 0; });
            _nextNid.Set(0, cursor);
            if (found >= 0 && SurplusHugePages(found) == 0) found = NumaConstants.NumaNoNode;
        }
        else
            HstatePool.ForEachNodeToFree(_nextNid, allowed, node =>
            {
                bool ok = SurplusHugePages(node) < NrHugePages(node);
                if (ok) found = node;
                return ok;
            });
        if (found < 0) return false;
        AddSurplus(found, delta);
        return true;
    }

    /// <summary>Models hstate_next_node_to_alloc()/_free() (get_valid_node_allowed() then next_node_allowed()).</summary>
    private int NextNode(int which, Bitmap allowed)
    {
        int cursor = _nextNid[which];
        int nid = NextNode(ref cursor, allowed);
        _nextNid.Set(which, cursor);
        return nid;
    }

    /// <summary>hstate_next_node_to_alloc(int *next_node, ...) on any cursor (6.12 passes a local one at boot).</summary>
    internal static int NextNode(ref int cursor, Bitmap allowed)
    {
        int nid = cursor;
        if (nid == NumaConstants.NumaNoNode || !allowed[nid]) nid = NextAllowed(nid, allowed);
        cursor = NextAllowed(nid, allowed);
        return nid;
    }

    private static int NextAllowed(int nid, Bitmap allowed)
    {
        for (int n = nid + 1; n < allowed.NBits; n++) if (allowed[n]) return n;
        for (int n = 0; n < allowed.NBits; n++) if (allowed[n]) return n;
        return NumaConstants.NumaNoNode;
    }

    /// <summary>Models alloc_pool_huge_page(): for_each_node_mask_to_alloc() tries each allowed node once, from the
    /// round-robin cursor, with alloc_buddy_huge_page(); the page joins the pool (put_page() → enqueue_huge_page()).</summary>
    private bool AllocPoolHugePage(Bitmap allowed, AllocContext? ctx = null)
    {
        int cursor = _nextNid[0];
        bool ok = AllocPoolHugePage(allowed, ref cursor, ctx ?? RuntimeCaller);
        _nextNid.Set(0, cursor);
        return ok;
    }

    /// <summary>alloc_pool_huge_page() with the round-robin cursor given (6.12's alloc_pool_huge_folio(..., next_node)).</summary>
    private bool AllocPoolHugePage(Bitmap allowed, ref int cursor, AllocContext ctx) =>
        HstatePool.AllocRoundRobin(ref cursor, allowed, node => AllocFreshHugePage(node, allowed, ctx));

    /// <summary>Models alloc_fresh_huge_page() + free_huge_page() (6.1) or + the batch's enqueue (6.12): a page from node
    /// nid's buddy joins the pool.</summary>
    private bool AllocFreshHugePage(int node, Bitmap allowed, AllocContext ctx)
    {
        var page = AllocBuddyHugePage(node, allowed, ctx);
        if (page is null) return false;
        var p = new HugePage(page.Pfn, page.Node, page.Zone.Id);
        _k.Trace.Change($"huge page at pfn 0x{page.Pfn:x} from {page.Zone} joins node {node}'s pool");
        if (_growStart >= 0) _pool.Add(p);
        else FreeHugePage(p, temporary: false);
        return true;
    }

    /// <summary>Models free_huge_page(): a temporary page, or one of a node with surplus pages, leaves the pool
    /// (remove_hugetlb_page()) for the buddy allocator (update_and_free_page()); any other goes to the head of its
    /// node's free list (enqueue_huge_page()). The page is on no list when this is called.</summary>
    private void FreeHugePage(HugePage p, bool temporary)
    {
        if (!temporary && SurplusHugePages(p.Nid) == 0)
        {
            _pool.Add(p);
            return;
        }
        if (!temporary) AddSurplus(p.Nid, -1);
        ReleaseToBuddy(p, temporary ? "temporary" : "surplus");
    }

    /// <summary>Models update_and_free_page(): a page off the pool's books goes back to its zone's buddy allocator.</summary>
    private void ReleaseToBuddy(HugePage p, string what)
    {
        _k.ZoneById(p.ZoneId).Pages.Free(p.Pfn, 0);
        _k.Trace.Change($"{what} huge page at pfn 0x{p.Pfn:x} of node {p.Nid} freed to the buddy allocator");
    }

    /// <summary>Models alloc_buddy_huge_page(): __alloc_pages(htlb_alloc_mask(h) | __GFP_THISNODE | __GFP_COMP |
    /// __GFP_NOWARN | __GFP_RETRY_MAYFAIL, order 9, nid, nodes_allowed); 2 MiB pages are movable (GFP_HIGHUSER_MOVABLE).</summary>
    private AllocatedPage? AllocBuddyHugePage(int nid, Bitmap allowed, AllocContext ctx)
    {
        if (_k.NodeDataOf(nid) is null) return null;
        var gfp = Gfp.GfpHighUserMovable | Gfp.ThisNode | Gfp.Comp | Gfp.NoWarn | Gfp.RetryMayfail;
        return _alloc.AllocPages(gfp, Order, nid, allowed, ctx);
    }

    /// <summary>Models remove_pool_huge_page() + update_and_free_page(): for_each_node_mask_to_free() takes the head
    /// of the next node's free list (the most recently enqueued page) back to the buddy.</summary>
    private bool RemovePoolHugePage(Bitmap allowed) => HstatePool.RemoveRoundRobin(_pool, _nextNid, allowed, FreeToBuddy);

    private void FreeToBuddy(int index)
    {
        var p = _pool[index];
        _pool.RemoveAt(index);
        ReleaseToBuddy(p, "free");
    }

    /// <summary>Models dissolve_free_huge_pages(start, end) in offline_pages(): every free huge page of the range leaves
    /// the pool (dissolve_free_huge_page(): remove_hugetlb_page(), max_huge_pages--) and goes back to the buddy, into
    /// the isolated pageblocks; -EBUSY when it would take a reserved page (free == resv).</summary>
    public Errno DissolveFreeHugePages(long start, long end)
    {
        using var call = _k.Trace.Call("dissolve_free_huge_pages", "mm/hugetlb.c", $"pfn 0x{start:x}-0x{end - 1:x}");
        Gigantic.Dissolve(start, end);
        for (int i = 0; i < _pool.Length;)
        {
            var p = _pool[i];
            if (p.Pfn < start || p.Pfn >= end) { i++; continue; }
            if (FreeHugePages() - ResvHugePages == 0) return _k.Trace.Fail(Errno.EBUSY, "free_huge_pages - resv_huge_pages == 0");
            _maxHugePages.Mut--;
            FreeToBuddy(i);
        }
        foreach (var z in _k.AllZones()) if (!z.IsEmpty && z.SpansPfn(start)) z.Pages.DrainPcp();
        return Errno.None;
    }

    /// <summary>The nodeN/hugepages/hugepages-2048kB files (hstate_attr_group with kobj_to_node_hstate()).</summary>
    public static readonly AttributeGroup NodeAttrs = new(
        DeviceAttribute.Ro<NodeHstate>("free_hugepages", n => $"{n.Pool.FreeHugePages(n.Nid)}\n"),
        DeviceAttribute.Rw<NodeHstate>("nr_hugepages", n => $"{n.Pool.NrHugePages(n.Nid)}\n", (n, v) => n.Pool.NrHugepagesStore(v, n.Nid)),
        DeviceAttribute.Ro<NodeHstate>("surplus_hugepages", n => $"{n.Pool.SurplusHugePages(n.Nid)}\n"));
}

/// <summary>A node's view of an hstate (hstate_kobjs of struct node_hstate).</summary>
internal sealed record NodeHstate(Hugetlb Pool, int Nid);
