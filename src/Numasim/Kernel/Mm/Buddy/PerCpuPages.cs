using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>Models struct per_cpu_pages (include/linux/mmzone.h, v6.1 with CONFIG_TRANSPARENT_HUGEPAGE): one CPU's
/// lists of free pages for one zone, NR_PCP_LISTS = MIGRATE_PCPTYPES * (PAGE_ALLOC_COSTLY_ORDER + 1) + 2 (the two
/// pageblock_order lists for THP). Pages here are free but neither in the buddy nor in NR_FREE_PAGES.
/// Each list is a ring-buffer deque of (pfn &lt;&lt; 3 | page->index migratetype), head = list_first_entry; all lists
/// of the CPU share one flat buffer, each in its own power-of-two segment.</summary>
public sealed class PerCpuPages
{
    /// <summary>NR_LOWORDER_PCP_LISTS.</summary>
    public const int NrLowOrderPcpLists = MigrateTypes.PcpTypes * (BuddyConstants.PageAllocCostlyOrder + 1);
    /// <summary>NR_PCP_LISTS.</summary>
    public const int NrPcpLists = NrLowOrderPcpLists + 2;

    private readonly PcpSet _set;
    private readonly int _index;

    internal PerCpuPages(PcpSet set, int index)
    {
        _set = set;
        _index = index;
    }

    private ref readonly PcpRecord R => ref _set.Records[_index];
    private ref PcpRecord M => ref _set.Records.Mut(_index);

    /// <summary>pcp->count: pages (not entries) on all lists.</summary>
    public int Count { get => R.Count; internal set => M.Count = value; }

    /// <summary>pcp->free_factor.</summary>
    public int FreeFactor { get => R.FreeFactor; internal set => M.FreeFactor = value; }

    /// <summary>Entries the CPU's buffer holds (for memory figures).</summary>
    internal int BufferCapacity => R.BufLength;

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
    public int ListLength(int pindex) => R.Lists[pindex].Len;

    /// <summary>Pfns on one list, head first.</summary>
    public IEnumerable<long> ListPfns(int pindex)
    {
        var l = R.Lists[pindex];
        int start = R.BufStart;
        var pfns = new long[l.Len];
        for (int i = 0; i < l.Len; i++) pfns[i] = _set.Buffer[start + l.Base + ((l.Head + i) & l.Mask)] >> 3;
        return pfns;
    }

    /// <summary>The list of pindex, for writing; pindex comes from OrderToPindex of a checked request.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref PcpList List(int pindex) => ref M.Lists[pindex];

    /// <summary>Entry i of the CPU's buffer segment; i is always Base + (x &amp; Mask) of a list.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref long Slot(int i) => ref _set.Buffer.Mut(R.BufStart + i);

    /// <summary>Doubles the segment of one full list: lays every list of the CPU out again, each linearised from
    /// its head.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Grow(int pindex)
    {
        ref var r = ref M;
        int total = 0;
        for (int i = 0; i < NrPcpLists; i++) total += (r.Lists[i].Mask + 1) << (i == pindex ? 1 : 0);
        var rented = System.Buffers.ArrayPool<long>.Shared.Rent(total);
        var nb = rented.AsSpan(0, total);
        var old = _set.Buffer.Items;
        int b = 0;
        for (int i = 0; i < NrPcpLists; i++)
        {
            ref var l = ref r.Lists[i];
            int seg = r.BufStart + l.Base;
            for (int k = 0; k < l.Len; k++) nb[b + k] = old[seg + ((l.Head + k) & l.Mask)];
            int cap = (l.Mask + 1) << (i == pindex ? 1 : 0);
            // a rented array holds whatever its last user left: the free slots must not carry it into the state (the
            // exact fingerprint hashes them, and they would differ with the process's history, e.g. with --jobs)
            nb[(b + l.Len)..(b + cap)].Clear();
            l.Base = b;
            l.Mask = cap - 1;
            l.Head = 0;
            b += cap;
        }
        _set.ReplaceSegment(_index, nb);
        System.Buffers.ArrayPool<long>.Shared.Return(rented);
    }

    /// <summary>list_add: push at the head.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void PushFront(int pindex, long entry)
    {
        if (List(pindex).Len > List(pindex).Mask) Grow(pindex);
        ref var l = ref List(pindex);
        int h = (l.Head - 1) & l.Mask;
        l.Head = h;
        Slot(l.Base + h) = entry;
        l.Len++;
    }

    /// <summary>list_add_tail.</summary>
    private void PushBack(int pindex, long entry)
    {
        // (Grow rewrites the record in place: the records region is not resized, so the references stay valid.)
        ref var r = ref M;
        ref var l = ref r.Lists[pindex];
        if (l.Len > l.Mask) Grow(pindex);
        _set.Buffer.Mut(r.BufStart + l.Base + ((l.Head + l.Len) & l.Mask)) = entry;
        l.Len++;
    }

    /// <summary>list_first_entry + list_del.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long PopFront(ref PcpList l)
    {
        long e = Slot(l.Base + l.Head);
        l.Head = (l.Head + 1) & l.Mask;
        l.Len--;
        return e;
    }

    /// <summary>list_last_entry + list_del.</summary>
    private long PopBack(ref PcpList l)
    {
        l.Len--;
        return Slot(l.Base + ((l.Head + l.Len) & l.Mask));
    }

    /// <summary>The order-0 fast path of rmqueue_pcplist() when mt's list is not empty: free_factor decay, the head
    /// entry (pfn &lt;&lt; 3 | page->index) and pcp->count. Returns -1 without touching anything when the list is
    /// empty (the caller then takes the full path, which refills a batch).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal long TryRmqueueOrder0(MigrateType mt)
    {
        ref var l = ref List((int)mt);
        if (l.Len == 0) return -1;
        if (FreeFactor != 0) FreeFactor >>= 1;
        Count--;
        return PopFront(ref l);
    }

    /// <summary>The order-0 fast path of free_unref_page_commit() for a pcp migratetype: list_add and pcp->count;
    /// false when the list must grow or pcp->count reaches high (the caller then takes the full path, which also
    /// runs free_pcppages_bulk()); nothing is changed then.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool TryFreeOrder0(long pfn, MigrateType mt, int high)
    {
        ref var l = ref List((int)mt);
        int c = Count + 1;
        if (l.Len > l.Mask || c >= high) return false; // high == 0: nr_pcp_high() is 0, always drained
        int h = (l.Head - 1) & l.Mask;
        l.Head = h;
        Slot(l.Base + h) = (pfn << 3) | (long)mt;
        l.Len++;
        Count = c;
        return true;
    }

    /// <summary>Models rmqueue_bulk(), mm/page_alloc.c: moves up to count blocks from the buddy to the list tail.
    /// The kernel's loop calls __rmqueue() once a block; while the smallest block of mt's lists serves, the calls
    /// take consecutive blocks of one split, which <see cref="BuddyFreeArea.RmqueueSmallestRun"/> gives at once.</summary>
    internal int RmqueueBulk(BuddyFreeArea zone, int order, int count, int pindex, MigrateType mt, AllocFlags flags)
    {
        int i = 0;
        while (i < count)
        {
            long head = zone.RmqueueSmallestRun(order, mt, flags, count - i, out int got);
            if (head >= 0)
            {
                for (int j = 0; j < got; j++) PushBack(pindex, ((head + ((long)j << order)) << 3) | (long)mt);
                i += got;
                continue;
            }
            long pfn = zone.Rmqueue(order, mt, flags, out var takenAs);
            if (pfn < 0) break;
            PushBack(pindex, (pfn << 3) | (long)takenAs);
            if (takenAs == MigrateType.Cma) zone.ModZonePageState(0, -(1L << order));
            i++;
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
        if (List(pindex).Len == 0)
        {
            if (batch > 1) batch = Math.Max(batch >> order, 2);
            int alloced = RmqueueBulk(zone, order, batch, pindex, mt, flags);
            Count += alloced << order;
            if (List(pindex).Len == 0) { takenAs = mt; return -1; }
        }
        long e = PopFront(ref List(pindex));
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
        PushFront(pindex, (pfn << 3) | (long)pageMt);
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
                if (R.Lists[pindex].Len != 0) break;
                if (pindex == maxP) maxP--;
                if (pindex == minP) minP++;
            }
            ref var list = ref List(pindex);
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

/// <summary>One list of a CPU's pcp: a ring-buffer deque in [Base, Base + Mask + 1) of the CPU's buffer segment.</summary>
internal struct PcpList
{
    public int Base;
    public int Mask;
    public int Head;
    public int Len;
}

[InlineArray(PerCpuPages.NrPcpLists)]
internal struct PcpLists
{
    private PcpList _e;
}

/// <summary>One CPU's struct per_cpu_pages as a record of the compact state; its entries are the segment
/// [BufStart, BufStart + BufLength) of the zone's pcp buffer.</summary>
internal struct PcpRecord
{
    public int Cpu;
    public int Count;
    public int FreeFactor;
    public int BufStart;
    public int BufLength;
    public PcpLists Lists;
}

/// <summary>The per-CPU pagesets of one zone (zone->per_cpu_pageset) in the compact state: a record per CPU that has
/// used the zone, in the order they first did, and one buffer of list entries.</summary>
internal sealed class PcpSet
{
    private const int InitialListCapacity = 8;
    private readonly List<PerCpuPages> _handles = [];
    private int _lastCpu = -1, _lastIndex = -1;

    public PcpSet(StateStore store, string owner)
    {
        Records = new StateArray<PcpRecord>(store, owner + " pcp");
        Buffer = new StateArray<long>(store, owner + " pcp lists");
        store.OnRestore(() => _lastCpu = _lastIndex = -1);
    }

    public StateArray<PcpRecord> Records { get; }
    public StateArray<long> Buffer { get; }

    /// <summary>No pcp at all (a newly made zone).</summary>
    public void Reset()
    {
        Records.Clear();
        Buffer.Clear();
        _lastCpu = _lastIndex = -1;
    }

    /// <summary>The pcp of cpu, or null when the CPU never used the zone.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PerCpuPages? Find(int cpu)
    {
        if (cpu == _lastCpu) return _handles[_lastIndex];
        return FindSlow(cpu);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private PerCpuPages? FindSlow(int cpu)
    {
        var r = Records.Items;
        for (int i = 0; i < r.Length; i++)
            if (r[i].Cpu == cpu)
            {
                _lastCpu = cpu;
                _lastIndex = i;
                return Handle(i);
            }
        return null;
    }

    private PerCpuPages Handle(int i)
    {
        while (_handles.Count <= i) _handles.Add(new PerCpuPages(this, _handles.Count));
        return _handles[i];
    }

    /// <summary>The pcp of cpu, made on first use.</summary>
    public PerCpuPages GetOrCreate(int cpu)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(cpu);
        if (Find(cpu) is { } p) return p;
        var rec = new PcpRecord { Cpu = cpu, BufStart = Buffer.Length, BufLength = PerCpuPages.NrPcpLists * InitialListCapacity };
        for (int i = 0; i < PerCpuPages.NrPcpLists; i++) rec.Lists[i] = new PcpList { Base = i * InitialListCapacity, Mask = InitialListCapacity - 1 };
        Buffer.Resize(Buffer.Length + rec.BufLength);
        int index = Records.Add(rec);
        _lastCpu = cpu;
        _lastIndex = index;
        return Handle(index);
    }

    /// <summary>Every pcp, ascending CPU.</summary>
    public IEnumerable<(int Cpu, PerCpuPages Pcp)> All()
    {
        var order = new List<(int Cpu, int Index)>();
        for (int i = 0; i < Records.Length; i++) order.Add((Records[i].Cpu, i));
        order.Sort();
        foreach (var (cpu, i) in order) yield return (cpu, Handle(i));
    }

    /// <summary>Gives pcp i a new segment (the entries laid out anew by Grow), moving the segments after it.</summary>
    public void ReplaceSegment(int index, ReadOnlySpan<long> entries)
    {
        ref var r = ref Records.Mut(index);
        int start = r.BufStart, oldLen = r.BufLength, delta = entries.Length - oldLen;
        int total = Buffer.Length;
        Buffer.Resize(total + delta);
        var buf = Buffer.MutItems;
        // The segments after this one move by delta (an overlapping copy), then the new segment goes in.
        buf[(start + oldLen)..total].CopyTo(buf[(start + entries.Length)..]);
        entries.CopyTo(buf[start..]);
        r.BufLength = entries.Length;
        var recs = Records.MutItems;
        for (int i = 0; i < recs.Length; i++)
            if (i != index && recs[i].BufStart > start) recs[i].BufStart += delta;
    }
}
