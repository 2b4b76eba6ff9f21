using System.Runtime.CompilerServices;
using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>The page allocator of ONE zone (the struct zone parts of mm/page_alloc.c v6.1 below the zonelist walk):
/// buddy free areas, pageblock migratetypes, per-CPU page lists and the record of allocated pages. Watermark checks
/// are the caller's (get_page_from_freelist()); see ZoneWatermarkOk and Watermarks. Expected failures are return
/// values; exceptions mean a bug (double free, freeing a pfn that was never handed out, ...).</summary>
public sealed class ZonePageAllocator
{
    private readonly BuddyFreeArea _area;
    private readonly AllocatedPages _allocated; // _area.Allocated, one load less on the hot paths
    // Per-CPU pagesets: a record per CPU that used the zone (memory follows those CPUs, not the highest CPU id).
    private readonly PcpSet _pcps;

    private struct Settings
    {
        public long ManagedPages;
        public int Batch;  // BOOT_PAGESET_BATCH
        public int High;   // BOOT_PAGESET_HIGH
    }

    private readonly StateArray<Settings> _settings;

    /// <summary>Every pcp created so far, ascending CPU.</summary>
    private IEnumerable<(int Cpu, PerCpuPages Pcp)> AllPcps() => _pcps.All();

    /// <summary>The pcp of cpu if it exists.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PerCpuPages? PcpOrNull(int cpu) => _pcps.Find(cpu);

    private int _batch => _settings[0].Batch;
    private int _high => _settings[0].High;

    /// <summary>A zone spanning [zoneStartPfn, zoneStartPfn + spannedPages) with nothing free yet, on its own (its
    /// state in a store of its own).</summary>
    public ZonePageAllocator(long zoneStartPfn, long spannedPages) : this(zoneStartPfn, spannedPages, new StateStore(), "zone", -1) { }

    /// <summary>The allocator of a machine's zone: its state lives in the machine's store; observeZone is the zone id
    /// whose allocated pages the fingerprint sees.</summary>
    internal ZonePageAllocator(long zoneStartPfn, long spannedPages, StateStore store, string owner, int observeZone)
    {
        if (zoneStartPfn < 0 || spannedPages < 0) throw new ArgumentOutOfRangeException(nameof(spannedPages));
        _settings = new StateArray<Settings>(store, owner + " pcp settings", 1);
        _settings.Mut(0) = new Settings { Batch = 1 };
        _area = new BuddyFreeArea(zoneStartPfn, spannedPages, store, owner, observeZone);
        _allocated = _area.Allocated;
        _pcps = new PcpSet(store, owner);
    }

    /// <summary>Back to an empty zone spanning the range, as a newly made allocator would be (nothing managed or
    /// allocated; free lists, pageblock migratetypes and pcps forgotten).</summary>
    internal void Reset(long zoneStartPfn, long spannedPages)
    {
        _settings.Mut(0) = new Settings { Batch = 1 };
        _area.Reset(zoneStartPfn, spannedPages);
        _pcps.Reset();
    }

    internal BuddyFreeArea Area => _area;

    public long ZoneStartPfn => _area.ZoneStartPfn;
    public long SpannedPages => _area.SpannedPages;
    public long ZoneEndPfn => _area.ZoneEndPfn;

    /// <summary>Models resize_zone_range() as memory hotplug grows/shrinks the span (mm/memory_hotplug.c).</summary>
    public void Resize(long zoneStartPfn, long spannedPages)
    {
        _area.ZoneStartPfn = zoneStartPfn;
        _area.SpannedPages = spannedPages;
    }

    /// <summary>zone->managed_pages as far as this allocator knows: pages onlined minus pages offlined.</summary>
    public long ManagedPages { get => _settings[0].ManagedPages; private set => _settings.Mut(0).ManagedPages = value; }

    /// <summary>NR_FREE_PAGES (buddy pages outside isolated pageblocks; pcp pages are not counted).</summary>
    public long FreePages => _area.NrFreePages;

    /// <summary>NR_FREE_CMA_PAGES.</summary>
    public long FreeCmaPages => _area.NrFreeCmaPages;

    /// <summary>Pages sitting on all CPUs' pcp lists of this zone.</summary>
    public long PcpPages
    {
        get { long n = 0; foreach (ref readonly var r in _pcps.Records.Items) n += r.Count; return n; }
    }

    /// <summary>Pages currently handed out.</summary>
    public long AllocatedPages => _area.Allocated.Pages;

    /// <summary>Blocks currently handed out.</summary>
    public long AllocatedBlocks => _area.Allocated.Count;

    /// <summary>zone->nr_isolate_pageblock.</summary>
    public long IsolatedPageblocks => _area.NrIsolatePageblock;

    /// <summary>free_area[order].nr_free: what /proc/buddyinfo prints.</summary>
    public long NrFree(int order) => _area.Lists.NrFree(order);

    /// <summary>Blocks on free_area[order].free_list[mt]: what /proc/pagetypeinfo prints.</summary>
    public long NrFree(int order, MigrateType mt) => _area.Lists.NrFree(order, mt);

    /// <summary>The free lists' pages outside MIGRATE_ISOLATE and the first order whose nr_free disagrees with its lists
    /// (<see cref="FreeLists.ListedPages"/>).</summary>
    internal long ListedPages(out int mismatch, out long blocks) => _area.Lists.ListedPages(out mismatch, out blocks);

    /// <summary>Free blocks of one list in list order (head first).</summary>
    public IEnumerable<long> FreeBlocks(int order, MigrateType mt) => _area.Lists.Blocks(order, mt);

    /// <summary>Models is_free_buddy_page(), mm/page_alloc.c.</summary>
    public bool IsFreeBuddyPage(long pfn) => _area.Lists.TryFindContaining(pfn, out _, out _, out _);

    /// <summary>pcp->batch of every CPU (zone->pageset_batch).</summary>
    public int PcpBatch => _batch;

    /// <summary>pcp->high of every CPU (zone->pageset_high).</summary>
    public int PcpHigh => _high;

    /// <summary>Models pageset_update() for all CPUs (__zone_set_pageset_high_and_batch()), mm/page_alloc.c.</summary>
    public void SetPcpHighAndBatch(int high, int batch)
    {
        ref var st = ref _settings.Mut(0);
        st.High = high;
        st.Batch = batch;
    }

    /// <summary>Models zone_set_pageset_high_and_batch(), mm/page_alloc.c, from this zone's managed pages and its low
    /// watermark; cpusOnNode = cpumask_weight(cpumask_of_node(nid)); cpuOnline = 1 while a CPU comes online.</summary>
    public void UpdatePcpHighAndBatch(long lowWatermark, int cpusOnNode, int cpuOnline, int numOnlineCpus)
    {
        int batch = Watermarks.ZoneBatchsize(ManagedPages);
        int high = Watermarks.ZoneHighsize(lowWatermark, ManagedPages, batch, cpusOnNode, cpuOnline, numOnlineCpus);
        SetPcpHighAndBatch(high, batch);
    }

    /// <summary>The pcp of one CPU (created on first use).</summary>
    public PerCpuPages Pcp(int cpu) => _pcps.GetOrCreate(cpu);

    /// <summary>pcp->count of one CPU without making its pcp (0 when it never used the zone).</summary>
    public int PcpCount(int cpu) => PcpOrNull(cpu)?.Count ?? 0;

    /// <summary>Migratetype of the pageblock holding pfn.</summary>
    public MigrateType PageblockMigratetype(long pfn) => _area.PageblockMigratetype(pfn);

    /// <summary>Models set_pageblock_migratetype() over every pageblock of [startPfn, endPfn) (what memmap_init_range()
    /// does with the migratetype it is given: MIGRATE_MOVABLE at boot, MIGRATE_ISOLATE for hotplugged memory).
    /// Does not move free pages; isolation accounting is the caller's (use Isolate/UndoIsolate for that).</summary>
    public void SetPageblockMigratetype(long startPfn, long endPfn, MigrateType mt)
    {
        for (long pfn = startPfn & ~(BuddyConstants.PageblockNrPages - 1); pfn < endPfn; pfn += BuddyConstants.PageblockNrPages)
            _area.SetPageblockMigratetype(pfn, mt);
    }

    /// <summary>Pages of [startPfn, startPfn + count) arrive in the buddy as memblock_free_all() / online_pages_range()
    /// hand them over (largest aligned orders, __free_pages_core() with FPI_TO_TAIL, merging with free buddies).</summary>
    public void OnlineRange(long startPfn, long count)
    {
        if (count <= 0) return;
        if (startPfn < ZoneStartPfn || startPfn + count > ZoneEndPfn)
            throw new ArgumentOutOfRangeException(nameof(startPfn), "range outside the zone span");
        _area.FreeRange(startPfn, startPfn + count);
        ManagedPages += count;
    }

    /// <summary>Models rmqueue(), mm/page_alloc.c: head pfn of a 2^order block or -1. Orders 0..3 and
    /// pageblock_order go through cpu's pcp lists. Movable requests may use CMA (gfp_to_alloc_flags_cma()).
    /// The order-0 request served from a non-empty pcp list is done here inline (rmqueue_pcplist() without the
    /// refill); everything else goes through the full path.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Allocate(int order, MigrateType mt, int cpu)
    {
        if (order == 0 && (uint)mt < MigrateTypes.PcpTypes)
        {
            long pfn = TryAllocateOrder0FromPcp(mt, cpu);
            if (pfn >= 0) return pfn;
        }
        return AllocateSlow(order, mt, cpu, mt == MigrateType.Movable ? AllocFlags.Cma : AllocFlags.None);
    }

    /// <summary>Models rmqueue(), mm/page_alloc.c, with explicit ALLOC_* flags.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public long Allocate(int order, MigrateType mt, int cpu, AllocFlags flags)
    {
        if (order == 0 && (uint)mt < MigrateTypes.PcpTypes && ((flags & AllocFlags.Cma) != 0 || mt != MigrateType.Movable))
        {
            long pfn = TryAllocateOrder0FromPcp(mt, cpu);
            if (pfn >= 0) return pfn;
        }
        return AllocateSlow(order, mt, cpu, flags);
    }

    /// <summary>rmqueue_pcplist() for order 0 when cpu's list of mt is not empty, and prep_new_page()'s record.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long TryAllocateOrder0FromPcp(MigrateType mt, int cpu)
    {
        if (PcpOrNull(cpu) is { } p)
        {
            long e = p.TryRmqueueOrder0(mt);
            if (e >= 0)
            {
                long pfn = e >> 3;
                _allocated.AddOrder0(pfn, mt);
                return pfn;
            }
        }
        return -1;
    }

    /// <summary>rmqueue() in full: pcp refill, buddy, fallbacks.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private long AllocateSlow(int order, MigrateType mt, int cpu, AllocFlags flags)
    {
        if ((uint)order >= BuddyConstants.MaxOrder || (int)mt >= MigrateTypes.PcpTypes) ThrowBadRequest(order, mt);
        long pfn = -1;
        if (PerCpuPages.PcpAllowedOrder(order) && ((flags & AllocFlags.Cma) != 0 || mt != MigrateType.Movable))
            pfn = Pcp(cpu).RmqueuePcplist(_area, order, mt, flags, _batch, out _);
        if (pfn < 0)
        {
            pfn = _area.RmqueueBuddy(order, mt, flags, out _);
            if (pfn < 0) return -1;
        }
        _area.Allocated.Add(pfn, order, mt);
        return pfn;
    }

    /// <summary>Whether pfn is the head of a block this zone handed out (page_zone() + PageBuddy/refcount tests):
    /// one lookup, no enumeration.</summary>
    public bool IsAllocatedHead(long pfn) => pfn >= ZoneStartPfn && pfn < ZoneEndPfn && _allocated.OrderAt(pfn, out _) >= 0;

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowBadRequest(int order, MigrateType mt) =>
        throw new ArgumentOutOfRangeException(nameof(order), $"order {order} / {mt}: orders 0..MAX_ORDER-1; gfp_migratetype() gives only Unmovable, Movable, Reclaimable");

    /// <summary>Models free_the_page() (free_unref_page() for pcp orders, else __free_pages_ok()), mm/page_alloc.c.
    /// The order comes from the allocation record; a pfn that is not an allocated head is a bug. An order-0 page of
    /// a pcp migratetype whose list has room below pcp->high is put on the list inline.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Free(long pfn, int cpu)
    {
        int order = _allocated.Remove(pfn, out var pbMt);
        if (order == 0 && (uint)pbMt < MigrateTypes.PcpTypes)
        {
            if (PcpOrNull(cpu) is { } p && p.TryFreeOrder0(pfn, pbMt, _high)) return;
        }
        FreeSlow(pfn, order, pbMt, cpu);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void FreeSlow(long pfn, int order, MigrateType pbMt, int cpu)
    {
        if (PerCpuPages.PcpAllowedOrder(order)) FreeUnrefPage(pfn, order, pbMt, cpu);
        else _area.FreeOnePageLocked(pfn, order, pbMt);
    }

    /// <summary>Models free_unref_page(), mm/page_alloc.c.</summary>
    private void FreeUnrefPage(long pfn, int order, MigrateType mt, int cpu)
    {
        var pcpMt = mt;
        if ((int)mt >= MigrateTypes.PcpTypes)
        {
            if (mt == MigrateType.Isolate) { _area.FreeOnePageLocked(pfn, order, mt); return; }
            pcpMt = MigrateType.Movable;
        }
        Pcp(cpu).FreeUnrefPageCommit(_area, pfn, pcpMt, mt, order, _high, _batch);
    }

    /// <summary>Models drain_pages_zone(cpu, zone), mm/page_alloc.c.</summary>
    public void DrainPcp(int cpu)
    {
        if (PcpOrNull(cpu) is { } p) p.DrainPagesZone(_area, _batch);
    }

    /// <summary>Models drain_all_pages(zone), mm/page_alloc.c (every CPU with pages, ascending).</summary>
    public void DrainPcp()
    {
        foreach (var (_, p) in AllPcps().ToList()) p.DrainPagesZone(_area, _batch);
    }

    /// <summary>Models start_isolate_page_range(), mm/page_isolation.c: EBUSY (with the first offending pfn) when a
    /// pageblock is already isolated or, with checkUnmovable (memory offline), holds unmovable pages.</summary>
    public Errno Isolate(long startPfn, long endPfn, out long badPfn, bool checkUnmovable = false, bool zoneIsMovable = false) =>
        PageIsolation.StartIsolatePageRange(_area, startPfn, endPfn, checkUnmovable, zoneIsMovable, out badPfn);

    /// <summary>Models start_isolate_page_range() without the unmovable check.</summary>
    public Errno Isolate(long startPfn, long endPfn) => Isolate(startPfn, endPfn, out _);

    /// <summary>Models undo_isolate_page_range(), mm/page_isolation.c.</summary>
    public void UndoIsolate(long startPfn, long endPfn, MigrateType mt = MigrateType.Movable) =>
        PageIsolation.UndoIsolatePageRange(_area, startPfn, endPfn, mt);

    /// <summary>Models test_pages_isolated(), mm/page_isolation.c.</summary>
    public Errno TestPagesIsolated(long startPfn, long endPfn, out long failedPfn) =>
        PageIsolation.TestPagesIsolated(_area, startPfn, endPfn, out failedPfn);

    /// <summary>Models __offline_isolated_pages(), mm/page_alloc.c: removes the free pages of an isolated range from the
    /// buddy for good; returns how many. Any page of the range not free is a bug (call TestPagesIsolated first).</summary>
    public long OfflineIsolated(long startPfn, long endPfn)
    {
        long n = _area.OfflineIsolatedPages(startPfn, endPfn);
        ManagedPages -= n;
        _area.Allocated.Compact(startPfn, endPfn);
        return n;
    }

    /// <summary>The end of alloc_contig_range(), mm/page_alloc.c: the free pages of an isolated range leave the buddy as
    /// allocated pages (blocks of MAX_ORDER-1; the managed count stays), for free_contig_range() to give back.</summary>
    public void TakeIsolatedAsAllocated(long startPfn, long endPfn)
    {
        _area.OfflineIsolatedPages(startPfn, endPfn);
        const int order = BuddyConstants.MaxOrder - 1;
        for (long pfn = startPfn; pfn < endPfn; pfn += 1L << order) _allocated.Add(pfn, order, MigrateType.Movable);
    }

    /// <summary>An allocated block at <paramref name="pfn"/> becomes allocated blocks of <paramref name="order"/>, its
    /// migratetype kept (hugetlb's demotion: destroy_compound_hugetlb_page_for_demote(), then prep_compound_page() of
    /// each part).</summary>
    public void SplitAllocated(long pfn, int order)
    {
        int old = _allocated.OrderAt(pfn, out var mt);
        if (old < order) throw new InvalidOperationException($"BUG: pfn {pfn:x} is not an allocated block of order {order} or more");
        _allocated.Remove(pfn, out _);
        for (long p = pfn; p < pfn + (1L << old); p += 1L << order) _allocated.Add(p, order, mt);
    }

    /// <summary>Pages the buddy never had (memblock-reserved at memblock_free_all()) become managed, allocated pages
    /// (blocks of MAX_ORDER-1): gather_bootmem_prealloc()'s adjust_managed_page_count() for a boot-time gigantic page.</summary>
    public void AdoptAllocated(long startPfn, long count)
    {
        const int order = BuddyConstants.MaxOrder - 1;
        for (long pfn = startPfn; pfn < startPfn + count; pfn += 1L << order) _allocated.Add(pfn, order, MigrateType.Movable);
        ManagedPages += count;
    }

    /// <summary>Releases per-page tracking of pageblocks that hold no allocation any more (kept otherwise so that
    /// alloc/free churn does not allocate); memory then follows current, not peak, allocations.</summary>
    public void Compact() => _area.Allocated.Compact(ZoneStartPfn, ZoneEndPfn);

    /// <summary>Whether an allocated block's head lies in [startPfn, endPfn).</summary>
    public bool AnyAllocatedInRange(long startPfn, long endPfn) => _area.Allocated.AnyInRange(startPfn, endPfn);

    /// <summary>Allocated blocks whose head pfn lies in [startPfn, endPfn), ascending, with their migratetype.</summary>
    public IEnumerable<AllocatedBlock> AllocatedInRange(long startPfn, long endPfn) => _area.Allocated.InRange(startPfn, endPfn);

    /// <summary>Models __zone_watermark_ok(), mm/page_alloc.c (6.1.y): lowmemReserve is this zone's lowmem_reserve[];
    /// freePages defaults to NR_FREE_PAGES (zone_watermark_ok()).</summary>
    public bool ZoneWatermarkOk(int order, long mark, int highestZoneIdx, AllocFlags flags, ReadOnlySpan<long> lowmemReserve, long? freePages = null)
    {
        long free = freePages ?? FreePages;
        long min = mark;
        long unusable = (1L << order) - 1;
        if ((flags & AllocFlags.Reserves) == 0) unusable += _area.NrReservedHighatomic;
        if ((flags & AllocFlags.Cma) == 0) unusable += _area.NrFreeCmaPages;
        free -= unusable;
        if ((flags & AllocFlags.Reserves) != 0)
        {
            if ((flags & AllocFlags.MinReserve) != 0)
            {
                min -= min / 2;
                if ((flags & AllocFlags.NonBlock) != 0) min -= min / 4;
            }
            if ((flags & AllocFlags.Oom) != 0) min -= min / 2;
        }
        long reserve = highestZoneIdx < lowmemReserve.Length ? lowmemReserve[highestZoneIdx] : 0;
        if (free <= min + reserve) return false;
        if (order == 0) return true;
        var lists = _area.Lists;
        for (int o = order; o < BuddyConstants.MaxOrder; o++)
        {
            if (lists.NrFree(o) == 0) continue;
            for (int mt = 0; mt < MigrateTypes.PcpTypes; mt++)
                if (!lists.IsEmpty(o, (MigrateType)mt)) return true;
            if ((flags & AllocFlags.Cma) != 0 && !lists.IsEmpty(o, MigrateType.Cma)) return true;
            if ((flags & (AllocFlags.HighAtomic | AllocFlags.Oom)) != 0 && !lists.IsEmpty(o, MigrateType.HighAtomic)) return true;
        }
        return false;
    }

    /// <summary>Rough managed-heap bytes this allocator holds (free-list nodes, pageblock records, pcp buffers).</summary>
    public long ApproximateBytes
    {
        get
        {
            long b = _area.Lists.NodeCapacity * 32L + _area.Lists.NodeCount * 32L;
            b += _area.Pageblocks.ChunkCount * 16L + _area.Pageblocks.PoolBytes;
            foreach (var (_, p) in AllPcps()) b += 8L * p.BufferCapacity + 16L * PerCpuPages.NrPcpLists + 20;
            return b;
        }
    }
}
