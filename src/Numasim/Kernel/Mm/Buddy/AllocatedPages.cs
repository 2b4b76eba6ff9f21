using System.Runtime.CompilerServices;
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

    // The pageblock used last, its per-page array and migratetype: alloc/free runs stay in one pageblock for a
    // while. The map calls InvalidateCache() whenever a chunk goes away or a pageblock migratetype changes.
    private long _lastPb = long.MinValue;
    private byte[]? _lastHeads;
    private MigrateType _lastPbMt;
    // Pages beyond the first of each allocated block: order-0 pairs leave it alone.
    private long _extraPages;

    public AllocatedPages(PageblockMap map)
    {
        _map = map;
        map.Tracker = this;
    }

    /// <summary>Number of allocated head pfns.</summary>
    public long Count { get; private set; }

    /// <summary>Number of allocated pages (sum of 1 &lt;&lt; order).</summary>
    public long Pages => Count + _extraPages;

    /// <summary>Forgets the cached pageblock (its chunk changed or went away).</summary>
    public void InvalidateCache()
    {
        _lastPb = long.MinValue;
        _lastHeads = null;
    }

    /// <summary>The per-page array of pfn's pageblock, created when absent (allocation side).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private byte[] HeadsForAdd(long pfn) => (pfn >> BuddyConstants.PageblockOrder) == _lastPb ? _lastHeads! : HeadsForAddSlow(pfn);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private byte[] HeadsForAddSlow(long pfn)
    {
        var c = _map.GetOrCreate(pfn);
        var heads = c.Heads ??= new byte[BuddyConstants.PageblockNrPages];
        Remember(pfn, c, heads);
        return heads;
    }

    private void Remember(long pfn, PageblockChunk c, byte[] heads)
    {
        _lastPb = pfn >> BuddyConstants.PageblockOrder;
        _lastHeads = heads;
        _lastPbMt = c.Override == PageblockChunk.NoOverride ? _map.DefaultType : (MigrateType)c.Override;
    }

    /// <summary>Slot of pfn in a pageblock's per-page array (always PageblockNrPages long).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref byte Slot(byte[] heads, long pfn) =>
        ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(heads), (int)pfn & PbMask);

    /// <summary>Records pfn as an allocated head (models prep_new_page(): the page gets a refcount).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(long pfn, int order, MigrateType mt)
    {
        ref byte h = ref Slot(HeadsForAdd(pfn), pfn);
        if (h != 0) ThrowHandedOutTwice(pfn);
        h = (byte)(1 + order + ((int)mt << 4));
        Count++;
        _extraPages += (1L << order) - 1;
    }

    /// <summary>Add(pfn, 0, mt).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddOrder0(long pfn, MigrateType mt)
    {
        ref byte h = ref Slot(HeadsForAdd(pfn), pfn);
        if (h != 0) ThrowHandedOutTwice(pfn);
        h = (byte)(1 + ((int)mt << 4));
        Count++;
    }

    /// <summary>Removes pfn's record and returns its order; gives the pageblock's migratetype too (one lookup for the
    /// free path). A pfn that is not an allocated head is a bug (the kernel's bad_page()/VM_BUG_ON_PAGE on a double
    /// free). An emptied pageblock keeps its array (no churn on alloc/free pairs); Compact() releases it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Remove(long pfn, out MigrateType pageblockMt)
    {
        if ((pfn >> BuddyConstants.PageblockOrder) != _lastPb && !FindForRemove(pfn)) return NotAllocated(pfn, out pageblockMt);
        ref byte h = ref Slot(_lastHeads!, pfn);
        int s = h;
        if (s == 0) return NotAllocated(pfn, out pageblockMt);
        h = 0;
        Count--;
        int order = (s & 15) - 1;
        if (order != 0) _extraPages -= (1L << order) - 1;
        pageblockMt = _lastPbMt;
        return order;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool FindForRemove(long pfn)
    {
        var c = _map.Find(pfn);
        if (c?.Heads is not { } heads) return false;
        Remember(pfn, c, heads);
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
    /// and chunks that then record nothing.</summary>
    public void Compact(long startPfn, long endPfn)
    {
        var empty = new List<(long, PageblockChunk)>();
        foreach (var (pb, c) in _map.ChunksInRange(startPfn, endPfn))
            if (!c.HoldsAllocations) empty.Add((pb, c));
        foreach (var (pb, c) in empty) { c.Heads = null; _map.Trim(pb, c); }
        InvalidateCache();
    }

    /// <summary>Order of the allocated head at pfn, or -1.</summary>
    public int OrderAt(long pfn, out MigrateType mt)
    {
        mt = default;
        var c = _map.Find(pfn);
        if (c?.Heads is not { } heads) return -1;
        byte s = heads[(int)pfn & PbMask];
        if (s == 0) return -1;
        mt = (MigrateType)(s >> 4);
        return (s & 15) - 1;
    }

    /// <summary>Allocated blocks whose head lies in [startPfn, endPfn), ascending.</summary>
    public IEnumerable<AllocatedBlock> InRange(long startPfn, long endPfn)
    {
        foreach (var (pbPfn, c) in _map.ChunksInRange(startPfn, endPfn))
        {
            if (c.Heads is not { } heads) continue;
            for (int i = 0; i < heads.Length; i++)
            {
                byte s = heads[i];
                if (s == 0) continue;
                long pfn = pbPfn + i;
                if (pfn < startPfn || pfn >= endPfn) continue;
                yield return new AllocatedBlock(pfn, (s & 15) - 1, (MigrateType)(s >> 4));
            }
        }
    }
}
