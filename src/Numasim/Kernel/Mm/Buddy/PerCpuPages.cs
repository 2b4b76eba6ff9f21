using System.Runtime.CompilerServices;

namespace Numasim.Kernel.Mm;

/// <summary>Models struct per_cpu_pages (include/linux/mmzone.h, v6.1 with CONFIG_TRANSPARENT_HUGEPAGE): one CPU's
/// lists of free pages for one zone, NR_PCP_LISTS = MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1) + 2 (the two
/// pageblock_order lists for THP). Pages here are free but neither in the buddy nor in NR_FREE_PAGES.
/// Each list is a ring-buffer deque of (pfn &lt;&lt; 3 | page->index migratetype): head = list_first_entry.</summary>
public sealed class PerCpuPages
{
    /// <summary>NR_LOWORDER_PCP_LISTS.</summary>
    public const int NrLowOrderPcpLists = MigrateTypes.PcpTypes * (BuddyConstants.PageAllocCostlyOrder + 1);
    /// <summary>NR_PCP_LISTS.</summary>
    public const int NrPcpLists = NrLowOrderPcpLists + 2;

    internal struct PcpList
    {
        public long[] Buf;
        public int Head;
        public int Len;
    }

    internal readonly PcpList[] Lists = new PcpList[NrPcpLists];

    /// <summary>pcp->count: pages (not entries) on all lists.</summary>
    public int Count { get; internal set; }

    /// <summary>pcp->free_factor.</summary>
    public int FreeFactor { get; internal set; }

    public PerCpuPages()
    {
        for (int i = 0; i < NrPcpLists; i++) Lists[i].Buf = new long[8];
    }

    /// <summary>Models pcp_allowed_order(), mm/page_alloc.c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool PcpAllowedOrder(int order) => order <= BuddyConstants.PageAllocCostlyOrder || order == BuddyConstants.PageblockOrder;

    /// <summary>Models order_to_pindex(), mm/page_alloc.c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int OrderToPindex(MigrateType mt, int order) =>
        order > BuddyConstants.PageAllocCostlyOrder
            ? NrLowOrderPcpLists + (mt == MigrateType.Movable ? 1 : 0)
            : MigrateTypes.PcpTypes * order + (int)mt;

    /// <summary>Models pindex_to_order(), mm/page_alloc.c.</summary>
    public static int PindexToOrder(int pindex) =>
        pindex >= NrLowOrderPcpLists ? BuddyConstants.PageblockOrder : pindex / MigrateTypes.PcpTypes;

    /// <summary>Entries on one list.</summary>
    public int ListLength(int pindex) => Lists[pindex].Len;

    /// <summary>Pfns on one list, head first.</summary>
    public IEnumerable<long> ListPfns(int pindex)
    {
        var l = Lists[pindex];
        for (int i = 0; i < l.Len; i++) yield return l.Buf[(l.Head + i) & (l.Buf.Length - 1)] >> 3;
    }

    private static void Grow(ref PcpList l)
    {
        var nb = new long[l.Buf.Length * 2];
        for (int i = 0; i < l.Len; i++) nb[i] = l.Buf[(l.Head + i) & (l.Buf.Length - 1)];
        l.Buf = nb;
        l.Head = 0;
    }

    /// <summary>list_add: push at the head.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void PushFront(ref PcpList l, long entry)
    {
        if (l.Len == l.Buf.Length) Grow(ref l);
        l.Head = (l.Head - 1) & (l.Buf.Length - 1);
        l.Buf[l.Head] = entry;
        l.Len++;
    }

    /// <summary>list_add_tail.</summary>
    internal static void PushBack(ref PcpList l, long entry)
    {
        if (l.Len == l.Buf.Length) Grow(ref l);
        l.Buf[(l.Head + l.Len) & (l.Buf.Length - 1)] = entry;
        l.Len++;
    }

    /// <summary>list_first_entry + list_del.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static long PopFront(ref PcpList l)
    {
        long e = l.Buf[l.Head];
        l.Head = (l.Head + 1) & (l.Buf.Length - 1);
        l.Len--;
        return e;
    }

    /// <summary>list_last_entry + list_del.</summary>
    internal static long PopBack(ref PcpList l)
    {
        l.Len--;
        return l.Buf[(l.Head + l.Len) & (l.Buf.Length - 1)];
    }

    /// <summary>Models rmqueue_bulk(), mm/page_alloc.c: moves up to count blocks from the buddy to the list tail.</summary>
    internal int RmqueueBulk(BuddyFreeArea zone, int order, int count, int pindex, MigrateType mt, AllocFlags flags)
    {
        ref var list = ref Lists[pindex];
        int i;
        for (i = 0; i < count; i++)
        {
            long pfn = zone.Rmqueue(order, mt, flags, out var takenAs);
            if (pfn < 0) break;
            PushBack(ref list, (pfn << 3) | (long)takenAs);
            if (takenAs == MigrateType.Cma) zone.ModZonePageState(0, -(1L << order));
        }
        zone.ModZonePageState(-((long)i << order), 0);
        return i;
    }

    /// <summary>Models __rmqueue_pcplist() after rmqueue_pcplist()'s free_factor decay, mm/page_alloc.c: head pfn
    /// or -1; takenAs is page->index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal long RmqueuePcplist(BuddyFreeArea zone, int order, MigrateType mt, AllocFlags flags, int batch, out MigrateType takenAs)
    {
        FreeFactor >>= 1;
        int pindex = OrderToPindex(mt, order);
        ref var list = ref Lists[pindex];
        if (list.Len == 0)
        {
            if (batch > 1) batch = Math.Max(batch >> order, 2);
            int alloced = RmqueueBulk(zone, order, batch, pindex, mt, flags);
            Count += alloced << order;
            if (list.Len == 0) { takenAs = mt; return -1; }
        }
        long e = PopFront(ref list);
        Count -= 1 << order;
        takenAs = (MigrateType)(e & 7);
        return e >> 3;
    }

    /// <summary>Models nr_pcp_free(), mm/page_alloc.c (6.1.y, with CONFIG_PCP_BATCH_SCALE_MAX).</summary>
    internal int NrPcpFree(int high, int batch, bool freeHigh)
    {
        if (freeHigh) return Count;
        if (high < batch) return 1;
        int minNrFree = batch;
        int maxNrFree = high - batch;
        batch <<= FreeFactor;
        if (batch < maxNrFree && FreeFactor < BuddyConstants.PcpBatchScaleMax) FreeFactor++;
        return Math.Min(Math.Max(batch, minNrFree), maxNrFree); // the kernel's clamp()
    }

    /// <summary>Models nr_pcp_high(), mm/page_alloc.c (ZONE_RECLAIM_ACTIVE not modelled).</summary>
    internal static int NrPcpHigh(int high, bool freeHigh) => high == 0 || freeHigh ? 0 : high;

    /// <summary>Models free_unref_page_commit(), mm/page_alloc.c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void FreeUnrefPageCommit(BuddyFreeArea zone, long pfn, MigrateType pcpMt, MigrateType pageMt, int order, int high, int batch)
    {
        int pindex = OrderToPindex(pcpMt, order);
        PushFront(ref Lists[pindex], (pfn << 3) | (long)pageMt);
        Count += 1 << order;
        bool freeHigh = FreeFactor != 0 && order != 0 && order <= BuddyConstants.PageAllocCostlyOrder;
        int h = NrPcpHigh(high, freeHigh);
        if (Count >= h) FreePcppagesBulk(zone, NrPcpFree(h, batch, freeHigh), pindex);
    }

    /// <summary>Models free_pcppages_bulk(), mm/page_alloc.c: returns count pages to the buddy, round-robin over
    /// the lists starting with pindex, each list from its tail.</summary>
    internal void FreePcppagesBulk(BuddyFreeArea zone, int count, int pindex)
    {
        int minP = 0, maxP = NrPcpLists - 1;
        count = Math.Min(Count, count);
        pindex--;
        bool isolated = zone.NrIsolatePageblock > 0;
        while (count > 0)
        {
            while (true)
            {
                if (++pindex > maxP) pindex = minP;
                if (Lists[pindex].Len != 0) break;
                if (pindex == maxP) maxP--;
                if (pindex == minP) minP++;
            }
            ref var list = ref Lists[pindex];
            int order = PindexToOrder(pindex);
            int nr = 1 << order;
            do
            {
                long e = PopBack(ref list);
                long pfn = e >> 3;
                var mt = (MigrateType)(e & 7);
                count -= nr;
                Count -= nr;
                if (mt == MigrateType.Isolate) throw new InvalidOperationException("BUG: MIGRATE_ISOLATE page on a pcp list");
                if (isolated) mt = zone.PageblockMigratetype(pfn);
                zone.FreeOnePage(pfn, order, mt, toTail: false);
            } while (count > 0 && list.Len != 0);
        }
    }

    /// <summary>Models drain_pages_zone() for this CPU, mm/page_alloc.c.</summary>
    internal void DrainPagesZone(BuddyFreeArea zone, int batch)
    {
        while (Count > 0)
        {
            int toDrain = Math.Min(Count, batch << BuddyConstants.PcpBatchScaleMax);
            FreePcppagesBulk(zone, toDrain, 0);
        }
    }
}
