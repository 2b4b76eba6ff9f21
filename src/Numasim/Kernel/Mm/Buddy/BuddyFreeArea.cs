using System.Numerics;
using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>The buddy allocator state of ONE zone under zone->lock: free_area[MAX_ORDER] (see FreeLists), the
/// pageblock migratetypes, NR_FREE_PAGES / NR_FREE_CMA_PAGES and nr_isolate_pageblock, with the algorithms of
/// mm/page_alloc.c v6.1 that work on them. Deterministic: the same calls give the same pfns.</summary>
internal sealed class BuddyFreeArea
{
    private const int MaxOrder = BuddyConstants.MaxOrder;
    private const int PbOrder = BuddyConstants.PageblockOrder;
    private const long PbPages = BuddyConstants.PageblockNrPages;

    /// <summary>Models the fallbacks[] table, mm/page_alloc.c (v6.1).</summary>
    private static readonly MigrateType[][] Fallbacks =
    [
        [MigrateType.Reclaimable, MigrateType.Movable],     // Unmovable
        [MigrateType.Reclaimable, MigrateType.Unmovable],   // Movable
        [MigrateType.Unmovable, MigrateType.Movable],       // Reclaimable
        [], [], [],
    ];

    public readonly FreeLists Lists;
    public readonly PageblockMap Pageblocks;
    public readonly AllocatedPages Allocated;

    private struct AreaCounts
    {
        public long ZoneStartPfn, SpannedPages, NrFreePages, NrFreeCmaPages, NrIsolatePageblock, NrReservedHighatomic;
    }

    private readonly StateArray<AreaCounts> _c;

    /// <summary>An empty free area in the given store (observeZone: the zone id the fingerprint sees, or -1).</summary>
    public BuddyFreeArea(long zoneStartPfn, long spannedPages, StateStore store, string owner, int observeZone = -1)
    {
        _c = new StateArray<AreaCounts>(store, owner + " counters", 1);
        Lists = new FreeLists(store, owner);
        Pageblocks = new PageblockMap(store, owner);
        Allocated = new AllocatedPages(Pageblocks, store, owner, observeZone);
        ZoneStartPfn = zoneStartPfn;
        SpannedPages = spannedPages;
    }

    /// <summary>Back to an empty area spanning the range (see ZonePageAllocator.Reset).</summary>
    public void Reset(long zoneStartPfn, long spannedPages)
    {
        _c.Mut(0) = new AreaCounts { ZoneStartPfn = zoneStartPfn, SpannedPages = spannedPages };
        Lists.Reset();
        Pageblocks.Reset();
        Allocated.Reset();
    }

    public long ZoneStartPfn { get => _c[0].ZoneStartPfn; set => _c.Mut(0).ZoneStartPfn = value; }
    public long SpannedPages { get => _c[0].SpannedPages; set => _c.Mut(0).SpannedPages = value; }
    public long ZoneEndPfn => ZoneStartPfn + SpannedPages;

    /// <summary>zone_page_state(zone, NR_FREE_PAGES).</summary>
    public long NrFreePages => _c[0].NrFreePages;
    /// <summary>zone_page_state(zone, NR_FREE_CMA_PAGES).</summary>
    public long NrFreeCmaPages => _c[0].NrFreeCmaPages;
    /// <summary>zone->nr_isolate_pageblock.</summary>
    public long NrIsolatePageblock { get => _c[0].NrIsolatePageblock; set => _c.Mut(0).NrIsolatePageblock = value; }
    /// <summary>zone->nr_reserved_highatomic.</summary>
    public long NrReservedHighatomic { get => _c[0].NrReservedHighatomic; set => _c.Mut(0).NrReservedHighatomic = value; }

    /// <summary>Models zone_spans_pfn(), include/linux/mmzone.h.</summary>
    public bool ZoneSpansPfn(long pfn) => pfn >= ZoneStartPfn && pfn < ZoneEndPfn;

    /// <summary>Models __mod_zone_freepage_state(), include/linux/vmstat.h.</summary>
    public void ModFreepageState(long nrPages, MigrateType mt)
    {
        ref var c = ref _c.Mut(0);
        c.NrFreePages += nrPages;
        if (mt == MigrateType.Cma) c.NrFreeCmaPages += nrPages;
    }

    /// <summary>Models __mod_zone_page_state() for NR_FREE_PAGES and NR_FREE_CMA_PAGES, include/linux/vmstat.h.</summary>
    public void ModZonePageState(long freeDelta, long cmaDelta)
    {
        ref var c = ref _c.Mut(0);
        c.NrFreePages += freeDelta;
        c.NrFreeCmaPages += cmaDelta;
    }

    /// <summary>Models get_pageblock_migratetype(), include/linux/pageblock-flags.h.</summary>
    public MigrateType PageblockMigratetype(long pfn) => Pageblocks.GetMigratetype(pfn);

    /// <summary>Models set_pageblock_migratetype(), mm/page_alloc.c (page_group_by_mobility_disabled = 0).</summary>
    public void SetPageblockMigratetype(long pfn, MigrateType mt) => Pageblocks.SetMigratetype(pfn, mt);

    /// <summary>Models find_buddy_page_pfn(), mm/internal.h: the free buddy of (pfn, order), if any.</summary>
    private bool FindBuddy(long pfn, int order, out long buddyPfn)
    {
        buddyPfn = pfn ^ (1L << order);
        return ZoneSpansPfn(buddyPfn) && Lists.IsFreeHead(buddyPfn, order, out _);
    }

    /// <summary>Models buddy_merge_likely(), mm/page_alloc.c.</summary>
    private bool BuddyMergeLikely(long pfn, long buddyPfn, int order)
    {
        if (order >= MaxOrder - 2) return false;
        long higher = buddyPfn & pfn;
        return FindBuddy(higher, order + 1, out _);
    }

    /// <summary>Models __free_one_page(), mm/page_alloc.c.</summary>
    public void FreeOnePage(long pfn, int order, MigrateType mt, bool toTail)
    {
        if (mt != MigrateType.Isolate) ModFreepageState(1L << order, mt);
        if ((pfn & ((1L << order) - 1)) != 0) throw new InvalidOperationException("BUG: unaligned free");
        long buddyPfn = 0;
        while (order < MaxOrder - 1)
        {
            if (!FindBuddy(pfn, order, out buddyPfn)) break;
            if (order >= PbOrder)
            {
                var buddyMt = PageblockMigratetype(buddyPfn);
                if (mt != buddyMt && (!mt.IsMergeable() || !buddyMt.IsMergeable())) break;
            }
            Lists.Remove(buddyPfn, order);
            pfn &= buddyPfn;
            order++;
        }
        bool tail = toTail || BuddyMergeLikely(pfn, buddyPfn, order);
        if (tail) Lists.AddTail(pfn, order, mt); else Lists.AddHead(pfn, order, mt);
    }

    /// <summary>Models free_one_page(), mm/page_alloc.c: the pageblock decides when isolation is around.</summary>
    public void FreeOnePageLocked(long pfn, int order, MigrateType mt, bool toTail = false)
    {
        if (NrIsolatePageblock > 0 || mt == MigrateType.Isolate) mt = PageblockMigratetype(pfn);
        FreeOnePage(pfn, order, mt, toTail);
    }

    /// <summary>Models __free_pages_core() (→ __free_pages_ok with FPI_TO_TAIL), mm/page_alloc.c.</summary>
    public void FreePagesCore(long pfn, int order) => FreeOnePageLocked(pfn, order, PageblockMigratetype(pfn), toTail: true);

    /// <summary>Models __free_pages_memory() (memblock_free_all) and online_pages_range()
    /// (mm/memblock.c, mm/memory_hotplug.c): largest naturally aligned orders, each via __free_pages_core().
    /// Stretches of max-order blocks in pageblocks of one migratetype are added as one run, which is what the
    /// per-block loop produces (no merging above MAX_ORDER-1, each block at the list tail).</summary>
    public void FreeRange(long startPfn, long endPfn)
    {
        var overrides = new List<long>();
        if (Pageblocks.ChunkCount > 0)
            foreach (int e in Pageblocks.InRange(startPfn, endPfn))
                if (Pageblocks.Override(e) != PageblockMap.NoOverride) overrides.Add(Pageblocks.PageblockPfn(e));
        int oi = 0;
        long pfn = startPfn;
        while (pfn < endPfn)
        {
            int order = pfn == 0 ? MaxOrder - 1 : Math.Min(MaxOrder - 1, BitOperations.TrailingZeroCount(pfn));
            while (pfn + (1L << order) > endPfn) order--;
            if (order == MaxOrder - 1 && NrIsolatePageblock == 0)
            {
                while (oi < overrides.Count && overrides[oi] + PbPages <= pfn) oi++;
                long limit = oi < overrides.Count ? overrides[oi] & ~(BuddyConstants.MaxOrderNrPages - 1) : endPfn;
                long count = (Math.Min(limit, endPfn) - pfn) >> (MaxOrder - 1);
                if (count > 1)
                {
                    var mt = Pageblocks.DefaultType;
                    ModFreepageState(count << (MaxOrder - 1), mt);
                    Lists.AddTailRun(pfn, count, MaxOrder - 1, mt);
                    pfn += count << (MaxOrder - 1);
                    continue;
                }
            }
            FreePagesCore(pfn, order);
            pfn += 1L << order;
        }
    }

    /// <summary>Models expand(), mm/page_alloc.c.</summary>
    private void Expand(long pfn, int low, int high, MigrateType mt)
    {
        long size = 1L << high;
        while (high > low)
        {
            high--;
            size >>= 1;
            Lists.AddHead(pfn + size, high, mt);
        }
    }

    /// <summary>Models __rmqueue_smallest(), mm/page_alloc.c: head pfn or -1.</summary>
    public long RmqueueSmallest(int order, MigrateType mt)
    {
        long pfn = TakeSmallest(order, mt, out int o);
        if (pfn >= 0) Expand(pfn, order, o, mt);
        return pfn;
    }

    /// <summary>__rmqueue_smallest()'s search: the head block of mt's first non-empty list of order ≥ order, taken off
    /// it (its order in <paramref name="found"/>), or -1.</summary>
    private long TakeSmallest(int order, MigrateType mt, out int found)
    {
        for (found = order; found < MaxOrder; found++)
        {
            long pfn = Lists.RemoveHead(found, mt);
            if (pfn >= 0) return pfn;
        }
        return -1;
    }

    /// <summary>What up to <paramref name="want"/> consecutive __rmqueue() calls of rmqueue_bulk() take while
    /// __rmqueue_smallest() serves them from mt's lists (mm/page_alloc.c): the first call splits the smallest block
    /// of order o ≥ order, and expand() leaves one block on each list between order and o (those lists were empty),
    /// so the next calls take the split's following blocks in address order until it is used up. Returns the head
    /// pfn; the blocks taken are head + j·2^order for j &lt; got, and the split's rest is on the lists as the calls
    /// would leave it (its aligned blocks, each alone on its list). -1 when __rmqueue() would not reach
    /// __rmqueue_smallest(mt) first (the CMA balance) or mt's lists are empty: the caller takes that path.</summary>
    public long RmqueueSmallestRun(int order, MigrateType mt, AllocFlags flags, int want, out int got)
    {
        got = 0;
        if (CmaFirst(flags)) return -1;
        long head = TakeSmallest(order, mt, out int o);
        if (head < 0) return -1;
        got = (int)Math.Min(want, 1L << (o - order));
        long end = head + (1L << o);
        for (long pfn = head + ((long)got << order); pfn < end;)
        {
            int fo = BitOperations.TrailingZeroCount(pfn - head);
            Lists.AddHead(pfn, fo, mt);
            pfn += 1L << fo;
        }
        return head;
    }

    /// <summary>Models can_steal_fallback(), mm/page_alloc.c.</summary>
    public static bool CanStealFallback(int order, MigrateType startMt) =>
        order >= PbOrder || order >= PbOrder / 2 || startMt == MigrateType.Reclaimable || startMt == MigrateType.Unmovable;

    /// <summary>Models find_suitable_fallback(), mm/page_alloc.c: fallback migratetype or -1.</summary>
    public int FindSuitableFallback(int order, MigrateType mt, bool onlyStealable, out bool canSteal)
    {
        canSteal = false;
        if (Lists.NrFree(order) == 0) return -1;
        foreach (var fb in Fallbacks[(int)mt])
        {
            if (Lists.IsEmpty(order, fb)) continue;
            if (CanStealFallback(order, mt)) canSteal = true;
            if (!onlyStealable || canSteal) return (int)fb;
        }
        return -1;
    }

    /// <summary>Models move_freepages(), mm/page_alloc.c: moves free blocks heading in [start, end] (inclusive)
    /// to the tail of mt's lists; counts allocated pages that are movable (PageLRU/__PageMovable).</summary>
    public long MoveFreepages(long startPfn, long endPfnInclusive, MigrateType mt, out long numMovable)
    {
        numMovable = 0;
        long moved = 0;
        for (long pfn = startPfn; pfn <= endPfnInclusive;)
        {
            if (Lists.TryGetFreeHead(pfn, out int order, out _))
            {
                Lists.MoveTail(pfn, order, mt);
                pfn += 1L << order;
                moved += 1L << order;
                continue;
            }
            int aorder = Allocated.OrderAt(pfn, out var amt);
            if (aorder >= 0)
            {
                long n = Math.Min(1L << aorder, endPfnInclusive + 1 - pfn);
                if (amt is MigrateType.Movable or MigrateType.Cma) numMovable += n;
                pfn += n;
                continue;
            }
            // Tail pages of a free block are neither buddy heads nor allocated: the kernel steps over them one by
            // one to no effect, the model jumps to the block's end.
            if (Lists.TryFindContaining(pfn, out long head, out int forder, out _) && head < pfn) pfn = head + (1L << forder);
            else pfn++;
        }
        return moved;
    }

    /// <summary>Models move_freepages_block(), mm/page_alloc.c.</summary>
    public long MoveFreepagesBlock(long pfn, MigrateType mt, out long numMovable)
    {
        numMovable = 0;
        long start = pfn & ~(PbPages - 1);
        long end = start + PbPages - 1;
        if (!ZoneSpansPfn(start)) start = pfn;
        if (!ZoneSpansPfn(end)) return 0;
        return MoveFreepages(start, end, mt, out numMovable);
    }

    /// <summary>Models change_pageblock_range(), mm/page_alloc.c.</summary>
    private void ChangePageblockRange(long pfn, int startOrder, MigrateType mt)
    {
        long n = 1L << (startOrder - PbOrder);
        for (long i = 0; i < n; i++) SetPageblockMigratetype(pfn + i * PbPages, mt);
    }

    /// <summary>Models steal_suitable_fallback(), mm/page_alloc.c (watermark boosting left out).</summary>
    private void StealSuitableFallback(long pfn, int currentOrder, MigrateType startType, bool wholeBlock)
    {
        var oldBlockType = PageblockMigratetype(pfn);
        if (oldBlockType != MigrateType.HighAtomic)
        {
            if (currentOrder >= PbOrder)
            {
                ChangePageblockRange(pfn, currentOrder, startType);
            }
            else if (wholeBlock)
            {
                long freePages = MoveFreepagesBlock(pfn, startType, out long movablePages);
                long alike = startType == MigrateType.Movable ? movablePages
                    : oldBlockType == MigrateType.Movable ? PbPages - (freePages + movablePages) : 0;
                if (freePages != 0)
                {
                    if (freePages + alike >= (1L << (PbOrder - 1))) SetPageblockMigratetype(pfn, startType);
                    return;
                }
            }
        }
        Lists.MoveTail(pfn, currentOrder, startType);
    }

    /// <summary>Models __rmqueue_fallback(), mm/page_alloc.c.</summary>
    public bool RmqueueFallback(int order, MigrateType startMt, AllocFlags flags)
    {
        int minOrder = order;
        if (order < PbOrder && (flags & AllocFlags.NoFragment) != 0) minOrder = PbOrder;
        int current;
        int fallbackMt = -1;
        bool canSteal = false;
        for (current = MaxOrder - 1; current >= minOrder; current--)
        {
            fallbackMt = FindSuitableFallback(current, startMt, false, out canSteal);
            if (fallbackMt == -1) continue;
            if (!canSteal && startMt == MigrateType.Movable && current > order)
            {
                for (current = order; current < MaxOrder; current++)
                {
                    fallbackMt = FindSuitableFallback(current, startMt, false, out canSteal);
                    if (fallbackMt != -1) break;
                }
                if (current == MaxOrder) throw new InvalidOperationException("BUG: fallback vanished");
            }
            long pfn = Lists.PeekHead(current, (MigrateType)fallbackMt);
            StealSuitableFallback(pfn, current, startMt, canSteal);
            return true;
        }
        return false;
    }

    /// <summary>__rmqueue()'s CMA balance (mm/page_alloc.c): an allocation that may use CMA takes it first while more
    /// than half of the zone's free pages are CMA.</summary>
    private bool CmaFirst(AllocFlags flags) => (flags & AllocFlags.Cma) != 0 && NrFreeCmaPages > NrFreePages / 2;

    /// <summary>Models __rmqueue(), mm/page_alloc.c: head pfn or -1; takenAs is the list type it came from
    /// (set_pcppage_migratetype()).</summary>
    public long Rmqueue(int order, MigrateType mt, AllocFlags flags, out MigrateType takenAs)
    {
        takenAs = mt;
        if (CmaFirst(flags))
        {
            long p = RmqueueSmallest(order, MigrateType.Cma);
            if (p >= 0) { takenAs = MigrateType.Cma; return p; }
        }
        while (true)
        {
            long pfn = RmqueueSmallest(order, mt);
            if (pfn >= 0) return pfn;
            if ((flags & AllocFlags.Cma) != 0)
            {
                pfn = RmqueueSmallest(order, MigrateType.Cma);
                if (pfn >= 0) { takenAs = MigrateType.Cma; return pfn; }
            }
            if (!RmqueueFallback(order, mt, flags)) return -1;
        }
    }

    /// <summary>Models rmqueue_buddy() under zone->lock, mm/page_alloc.c (v6.1.y): head pfn or -1.</summary>
    public long RmqueueBuddy(int order, MigrateType mt, AllocFlags flags, out MigrateType takenAs)
    {
        long pfn = -1;
        takenAs = MigrateType.HighAtomic;
        if ((flags & AllocFlags.HighAtomic) != 0) pfn = RmqueueSmallest(order, MigrateType.HighAtomic);
        if (pfn < 0)
        {
            pfn = Rmqueue(order, mt, flags, out takenAs);
            if (pfn < 0 && (flags & (AllocFlags.Oom | AllocFlags.NonBlock)) != 0)
            {
                pfn = RmqueueSmallest(order, MigrateType.HighAtomic);
                takenAs = MigrateType.HighAtomic;
            }
            if (pfn < 0) return -1;
        }
        ModFreepageState(-(1L << order), takenAs);
        return pfn;
    }

    /// <summary>Models split_free_page(), mm/page_alloc.c: re-frees a free block as two parts split at
    /// splitOffset, each part freed under its own pageblock's migratetype.</summary>
    public void SplitFreePage(long headPfn, int order, long splitOffset)
    {
        if (splitOffset == 0) return;
        var mt = PageblockMigratetype(headPfn);
        if (mt != MigrateType.Isolate) ModFreepageState(-(1L << order), mt);
        Lists.Remove(headPfn, order);
        for (long pfn = headPfn; pfn < headPfn + (1L << order);)
        {
            var pmt = PageblockMigratetype(pfn);
            int fo = Math.Min(pfn != 0 ? BitOperations.TrailingZeroCount(pfn) : order,
                              63 - BitOperations.LeadingZeroCount((ulong)splitOffset));
            FreeOnePage(pfn, fo, pmt, toTail: false);
            pfn += 1L << fo;
            splitOffset -= 1L << fo;
            if (splitOffset == 0) splitOffset = (1L << order) - (pfn - headPfn);
        }
    }

    /// <summary>Models __offline_isolated_pages(), mm/page_alloc.c: takes every free block of the isolated
    /// range out of the buddy; returns the number of pages taken. A page that is not free is a bug.</summary>
    public long OfflineIsolatedPages(long startPfn, long endPfn)
    {
        long taken = 0;
        for (long pfn = startPfn; pfn < endPfn;)
        {
            if (!Lists.TryGetFreeHead(pfn, out int order, out var mt))
                throw new InvalidOperationException($"BUG: pfn {pfn:x} of an isolated range is not free");
            if (pfn + (1L << order) > endPfn) throw new InvalidOperationException("BUG: free block crosses the range");
            Lists.Remove(pfn, order);
            if (mt != MigrateType.Isolate) ModFreepageState(-(1L << order), mt);
            pfn += 1L << order;
            taken += 1L << order;
        }
        return taken;
    }
}
