using Numasim.Kernel.Numa;
using Numasim.Kernel.Sysfs;
using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>mm/hugetlb.c's gigantic hstate on x86_64 (1 GiB, order 18, only with X86_FEATURE_GBPAGES): its persistent
/// pool grown at run time by alloc_gigantic_page() → alloc_contig_pages() (a 1 GiB aligned range wholly in one zone
/// at or below ZONE_NORMAL: gigantic pages are not movable, so htlb_alloc_mask() is GFP_HIGHUSER) and shrunk by
/// free_gigantic_page() → free_contig_range(); at boot (hugepagesz=1G hugepages=N) from memblock while the command
/// line is parsed, put in the pool by gather_bootmem_prealloc(); demoted to 2 MiB pages (HugetlbDemote.cs).</summary>
internal sealed partial class HugetlbGigantic : IHstate, IHstatePool
{
    public const int Order = 30 - Page.Shift;
    public const string Dir = "hugepages-1048576kB";
    private const long NrPages = 1L << Order;

    private readonly KernelContext _k;
    private readonly PageAlloc _alloc;
    private readonly StateArray<HugePage> _pool;
    private readonly StateArray<int> _nextNid; // h->next_nid_to_alloc, h->next_nid_to_free
    private readonly StateValue<long> _maxHugePages;
    private int _growStart = -1; // 6.12: where set_max_huge_pages()'s batch starts in the pool

    public HugetlbGigantic(KernelContext k, PageAlloc alloc)
    {
        _k = k;
        _alloc = alloc;
        (_pool, _nextNid, _maxHugePages) = HstatePool.NewState(k.State, "hugetlb 1G");
    }

    // huge_boot_pages: the memblock addresses __alloc_bootmem_huge_page() got, most recent first (list_add()).
    private readonly List<ulong> _bootPages = [];

    /// <summary>Models hugetlb_hstate_alloc_pages() for the gigantic hstate (called from hugepages_setup()): the
    /// node-specific counts (hugetlb_hstate_alloc_pages_onenode()) or max_huge_pages balanced, each page with
    /// alloc_bootmem_huge_page(); a shortfall is reported and the counts cut.</summary>
    public void BootAllocPages(BootHstate h, Action<string> printk)
    {
        if (h.MaxHugePages == 0) return;
        string size = Hugetlb.SizeString(h.SizeBytes);
        bool nodeSpecific = false;
        foreach (int nid in _k.NodeStates[NodeState.Online].Bits())
        {
            uint want = h.MaxHugePagesNode[nid], i = 0;
            if (want == 0) continue;
            nodeSpecific = true;
            while (i < want && AllocBootmemHugePage(nid)) i++;
            if (i == want) continue;
            printk($"HugeTLB: allocating {want} of page size {size} failed node{nid}.  Only allocated {i} hugepages.");
            h.MaxHugePages -= want - i;
            h.MaxHugePagesNode[nid] = i;
        }
        if (nodeSpecific) return;
        ulong n = 0;
        while (n < h.MaxHugePages && AllocBootmemHugePage(NumaConstants.NumaNoNode)) n++;
        if (n == h.MaxHugePages) return;
        printk($"HugeTLB: allocating {h.MaxHugePages} of page size {size} failed.  Only allocated {n} hugepages.");
        h.MaxHugePages = n;
    }

    /// <summary>Models __alloc_bootmem_huge_page(): memblock_alloc_try_nid_raw(1 GiB, 1 GiB, 0,
    /// MEMBLOCK_ALLOC_ACCESSIBLE, nid) for the node given, or for the next node of N_MEMORY on the hstate's cursor (a
    /// failure there ends it: the loop returns 0 at once). Not exact_nid: a full node falls back to any node.</summary>
    private bool AllocBootmemHugePage(int nid)
    {
        if (nid == NumaConstants.NumaNoNode)
        {
            int cursor = _nextNid[0];
            nid = Hugetlb.NextNode(ref cursor, _k.NodeStates[NodeState.Memory]);
            _nextNid.Set(0, cursor);
            if (nid < 0) return false;
        }
        ulong addr = _k.BootReservations.Alloc("__alloc_bootmem_huge_page", "gigantic huge page", 1UL << 30, 1UL << 30, nid);
        if (addr == 0) return false;
        _bootPages.Insert(0, addr);
        return true;
    }

    /// <summary>Models gather_bootmem_prealloc() (hugetlb_init()): each boot page joins its node's pool and its pages
    /// become managed again (adjust_managed_page_count()), so MemTotal counts them.</summary>
    public void GatherBootmemPrealloc()
    {
        foreach (ulong addr in _bootPages)
        {
            long pfn = (long)(addr >> Page.Shift);
            int nid = _k.Memblock.NidOf(addr);
            if (_k.NodeDataOf(nid) is not { } pgdat || pgdat.Zones.FirstOrDefault(z => !z.IsEmpty && z.SpansPfn(pfn)) is not { } zone) continue;
            zone.ManagedPages += NrPages;
            zone.Pages.AdoptAllocated(pfn, NrPages);
            _pool.Add(new HugePage(pfn, nid, zone.Id));
            _k.Trace.Change($"boot-time 1 GiB page at pfn 0x{pfn:x} joins node {nid}'s pool");
        }
        _bootPages.Clear();
        _maxHugePages.Mut = NrHugePages();
    }

    /// <summary>Whether the hstate exists (gigantic_pages_init(): boot_cpu_has(X86_FEATURE_GBPAGES)).</summary>
    public bool Registered => Arch.X86Capabilities.BootCpuHas(_k, "pdpe1gb");

    /// <summary>h->nr_huge_pages(_node[nid]); every page is free (no hugetlbfs users).</summary>
    public long NrHugePages(int nid = -1) => HstatePool.Count(_pool, nid);

    public long TotalPages => NrHugePages() * NrPages;

    public long FreeHugePages(int nid = -1) => NrHugePages(nid);

    public long MaxHugePages => _maxHugePages.Value;

    public long SizeKb => (Page.Size << Order) / 1024;

    public bool IsGigantic => true;

    /// <summary>h->nr_overcommit_huge_pages stays 0: surplus pages are never gigantic.</summary>
    public ulong NrOvercommitHugePages => 0;

    /// <summary>hugetlb_overcommit_handler() and nr_overcommit_hugepages_store(): -EINVAL for a gigantic hstate.</summary>
    public Errno SetNrOvercommitHugePages(ulong count) => Errno.EINVAL;

    /// <summary>Whether pfn lies in a pool page (PageHuge(): scan_movable_pages() and pfn_range_valid_contig() skip it).</summary>
    public bool Contains(long pfn)
    {
        foreach (var p in _pool.Items) if (pfn >= p.Pfn && pfn < p.Pfn + NrPages) return true;
        return false;
    }

    /// <summary>Models hugetlb_sysfs_add_hstate() for the 1 GiB hstate: hstate_attr_group, then hstate_demote_attr_group
    /// (its demote_order is the 2 MiB hstate's). nr_overcommit_hugepages_store() is -EINVAL for a gigantic hstate.</summary>
    public void SysfsInit()
    {
        if (!Registered) return;
        var d = _k.Fs.MakeDirs($"{Hugetlb.Root}/{Dir}");
        const int rw = 0b110_100_100, ro = 0b100_100_100;
        d.Attr("free_hugepages", () => $"{NrHugePages()}\n", mode: ro);
        d.Attr("nr_hugepages", () => $"{NrHugePages()}\n", v => Store(v, NumaConstants.NumaNoNode), rw);
        d.Attr("nr_hugepages_mempolicy", () => $"{NrHugePages()}\n", v => Store(v, NumaConstants.NumaNoNode, true), rw);
        d.Attr("nr_overcommit_hugepages", () => "0\n", _ => SetNrOvercommitHugePages(0), rw);
        d.Attr("resv_hugepages", () => "0\n", mode: ro);
        d.Attr("surplus_hugepages", () => "0\n", mode: ro);
        if (!_k.Profile.HugetlbDemote) return;
        d.Attr("demote", null, v => DemoteStore(v, NumaConstants.NumaNoNode), 0b010_000_000);
        d.Attr("demote_size", DemoteSizeShow, DemoteSizeStore, rw);
    }

    /// <summary>Models nr_hugepages_store() → __nr_hugepages_store_common() → set_max_huge_pages() for the gigantic
    /// hstate (gigantic_page_runtime_supported(): CONFIG_CONTIG_ALLOC).</summary>
    public Errno Store(string value, int nid, bool obeyMempolicy = false)
    {
        var err = Hugetlb.ParseCount(value, out var count);
        return err != Errno.None ? err : NrHugepagesStoreCommon(count, nid, obeyMempolicy);
    }

    public Errno NrHugepagesStoreCommon(ulong count, int nid, bool obeyMempolicy = false)
    {
        using var call = _k.Trace.Call("__nr_hugepages_store_common", "mm/hugetlb.c", $"1 GiB hstate, count {count}, nid {nid}");
        return HstatePool.SetMaxHugePages(this, _maxHugePages, count, nid, HstatePool.NodesAllowed(_k, nid, obeyMempolicy));
    }

    /// <summary>h->surplus_huge_pages: 0 (alloc_surplus_huge_page() makes none of a gigantic hstate, and no file uses one).</summary>
    public long SurplusHugePages(int nid = -1) => 0;

    /// <summary>h->resv_huge_pages: 0 (no mapping reserves one).</summary>
    public long ResvHugePages => 0;

    bool IHstatePool.AllocPoolHugePage(Bitmap allowed)
    {
        if (_k.Profile.HugetlbPoolGrowBatched && _growStart < 0) _growStart = _pool.Length;
        return AllocPoolHugePage(allowed);
    }

    /// <summary>Models prep_and_add_allocated_folios() (6.12): the first page allocated ends at the head of its list.</summary>
    void IHstatePool.EndPoolGrowth() => HstatePool.PrepAndAddAllocated(_pool, ref _growStart);

    bool IHstatePool.RemovePoolHugePage(Bitmap allowed) => RemovePoolHugePage(allowed);

    /// <summary>Models adjust_pool_surplus(): no node has a surplus page to make persistent, and once removal stops the
    /// allowed nodes have no page left to make surplus (every page is free).</summary>
    public bool AdjustPoolSurplus(Bitmap allowed, int delta) => false;

    /// <summary>Models alloc_pool_huge_page() → alloc_fresh_huge_page() → alloc_gigantic_page() on the alloc cursor.</summary>
    private bool AllocPoolHugePage(Bitmap allowed)
    {
        int cursor = _nextNid[0];
        bool ok = HstatePool.AllocRoundRobin(ref cursor, allowed, node =>
        {
            if (AllocContigPages(node, allowed) is not { } page) return false;
            _pool.Add(page);
            _k.Trace.Change($"1 GiB page at pfn 0x{page.Pfn:x} joins node {node}'s pool");
            return true;
        });
        _nextNid.Set(0, cursor);
        return ok;
    }

    /// <summary>Models alloc_contig_pages(nr_pages, GFP_HIGHUSER | __GFP_THISNODE, nid, nodemask): node nid's zones up
    /// to ZONE_NORMAL (ZONELIST_NOFALLBACK), highest first; in each, every nr_pages-aligned range the zone spans whole
    /// is tried if pfn_range_valid_contig() (online, in this zone, no huge page) and then __alloc_contig_pages().</summary>
    private HugePage? AllocContigPages(int nid, Bitmap allowed)
    {
        if (_k.NodeDataOf(nid) is not { } pgdat || !allowed[nid]) return null;
        for (int t = (int)ZoneType.Normal; t >= 0; t--)
        {
            var zone = pgdat.Zones[t];
            if (zone.IsEmpty) continue;
            for (long pfn = (zone.ZoneStartPfn + NrPages - 1) & ~(NrPages - 1); pfn + NrPages <= zone.ZoneEndPfn; pfn += NrPages)
                if (PfnRangeValidContig(zone, pfn) && AllocContigRange(zone, pfn) == Errno.None)
                    return new HugePage(pfn, nid, zone.Id);
        }
        return null;
    }

    /// <summary>Models pfn_range_valid_contig(): every memory block of the range online in this zone, no huge page in it.
    /// (A PageReserved page makes alloc_contig_range()'s test_pages_isolated() fail instead.)</summary>
    private bool PfnRangeValidContig(Zone zone, long pfn)
    {
        long per = _k.PagesPerBlock;
        for (long b = pfn / per; b < (pfn + NrPages + per - 1) / per; b++)
            if (_k.FindMemoryBlock(b) is not { State: not Drivers.MemoryBlockState.Offline } mb || mb.Zone != zone) return false;
        if (Contains(pfn) || Contains(pfn + NrPages - 1)) return false;
        for (long p = pfn; p < pfn + NrPages; p += 1L << Hugetlb.Order)
            if (_k.Hugetlb?.IsFreeHugePage(p) == true) return false;
        return true;
    }

    /// <summary>Models alloc_contig_range(pfn, pfn + nr_pages, MIGRATE_MOVABLE): isolate (unmovable pages refuse),
    /// migrate the movable ones, test_pages_isolated(), then the range is the caller's. -EBUSY changes nothing.</summary>
    private Errno AllocContigRange(Zone zone, long pfn)
    {
        var pages = zone.Pages;
        pages.DrainPcp();
        long end = pfn + NrPages;
        var err = pages.Isolate(pfn, end, out _, checkUnmovable: true, zoneIsMovable: zone.Type == ZoneType.Movable);
        if (err != Errno.None) return Errno.EBUSY;
        err = _alloc.MigrateRange(zone, pfn, end);
        if (err == Errno.None) err = pages.TestPagesIsolated(pfn, end, out _);
        if (err == Errno.None) pages.TakeIsolatedAsAllocated(pfn, end);
        pages.UndoIsolate(pfn, end);
        return err == Errno.None ? Errno.None : Errno.EBUSY;
    }

    /// <summary>Models remove_pool_huge_page() + update_and_free_page() → free_gigantic_page() → free_contig_range().</summary>
    private bool RemovePoolHugePage(Bitmap allowed) => HstatePool.RemoveRoundRobin(_pool, _nextNid, allowed, Free);

    private void Free(int index)
    {
        var p = _pool[index];
        _pool.RemoveAt(index);
        var pages = _k.ZoneById(p.ZoneId).Pages;
        for (long pfn = p.Pfn; pfn < p.Pfn + NrPages; pfn += 1L << (BuddyConstants.MaxOrder - 1)) pages.Free(pfn, 0);
        _k.Trace.Change($"1 GiB page at pfn 0x{p.Pfn:x} of node {p.Nid} freed to the buddy allocator");
    }

    /// <summary>Models isolate_single_pageblock()'s check at both ends of start_isolate_page_range(): a pool page that
    /// crosses start or end must be migrated, which isolate_or_dissolve_huge_page() refuses for a gigantic page
    /// (-ENOMEM): on 6.1 offline of a memory block smaller than 1 GiB holding part of one fails; 6.12 skips huge pages
    /// there (<see cref="Profiles.KernelProfile.IsolationSkipsHugePages"/>).</summary>
    public bool Straddles(long start, long end)
    {
        if (_k.Profile.IsolationSkipsHugePages) return false;
        foreach (var p in _pool.Items)
            if ((p.Pfn < start && p.Pfn + NrPages > start) || (p.Pfn < end && p.Pfn + NrPages > end)) return true;
        return false;
    }

    /// <summary>Models dissolve_free_huge_pages() for the gigantic pages a range touches: each (compound_head() of any
    /// of its pages) leaves the pool whole and goes back to the buddy, the parts outside the range too.</summary>
    public void Dissolve(long start, long end)
    {
        for (int i = 0; i < _pool.Length;)
        {
            var p = _pool[i];
            if (p.Pfn + NrPages <= start || p.Pfn >= end) { i++; continue; }
            _maxHugePages.Mut--;
            Free(i);
        }
    }

    /// <summary>The nodeN/hugepages/hugepages-1048576kB files (hstate_attr_group with kobj_to_node_hstate()).</summary>
    public static readonly AttributeGroup NodeAttrs = new(
        DeviceAttribute.Ro<NodeGigantic>("free_hugepages", n => $"{n.Pool.NrHugePages(n.Nid)}\n"),
        DeviceAttribute.Rw<NodeGigantic>("nr_hugepages", n => $"{n.Pool.NrHugePages(n.Nid)}\n", (n, v) => n.Pool.Store(v, n.Nid)),
        DeviceAttribute.Ro<NodeGigantic>("surplus_hugepages", _ => "0\n"));

    /// <summary>The nodeN files of hstate_demote_attr_group (hugetlb_register_node() adds it when h->demote_order).</summary>
    public static readonly AttributeGroup NodeDemoteAttrs = new(
        DeviceAttribute.Wo<NodeGigantic>("demote", (n, v) => n.Pool.DemoteStore(v, n.Nid)),
        DeviceAttribute.Rw<NodeGigantic>("demote_size", _ => DemoteSizeShow(), (_, v) => DemoteSizeStore(v)));
}

/// <summary>A node's view of the gigantic hstate.</summary>
internal sealed record NodeGigantic(HugetlbGigantic Pool, int Nid);
