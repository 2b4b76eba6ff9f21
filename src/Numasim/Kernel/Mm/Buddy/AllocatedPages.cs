using System.Runtime.CompilerServices;
using Numasim.Snapshots;
using System.Runtime.InteropServices;

namespace Numasim.Kernel.Mm;

/// <summary>One allocated block: head pfn, order and the migratetype it was requested with.</summary>
public readonly record struct AllocatedBlock(long Pfn, int Order, MigrateType MigrateType)
{
    /// <summary>Pages in the block.</summary>
    public long Pages => 1L << Order;
    /// <summary>Whether migration may move it (MIGRATE_MOVABLE or CMA request).</summary>
    public bool IsMovable => MigrateType is MigrateType.Movable or MigrateType.Cma;
}

/// <summary>Tracking of pages handed out by the allocator (what struct page's refcount, compound order and
/// PageLRU/__PageMovable tell the kernel): one byte per page only in pageblocks that hold allocations.</summary>
internal sealed class AllocatedPages
{
    private readonly PageblockMap _map;
    private const int PbMask = (int)BuddyConstants.PageblockNrPages - 1;

    private struct Counts
    {
        public long Count;
        // Pages beyond the first of each allocated block: order-0 pairs leave it alone.
        public long ExtraPages;
    }

    private readonly StateArray<Counts> _counts;
    private readonly StateStore _store;
    private readonly ulong _observeKey;

    // The pageblock used last, its per-page array slot and migratetype (a cache beside the state): alloc/free runs
    // stay in one pageblock for a while. The map calls InvalidateCache() whenever an array goes away or a
    // pageblock migratetype changes, and a restore forgets it.
    private long _lastPb = long.MinValue;
    private int _lastSlot = -1;
    private MigrateType _lastPbMt;

    /// <summary>observeZone: the zone id whose allocated pages the fingerprint sees (-1: none).</summary>
    public AllocatedPages(PageblockMap map, StateStore store, string owner, int observeZone)
    {
        _map = map;
        map.Tracker = this;
        _store = store;
        _counts = new StateArray<Counts>(store, owner + " allocated counts", 1);
        _observeKey = observeZone < 0 ? 0 : Zobrist.Key(FieldKind.ZoneAllocated, observeZone);
        store.OnRestore(InvalidateCache);
    }

    /// <summary>Number of allocated head pfns.</summary>
    public long Count => _counts[0].Count;

    /// <summary>Number of allocated pages (sum of 1 &lt;&lt; order).</summary>
    public long Pages => _counts[0].Count + _counts[0].ExtraPages;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Counted(long heads, long extra)
    {
        ref var c = ref _counts.Mut(0);
        long before = c.Count + c.ExtraPages;
        c.Count += heads;
        c.ExtraPages += extra;
        if (_observeKey != 0) _store.Observe(_observeKey, (ulong)before, (ulong)(c.Count + c.ExtraPages));
    }

    /// <summary>Nothing allocated (a newly made zone).</summary>
    public void Reset()
    {
        long before = Pages;
        _counts.Mut(0) = default;
        if (_observeKey != 0) _store.Observe(_observeKey, (ulong)before, 0);
        InvalidateCache();
    }

    /// <summary>Forgets the cached pageblock (its array changed or went away).</summary>
    public void InvalidateCache()
    {
        _lastPb = long.MinValue;
        _lastSlot = -1;
    }

    /// <summary>The per-page array slot of pfn's pageblock, created when absent (allocation side).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int SlotForAdd(long pfn) => (pfn >> BuddyConstants.PageblockOrder) == _lastPb ? _lastSlot : SlotForAddSlow(pfn);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private int SlotForAddSlow(long pfn)
    {
        int e = _map.GetOrCreate(pfn);
        int slot = _map.EnsureHeads(e);
        Remember(pfn, e, slot);
        return slot;
    }

    private void Remember(long pfn, int e, int slot)
    {
        _lastPb = pfn >> BuddyConstants.PageblockOrder;
        _lastSlot = slot;
        byte o = _map.Override(e);
        _lastPbMt = o == PageblockMap.NoOverride ? _map.DefaultType : (MigrateType)o;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref byte Slot(int slot, long pfn) => ref _map.MutHeads(slot)[(int)pfn & PbMask];

    /// <summary>Records pfn as an allocated head (models prep_new_page(): the page gets a refcount).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(long pfn, int order, MigrateType mt)
    {
        ref byte h = ref Slot(SlotForAdd(pfn), pfn);
        if (h != 0) ThrowHandedOutTwice(pfn);
        h = (byte)(1 + order + ((int)mt << 4));
        Counted(1, (1L << order) - 1);
    }

    /// <summary>Add(pfn, 0, mt).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddOrder0(long pfn, MigrateType mt) => Add(pfn, 0, mt);

    /// <summary>Removes pfn's record and returns its order; gives the pageblock's migratetype too (one lookup for the
    /// free path). A pfn that is not an allocated head is a bug (the kernel's bad_page()/VM_BUG_ON_PAGE on a double
    /// free). An emptied pageblock keeps its array (no churn on alloc/free pairs); Compact() releases it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Remove(long pfn, out MigrateType pageblockMt)
    {
        if ((pfn >> BuddyConstants.PageblockOrder) != _lastPb && !FindForRemove(pfn)) return NotAllocated(pfn, out pageblockMt);
        ref byte h = ref Slot(_lastSlot, pfn);
        int s = h;
        if (s == 0) return NotAllocated(pfn, out pageblockMt);
        h = 0;
        int order = (s & 15) - 1;
        Counted(-1, order != 0 ? -((1L << order) - 1) : 0);
        pageblockMt = _lastPbMt;
        return order;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool FindForRemove(long pfn)
    {
        int e = _map.Find(pfn);
        int slot = e < 0 ? -1 : _map.HeadsSlot(e);
        if (slot < 0) return false;
        Remember(pfn, e, slot);
        return true;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int NotAllocated(long pfn, out MigrateType pageblockMt)
    {
        pageblockMt = default;
        ThrowNotAllocated(pfn);
        return -1;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowHandedOutTwice(long pfn) => throw new InvalidOperationException($"BUG: pfn {pfn:x} handed out twice");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowNotAllocated(long pfn) =>
        throw new InvalidOperationException($"BUG: Bad page state: freeing pfn {pfn:x} which is not an allocated head");

    /// <summary>Releases the per-page arrays of pageblocks in [startPfn, endPfn) that hold no allocation any more,
    /// and entries that then record nothing.</summary>
    public void Compact(long startPfn, long endPfn)
    {
        var empty = new List<long>();
        foreach (int e in _map.InRange(startPfn, endPfn))
            if (_map.HeadsSlot(e) >= 0 && !_map.HoldsAllocations(e)) empty.Add(_map.PageblockPfn(e));
        foreach (long pb in empty)
        {
            int e = _map.Find(pb);
            _map.ReleaseHeads(e);
            _map.Trim(e);
        }
        InvalidateCache();
    }

    /// <summary>Order of the allocated head at pfn, or -1.</summary>
    public int OrderAt(long pfn, out MigrateType mt)
    {
        mt = default;
        int e = _map.Find(pfn);
        int slot = e < 0 ? -1 : _map.HeadsSlot(e);
        if (slot < 0) return -1;
        byte s = _map.Heads(slot)[(int)pfn & PbMask];
        if (s == 0) return -1;
        mt = (MigrateType)(s >> 4);
        return (s & 15) - 1;
    }

    /// <summary>Allocated blocks whose head lies in [startPfn, endPfn), ascending.</summary>
    public IEnumerable<AllocatedBlock> InRange(long startPfn, long endPfn)
    {
        var found = new List<AllocatedBlock>();
        foreach (int e in _map.InRange(startPfn, endPfn))
        {
            int slot = _map.HeadsSlot(e);
            if (slot < 0) continue;
            long pbPfn = _map.PageblockPfn(e);
            var heads = _map.Heads(slot);
            for (int i = 0; i < heads.Length; i++)
            {
                byte s = heads[i];
                if (s == 0) continue;
                long pfn = pbPfn + i;
                if (pfn < startPfn || pfn >= endPfn) continue;
                found.Add(new AllocatedBlock(pfn, (s & 15) - 1, (MigrateType)(s >> 4)));
            }
        }
        return found;
    }

    /// <summary>The head pfn of the first (lowest) block in [startPfn, endPfn) that is not movable (what iterating
    /// <see cref="InRange"/> for the first !IsMovable gives), or -1; no list made.</summary>
    public long FirstUnmovableInRange(long startPfn, long endPfn)
    {
        foreach (int e in _map.InRange(startPfn, endPfn))
        {
            var heads = HeadsIn(e, startPfn, endPfn, out long first);
            for (int i = 0; i < heads.Length; i++)
            {
                byte s = heads[i];
                if (s != 0 && !new AllocatedBlock(first + i, (s & 15) - 1, (MigrateType)(s >> 4)).IsMovable) return first + i;
            }
        }
        return -1;
    }

    /// <summary>Whether any block's head lies in [startPfn, endPfn) (no list made).</summary>
    public bool AnyInRange(long startPfn, long endPfn)
    {
        foreach (int e in _map.InRange(startPfn, endPfn))
            if (HeadsIn(e, startPfn, endPfn, out _).ContainsAnyExcept((byte)0)) return true;
        return false;
    }

    /// <summary>The head bytes of pageblock entry e that lie in [startPfn, endPfn) (empty when it has none), and the
    /// pfn of the first.</summary>
    private ReadOnlySpan<byte> HeadsIn(int e, long startPfn, long endPfn, out long firstPfn)
    {
        long pbPfn = _map.PageblockPfn(e);
        int slot = _map.HeadsSlot(e);
        firstPfn = Math.Max(startPfn, pbPfn);
        if (slot < 0) return [];
        var heads = _map.Heads(slot);
        int from = (int)Math.Max(0, startPfn - pbPfn), to = (int)Math.Min(heads.Length, endPfn - pbPfn);
        return from < to ? heads[from..to] : [];
    }
}
