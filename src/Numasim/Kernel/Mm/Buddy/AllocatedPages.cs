using System.Runtime.CompilerServices;

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

    public AllocatedPages(PageblockMap map) => _map = map;

    /// <summary>Number of allocated head pfns.</summary>
    public long Count { get; private set; }

    /// <summary>Number of allocated pages (sum of 1 &lt;&lt; order).</summary>
    public long Pages { get; private set; }

    /// <summary>Records pfn as an allocated head (models prep_new_page(): the page gets a refcount).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add(long pfn, int order, MigrateType mt)
    {
        var c = _map.Find(pfn) ?? _map.GetOrCreate(pfn);
        var heads = c.Heads ??= new byte[BuddyConstants.PageblockNrPages];
        int i = (int)pfn & PbMask;
        if (heads[i] != 0) ThrowHandedOutTwice(pfn);
        heads[i] = (byte)(1 + order + ((int)mt << 4));
        c.AllocatedHeads++;
        Count++;
        Pages += 1L << order;
    }

    /// <summary>Removes pfn's record and returns its order and migratetype; a pfn that is not an allocated head
    /// is a bug (the kernel's bad_page()/VM_BUG_ON_PAGE on a double free).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public (int Order, MigrateType Mt) Remove(long pfn) => Remove(pfn, out _);

    /// <summary>As Remove(pfn), also giving the pageblock's migratetype (one radix walk for the free path).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public (int Order, MigrateType Mt) Remove(long pfn, out MigrateType pageblockMt)
    {
        var c = _map.Find(pfn);
        int i = (int)pfn & PbMask;
        byte s;
        if (c?.Heads is not { } heads || (s = heads[i]) == 0) { ThrowNotAllocated(pfn); pageblockMt = default; return default; }
        heads[i] = 0;
        int order = (s & 15) - 1;
        Count--;
        Pages -= 1L << order;
        byte ov = c.Override;
        pageblockMt = ov == PageblockChunk.NoOverride ? _map.DefaultType : (MigrateType)ov;
        // An emptied chunk is kept (no churn on alloc/free pairs); Compact() releases it.
        c.AllocatedHeads--;
        return (order, (MigrateType)(s >> 4));
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
            if (c.AllocatedHeads == 0) empty.Add((pb, c));
        foreach (var (pb, c) in empty) { c.Heads = null; _map.Trim(pb, c); }
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
