using System.Runtime.CompilerServices;

namespace Numasim.Kernel.Mm;

/// <summary>Per-pageblock state of one zone that exists only where something differs from "all free, default
/// migratetype": the pageblock's migratetype when it is not the zone default (the kernel keeps it in the section's
/// usemap, mm/page_alloc.c set_pfnblock_flags_mask()) and one byte per page for allocated head pages.
/// A sparse radix keyed by absolute pageblock index: a dictionary of 1 GiB leaves (512 chunk references), each
/// chunk lazily created. Memory grows with allocations and migratetype changes, never with the zone span.</summary>
internal sealed class PageblockMap
{
    internal const int LeafShift = 9;
    internal const int LeafSize = 1 << LeafShift;
    private const int PbShift = BuddyConstants.PageblockOrder;

    private readonly Dictionary<long, PageblockChunk?[]> _leaves = new();
    private long _lastLeafKey = long.MinValue;
    private PageblockChunk?[]? _lastLeaf;
    // The chunk found last (never null while _lastPb is valid): alloc/free runs stay in one pageblock for a while.
    private long _lastPb = long.MinValue;
    private PageblockChunk? _lastChunk;

    /// <summary>Migratetype of every pageblock without an override (memmap_init sets MIGRATE_MOVABLE).</summary>
    public MigrateType DefaultType
    {
        get => _defaultType;
        set { _defaultType = value; Tracker?.InvalidateCache(); }
    }
    private MigrateType _defaultType = MigrateType.Movable;

    /// <summary>The allocation record that caches a chunk; told when a chunk goes away or a migratetype changes.</summary>
    internal AllocatedPages? Tracker;

    /// <summary>Number of chunks currently materialised (for memory figures).</summary>
    public int ChunkCount { get; private set; }

    public int LeafCount => _leaves.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private PageblockChunk?[]? Leaf(long leafKey)
    {
        if (leafKey == _lastLeafKey) return _lastLeaf;
        return LeafSlow(leafKey);
    }

    private PageblockChunk?[]? LeafSlow(long leafKey)
    {
        if (!_leaves.TryGetValue(leafKey, out var leaf)) return null;
        _lastLeafKey = leafKey;
        _lastLeaf = leaf;
        return leaf;
    }

    /// <summary>The chunk of the pageblock holding pfn, or null when nothing is recorded for it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PageblockChunk? Find(long pfn)
    {
        long pb = pfn >> PbShift;
        if (pb == _lastPb) return _lastChunk;
        return FindSlow(pb);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private PageblockChunk? FindSlow(long pb)
    {
        var leaf = Leaf(pb >> LeafShift);
        var c = leaf?[(int)(pb & (LeafSize - 1))];
        if (c is not null) { _lastPb = pb; _lastChunk = c; }
        return c;
    }

    /// <summary>The chunk of the pageblock holding pfn, created when absent.</summary>
    public PageblockChunk GetOrCreate(long pfn)
    {
        long pb = pfn >> PbShift;
        long key = pb >> LeafShift;
        var leaf = Leaf(key);
        if (leaf is null)
        {
            leaf = new PageblockChunk?[LeafSize];
            _leaves.Add(key, leaf);
            _lastLeafKey = key;
            _lastLeaf = leaf;
        }
        int slot = (int)(pb & (LeafSize - 1));
        var c = leaf[slot];
        if (c is null)
        {
            c = new PageblockChunk();
            leaf[slot] = c;
            ChunkCount++;
        }
        _lastPb = pb;
        _lastChunk = c;
        return c;
    }

    /// <summary>Drops the chunk of pfn's pageblock if it records nothing any more.</summary>
    public void Trim(long pfn, PageblockChunk c)
    {
        if (c.HoldsAllocations || c.Override != PageblockChunk.NoOverride) return;
        long pb = pfn >> PbShift;
        if (pb == _lastPb) { _lastPb = long.MinValue; _lastChunk = null; }
        Tracker?.InvalidateCache();
        long key = pb >> LeafShift;
        var leaf = Leaf(key)!;
        leaf[(int)(pb & (LeafSize - 1))] = null;
        ChunkCount--;
        foreach (var x in leaf) if (x is not null) return;
        _leaves.Remove(key);
        if (_lastLeafKey == key) { _lastLeafKey = long.MinValue; _lastLeaf = null; }
    }

    /// <summary>Models get_pfnblock_migratetype(), mm/page_alloc.c.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public MigrateType GetMigratetype(long pfn)
    {
        var c = Find(pfn);
        return c is null || c.Override == PageblockChunk.NoOverride ? DefaultType : (MigrateType)c.Override;
    }

    /// <summary>Models set_pfnblock_flags_mask() for the migratetype bits, mm/page_alloc.c.</summary>
    public void SetMigratetype(long pfn, MigrateType mt)
    {
        Tracker?.InvalidateCache();
        if (mt == DefaultType)
        {
            var c = Find(pfn);
            if (c is null) return;
            c.Override = PageblockChunk.NoOverride;
            Trim(pfn, c);
            return;
        }
        GetOrCreate(pfn).Override = (byte)mt;
    }

    /// <summary>Pageblock start pfns (ascending) in [startPfn, endPfn) that have a chunk.</summary>
    public IEnumerable<(long PageblockPfn, PageblockChunk Chunk)> ChunksInRange(long startPfn, long endPfn)
    {
        if (endPfn <= startPfn) yield break;
        long firstPb = startPfn >> PbShift, lastPb = (endPfn - 1) >> PbShift;
        long firstKey = firstPb >> LeafShift, lastKey = lastPb >> LeafShift;
        IEnumerable<long> keys;
        if (lastKey - firstKey + 1 > _leaves.Count)
        {
            var list = new List<long>();
            foreach (var k in _leaves.Keys) if (k >= firstKey && k <= lastKey) list.Add(k);
            list.Sort();
            keys = list;
        }
        else
        {
            keys = RangeKeys(firstKey, lastKey);
        }
        foreach (long key in keys)
        {
            if (!_leaves.TryGetValue(key, out var leaf)) continue;
            for (int i = 0; i < LeafSize; i++)
            {
                long pb = (key << LeafShift) + i;
                if (pb < firstPb || pb > lastPb) continue;
                var c = leaf[i];
                if (c is not null) yield return (pb << PbShift, c);
            }
        }
    }

    private static IEnumerable<long> RangeKeys(long a, long b)
    {
        for (long k = a; k <= b; k++) yield return k;
    }
}

/// <summary>What is recorded for one pageblock: a migratetype override and allocated head pages.</summary>
internal sealed class PageblockChunk
{
    public const byte NoOverride = 0xFF;
    /// <summary>Pageblock migratetype when it differs from the zone default, else NoOverride.</summary>
    public byte Override = NoOverride;
    /// <summary>Per page of the pageblock: 0 = not an allocated head, else 1 + order + 16 * migratetype.</summary>
    public byte[]? Heads;

    /// <summary>Whether any page of the pageblock is an allocated head (a scan: only Compact and Trim ask, so the
    /// alloc/free paths keep no per-chunk counter).</summary>
    public bool HoldsAllocations => Heads is { } h && h.AsSpan().ContainsAnyExcept((byte)0);
}
