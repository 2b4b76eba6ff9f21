using Numasim.Kernel.Init;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Mm;

/// <summary>mm/hugetlb.c's demote interface for the 1 GiB hstate (v5.16+): demote_size names the hstate its pages split
/// into (h->demote_order: the 2 MiB one, the only smaller hstate on x86_64), and a write to demote moves free 1 GiB
/// pages of the node (or of N_MEMORY) into the 2 MiB pool, 512 pages each. The pages stay allocated; only their
/// compound order changes.</summary>
internal sealed partial class HugetlbGigantic
{
    /// <summary>Models demote_size_show(): (PAGE_SIZE &lt;&lt; h->demote_order) / SZ_1K.</summary>
    private static string DemoteSizeShow() => $"{(Page.Size << Hugetlb.Order) / 1024}kB\n";

    /// <summary>Models demote_size_store(): memparse() of the text must name an hstate (size_to_hstate()) of at least
    /// HUGETLB_PAGE_ORDER and below this one's order; on x86_64 that is 2 MiB alone, which it already is.</summary>
    private static Errno DemoteSizeStore(string value)
    {
        ulong size = CmdlineParsing.Memparse(value, out _);
        return size == (ulong)Page.Size << Hugetlb.Order ? Errno.None : Errno.EINVAL;
    }

    /// <summary>Models demote_store(): kstrtoul(buf, 10); while pages are asked for and the node (or every node) has a
    /// free page (free_huge_pages - resv_huge_pages), demote_pool_huge_page() over the node, or N_MEMORY.</summary>
    private Errno DemoteStore(string value, int nid)
    {
        var err = Hugetlb.ParseCount(value, out var nrDemote);
        if (err != Errno.None) return err;
        using var call = _k.Trace.Call("demote_store", "mm/hugetlb.c", $"1 GiB hstate, {nrDemote} page(s), nid {nid}");
        var allowed = HstatePool.NodesAllowed(_k, nid);
        while (nrDemote > 0 && FreeHugePages(nid) > 0)
        {
            long done = _k.Profile.HugetlbDemoteBatched ? DemoteNodeBatch(allowed, nrDemote) : DemoteOne(allowed) ? 1 : 0;
            if (done == 0) break;
            nrDemote -= (ulong)done;
        }
        return Errno.None;
    }

    /// <summary>Models 6.1's demote_pool_huge_page() → demote_free_huge_page(): the next node of the free cursor with a
    /// free page gives the head of its list; each 2 MiB part is freed into the 2 MiB pool in turn (free_huge_page():
    /// enqueued at the head, so the highest part ends first).</summary>
    private bool DemoteOne(Bitmap allowed) =>
        HstatePool.RemoveRoundRobin(_pool, _nextNid, allowed, i =>
        {
            var p = _pool[i];
            _pool.RemoveAt(i);
            Split(p, descending: false);
        });

    /// <summary>Models 6.12's demote_pool_huge_page(): for_each_node_mask_to_free() moves free pages off each node's
    /// list (head first) until <paramref name="nrToDemote"/> are taken, and per node demote_free_hugetlb_folios()
    /// splits them and prep_and_add_allocated_folios() enqueues the parts in one pass: per page from its highest part
    /// down, the pages in the order they left the list, so the last page's lowest part ends at the head. Returns how
    /// many pages were demoted.</summary>
    private long DemoteNodeBatch(Bitmap allowed, ulong nrToDemote)
    {
        long demoted = 0;
        var taken = new List<HugePage>();
        HstatePool.ForEachNodeToFree(_nextNid, allowed, node =>
        {
            taken.Clear();
            for (int j = _pool.Length - 1; j >= 0 && (ulong)demoted < nrToDemote; j--)
                if (_pool[j].Nid == node)
                {
                    taken.Add(_pool[j]);
                    _pool.RemoveAt(j);
                    demoted++;
                }
            foreach (var p in taken) Split(p, descending: true);
            return (ulong)demoted == nrToDemote;
        });
        return demoted;
    }

    /// <summary>One 1 GiB page leaves this pool (remove_hugetlb_page_for_demote(), max_huge_pages--) and its 512 parts,
    /// still allocated, join the 2 MiB pool (max_huge_pages += 512) in the enqueue order given.</summary>
    private void Split(HugePage p, bool descending)
    {
        var pages = _k.ZoneById(p.ZoneId).Pages;
        for (long pfn = p.Pfn; pfn < p.Pfn + NrPages; pfn += 1L << (BuddyConstants.MaxOrder - 1))
            pages.SplitAllocated(pfn, Hugetlb.Order);
        var target = _k.Hugetlb!;
        const long parts = NrPages >> Hugetlb.Order;
        for (long i = 0; i < parts; i++)
            target.EnqueueDemoted(new HugePage(p.Pfn + ((descending ? parts - 1 - i : i) << Hugetlb.Order), p.Nid, p.ZoneId));
        target.AddMaxHugePages(parts);
        _maxHugePages.Mut--;
        _k.Trace.Change($"1 GiB page at pfn 0x{p.Pfn:x} of node {p.Nid} demoted to {parts} 2 MiB pages");
    }
}
