using Numasim.Snapshots;

namespace Numasim.Kernel.Mm;

/// <summary>Per-pageblock state of one zone that exists only where something differs from "all free, default
/// migratetype": the pageblock's migratetype when it is not the zone default (the kernel keeps it in the section's
/// usemap, mm/page_alloc.c set_pfnblock_flags_mask()) and one byte per page for allocated head pages.
/// Compact state: a table of the pageblocks with something recorded, sorted by pageblock index, and a pool of
/// 512-byte per-page arrays. Memory grows with allocations and migratetype changes, never with the zone span.
/// Entries are addressed by position, valid until the next entry is added or dropped.</summary>
internal sealed class PageblockMap
{
    private const int PbShift = BuddyConstants.PageblockOrder;
    internal const int HeadsBytes = (int)BuddyConstants.PageblockNrPages;
    public const byte NoOverride = 0xFF;

    private struct Entry : ISortedRecord
    {
        public readonly long SortKey => Pb;
        public long Pb;
        public int HeadsSlot; // -1: no per-page array
        public byte Override;
    }

    private readonly StateArray<Entry> _entries;
    private readonly StateArray<byte> _pool;
    private readonly StateArray<int> _spareSlots;
    private readonly StateArray<MigrateType> _defaultType;
    // The entry found last (a cache beside the state: alloc/free runs stay in one pageblock for a while).
    private long _lastPb = long.MinValue;
    private int _lastEntry = -1;

    public PageblockMap(StateStore store, string owner)
    {
        _entries = new StateArray<Entry>(store, owner + " pageblocks");
        _pool = new StateArray<byte>(store, owner + " allocated heads");
        _spareSlots = new StateArray<int>(store, owner + " allocated heads (spare)");
        _defaultType = new StateArray<MigrateType>(store, owner + " pageblock default migratetype", 1);
        _defaultType.Mut(0) = MigrateType.Movable;
        store.OnRestore(Forget);
    }

    /// <summary>Migratetype of every pageblock without an override (memmap_init sets MIGRATE_MOVABLE).</summary>
    public MigrateType DefaultType
    {
        get => _defaultType[0];
        set { _defaultType.Mut(0) = value; Tracker?.InvalidateCache(); }
    }

    /// <summary>The allocation record that caches a chunk; told when a chunk goes away or a migratetype changes.</summary>
    internal AllocatedPages? Tracker;

    /// <summary>Number of pageblocks with something recorded (for memory figures).</summary>
    public int ChunkCount => _entries.Length;

    /// <summary>Bytes of per-page arrays (for memory figures).</summary>
    public int PoolBytes => _pool.Length;

    /// <summary>Nothing recorded, MIGRATE_MOVABLE by default (a newly made zone).</summary>
    public void Reset()
    {
        _entries.Clear();
        _pool.Clear();
        _spareSlots.Clear();
        _defaultType.Mut(0) = MigrateType.Movable;
        Forget();
        Tracker?.InvalidateCache();
    }

    private void Forget()
    {
        _lastPb = long.MinValue;
        _lastEntry = -1;
    }

    private int Search(long pb) => _entries.SearchSorted(pb);

    /// <summary>The entry of the pageblock holding pfn, or -1 when nothing is recorded for it.</summary>
    public int Find(long pfn)
    {
        long pb = pfn >> PbShift;
        if (pb == _lastPb) return _lastEntry;
        int i = Search(pb);
        if (i < 0) return -1;
        _lastPb = pb;
        _lastEntry = i;
        return i;
    }

    /// <summary>The entry of the pageblock holding pfn, created when absent.</summary>
    public int GetOrCreate(long pfn)
    {
        long pb = pfn >> PbShift;
        int i = Search(pb);
        if (i < 0)
        {
            i = ~i;
            _entries.Insert(i, new Entry { Pb = pb, HeadsSlot = -1, Override = NoOverride });
        }
        _lastPb = pb;
        _lastEntry = i;
        return i;
    }

    public byte Override(int e) => _entries[e].Override;

    /// <summary>Start pfn of an entry's pageblock.</summary>
    public long PageblockPfn(int e) => _entries[e].Pb << PbShift;

    /// <summary>The per-page array slot of an entry, or -1.</summary>
    public int HeadsSlot(int e) => _entries[e].HeadsSlot;

    /// <summary>The per-page array slot of an entry, made when absent.</summary>
    public int EnsureHeads(int e)
    {
        int s = _entries[e].HeadsSlot;
        if (s >= 0) return s;
        if (_spareSlots.Length > 0)
        {
            s = _spareSlots[_spareSlots.Length - 1];
            _spareSlots.Resize(_spareSlots.Length - 1);
        }
        else
        {
            s = _pool.Length / HeadsBytes;
            _pool.Resize(_pool.Length + HeadsBytes);
        }
        _entries.Mut(e).HeadsSlot = s;
        return s;
    }

    /// <summary>The per-page bytes of a slot: 0 = not an allocated head, else 1 + order + 16 * migratetype.</summary>
    public ReadOnlySpan<byte> Heads(int slot) => _pool.Items.Slice(slot * HeadsBytes, HeadsBytes);

    /// <summary>The per-page bytes of a slot, for writing.</summary>
    public Span<byte> MutHeads(int slot) => _pool.MutItems.Slice(slot * HeadsBytes, HeadsBytes);

    /// <summary>Whether any page of the entry's pageblock is an allocated head (a scan: only Compact and Trim ask).</summary>
    public bool HoldsAllocations(int e) => _entries[e].HeadsSlot is var s and >= 0 && Heads(s).ContainsAnyExcept((byte)0);

    /// <summary>Drops the entry's per-page array (it holds no allocation).</summary>
    public void ReleaseHeads(int e)
    {
        int s = _entries[e].HeadsSlot;
        if (s < 0) return;
        MutHeads(s).Clear();
        _spareSlots.Add(s);
        _entries.Mut(e).HeadsSlot = -1;
        Tracker?.InvalidateCache();
    }

    /// <summary>Drops the entry if it records nothing any more.</summary>
    public void Trim(int e)
    {
        if (HoldsAllocations(e) || _entries[e].Override != NoOverride) return;
        ReleaseHeads(e);
        _entries.RemoveAt(e);
        Forget();
        Tracker?.InvalidateCache();
    }

    /// <summary>Models get_pfnblock_migratetype(), mm/page_alloc.c.</summary>
    public MigrateType GetMigratetype(long pfn)
    {
        int e = Find(pfn);
        return e < 0 || _entries[e].Override == NoOverride ? DefaultType : (MigrateType)_entries[e].Override;
    }

    /// <summary>Models set_pfnblock_flags_mask() for the migratetype bits, mm/page_alloc.c.</summary>
    public void SetMigratetype(long pfn, MigrateType mt)
    {
        Tracker?.InvalidateCache();
        if (mt == DefaultType)
        {
            int e = Find(pfn);
            if (e < 0) return;
            if (_entries[e].Override != NoOverride) _entries.Mut(e).Override = NoOverride;
            Trim(e);
            return;
        }
        int i = GetOrCreate(pfn);
        if (_entries[i].Override != (byte)mt) _entries.Mut(i).Override = (byte)mt;
    }

    /// <summary>Entries (ascending) whose pageblock lies in [startPfn, endPfn). Do not add or drop entries while
    /// enumerating.</summary>
    public EntryRange InRange(long startPfn, long endPfn)
    {
        if (endPfn <= startPfn) return default;
        long firstPb = startPfn >> PbShift, lastPb = (endPfn - 1) >> PbShift;
        int i = Search(firstPb);
        if (i < 0) i = ~i;
        int end = i;
        while (end < _entries.Length && _entries[end].Pb <= lastPb) end++;
        return new EntryRange(i, end);
    }
}

/// <summary>Consecutive entry indices [Start, End) of a <see cref="PageblockMap"/>, enumerable without an allocation
/// (the walks of offlining and isolation run once per pageblock).</summary>
internal readonly record struct EntryRange(int Start, int End)
{
    public Enumerator GetEnumerator() => new(Start, End);

    public struct Enumerator(int start, int end)
    {
        private int _i = start - 1;
        public readonly int Current => _i;
        public bool MoveNext() => ++_i < end;
    }
}
