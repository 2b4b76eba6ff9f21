namespace Numasim.Kernel.Mm;

/// <summary>A physical range [Start, End) in pages with the node it belongs to.</summary>
public readonly record struct PfnRange(long Start, long End, int Nid)
{
    public long Count => End - Start;
}

/// <summary>A reserved physical range [Start, End) in bytes (memblock.reserved).</summary>
public readonly record struct PhysRange(ulong Start, ulong End)
{
    public ulong Size => End - Start;
}

/// <summary>
/// mm/memblock.c: the boot-time memory map (memblock.memory, in pages: e820 RAM is page-trimmed) and the boot-time
/// reservations (memblock.reserved, in bytes, as the kernel keeps them: small allocations share pages), with the
/// top-down allocator that places every early allocation.
/// </summary>
/// <remarks>
/// The memory list is kept sorted by start; while it is "clean" (ranges pairwise disjoint, no two neighbours
/// mergeable) an insertion disjoint from it is placed by binary search. The reserved list is always sorted and
/// merged (touching or overlapping reservations become one range, as memblock_merge_regions() does for regions of
/// one node), so a lookup is a binary search.
/// </remarks>
public sealed class Memblock
{
    private readonly List<PfnRange> _memory = [];
    private readonly List<PhysRange> _reserved = [];
    private bool _memoryClean = true;

    public IReadOnlyList<PfnRange> Memory => _memory;
    public IReadOnlyList<PhysRange> Reserved => _reserved;

    /// <summary>memblock.current_limit: the highest address allocations may return (MEMBLOCK_ALLOC_ACCESSIBLE).</summary>
    public ulong CurrentLimit { get; set; } = ulong.MaxValue;

    /// <summary>memblock.bottom_up (memblock_set_bottom_up()): x86's setup_arch() sets it with movable_node, so the
    /// early allocations stay near the kernel until numa_init() has parsed SRAT's hotpluggable ranges.</summary>
    public bool BottomUp { get; set; }

    /// <summary>Models memblock_add(): ranges are kept sorted and merged when adjacent on the same node.</summary>
    public void Add(long start, long end, int nid = -1)
    {
        Insert(_memory, start, end, nid, ref _memoryClean);
        _regionsOfNode = null;
    }

    /// <summary>The indexes of each node's memory regions, descending (built when a node-bound allocation needs it).</summary>
    private Dictionary<int, List<int>>? _regionsOfNode;

    private List<int> RegionsOf(int nid)
    {
        if (_regionsOfNode is null)
        {
            _regionsOfNode = [];
            for (int i = _memory.Count - 1; i >= 0; i--)
            {
                if (!_regionsOfNode.TryGetValue(_memory[i].Nid, out var l)) _regionsOfNode[_memory[i].Nid] = l = [];
                l.Add(i);
            }
        }
        return _regionsOfNode.TryGetValue(nid, out var list) ? list : [];
    }

    /// <summary>Models memblock_set_node(): assigns a node to the memory in [start, end).</summary>
    public void SetNode(long start, long end, int nid)
    {
        _regionsOfNode = null;
        if (_memoryClean)
        {
            // The ranges that overlap [start, end) are contiguous: rewrite just them, in place.
            int lo = FirstEndingAfter(_memory, start), hi = lo;
            while (hi < _memory.Count && _memory[hi].Start < end) hi++;
            if (lo == hi) return;
            var pieces = new List<PfnRange>(hi - lo + 2);
            for (int i = lo; i < hi; i++)
            {
                var r = _memory[i];
                if (r.Start < start) pieces.Add(r with { End = start });
                pieces.Add(new PfnRange(Math.Max(r.Start, start), Math.Min(r.End, end), nid));
                if (r.End > end) pieces.Add(r with { Start = end });
            }
            _memory.RemoveRange(lo, hi - lo);
            _memory.InsertRange(lo, pieces);
            _memoryClean = IsClean(_memory);
            return;
        }
        var result = new List<PfnRange>();
        foreach (var r in _memory)
        {
            if (r.End <= start || r.Start >= end) { result.Add(r); continue; }
            if (r.Start < start) result.Add(r with { End = start });
            result.Add(new PfnRange(Math.Max(r.Start, start), Math.Min(r.End, end), nid));
            if (r.End > end) result.Add(r with { Start = end });
        }
        _memory.Clear();
        _memory.AddRange(result);
        _memoryClean = IsClean(_memory);
    }

    /// <summary>Pages of memory in [start, end) (the complement of absent_pages_in_range()).</summary>
    public long PresentIn(long start, long end, int nid = -1) => Overlap(_memory, _memoryClean, start, end, nid);

    /// <summary>Models memblock_reserve(): reserved bytes [base, base+size), merged with what they touch.</summary>
    public void Reserve(ulong @base, ulong size)
    {
        if (size == 0) return;
        ulong s = @base, e = @base + size;
        int lo = FirstReservedEndingAtOrAfter(s), hi = lo;
        while (hi < _reserved.Count && _reserved[hi].Start <= e)
        {
            s = Math.Min(s, _reserved[hi].Start);
            e = Math.Max(e, _reserved[hi].End);
            hi++;
        }
        if (hi > lo) _reserved.RemoveRange(lo, hi - lo);
        _reserved.Insert(lo, new PhysRange(s, e));
    }

    /// <summary>Models memblock_phys_free() (memblock_remove_range() on memblock.reserved).</summary>
    public void PhysFree(ulong @base, ulong size)
    {
        if (size == 0) return;
        ulong s = @base, e = @base + size;
        int lo = FirstReservedEndingAtOrAfter(s + 1), hi = lo;
        var pieces = new List<PhysRange>(2);
        while (hi < _reserved.Count && _reserved[hi].Start < e)
        {
            var r = _reserved[hi];
            if (r.Start < s) pieces.Add(new PhysRange(r.Start, s));
            if (r.End > e) pieces.Add(new PhysRange(e, r.End));
            hi++;
        }
        if (hi == lo) return;
        _reserved.RemoveRange(lo, hi - lo);
        _reserved.InsertRange(lo, pieces);
    }

    /// <summary>Pages of memory in [start, end) (pfns) that are not wholly free: what memblock_find_dma_reserve()
    /// counts as reserved below MAX_DMA_PFN.</summary>
    public long ReservedIn(long start, long end)
    {
        long free = 0;
        foreach (var f in FreeRanges())
        {
            long s = Math.Max(f.Start, start), e = Math.Min(f.End, end);
            if (s < e) free += e - s;
        }
        return PresentIn(start, end) - free;
    }

    /// <summary>Models memblock_find_in_range_node() top-down (__memblock_find_range_top_down()): the highest
    /// address below <paramref name="end"/> and at or above <paramref name="start"/> where <paramref name="size"/>
    /// bytes aligned to <paramref name="align"/> fit in free memory of <paramref name="nid"/> (-1: any node);
    /// 0 when none.</summary>
    public ulong FindInRange(ulong size, ulong align, ulong start, ulong end, int nid)
    {
        if (end > CurrentLimit) end = CurrentLimit;
        start = Math.Max(start, (ulong)Page.Size);
        end = Math.Max(start, end);
        if (BottomUp) return FindBottomUp(size, align, start, end, nid);
        var regions = nid >= 0 ? RegionsOf(nid) : null;
        for (int n = 0, count = regions?.Count ?? _memory.Count; n < count; n++)
        {
            int i = regions is null ? _memory.Count - 1 - n : regions[n];
            var m = _memory[i];
            ulong ms = Page.AddrOf(m.Start), me = Page.AddrOf(m.End);
            if (me <= start) break;
            if (ms >= end) continue;
            // the free ranges of this memory region, from the top (for_each_free_mem_range_reverse)
            ulong top = me;
            int j = FirstReservedStartingAtOrAfter(top) - 1;
            while (top > ms)
            {
                ulong bottom = ms;
                if (j >= 0 && _reserved[j].End > ms)
                {
                    if (_reserved[j].End >= top) { top = _reserved[j].Start; j--; continue; }
                    bottom = _reserved[j].End;
                }
                ulong ts = Math.Clamp(bottom, start, end), te = Math.Clamp(top, start, end);
                if (te > ts && te >= size)
                {
                    ulong cand = (te - size) & ~(align - 1);
                    if (cand >= ts) return cand;
                }
                if (bottom == ms) break;
                top = _reserved[j].Start;
                j--;
            }
        }
        return 0;
    }

    /// <summary>Models __memblock_find_range_bottom_up(): the lowest address in [start, end) where
    /// <paramref name="size"/> bytes aligned to <paramref name="align"/> fit in free memory of
    /// <paramref name="nid"/> (-1: any node), over the free ranges ascending; 0 when none.</summary>
    private ulong FindBottomUp(ulong size, ulong align, ulong start, ulong end, int nid)
    {
        foreach (var (s, e, n) in FreeByteRanges())
        {
            if (s >= end) break;
            if (nid >= 0 && n != nid) continue;
            ulong fs = Math.Clamp(s, start, end), fe = Math.Clamp(e, start, end);
            ulong cand = (fs + align - 1) & ~(align - 1);
            if (cand < fe && fe - cand >= size) return cand;
        }
        return 0;
    }

    /// <summary>Models memblock_alloc_range_nid(): the node first, then (unless <paramref name="exactNid"/>) any
    /// node; the range is reserved. Returns 0 when nothing fits.</summary>
    public ulong AllocRange(ulong size, ulong align, ulong start, ulong end, int nid, bool exactNid = false)
    {
        if (align == 0) align = 64; // SMP_CACHE_BYTES, as memblock_alloc_range_nid() warns and does
        ulong found = FindInRange(size, align, start, end, nid);
        if (found == 0 && nid >= 0 && !exactNid) found = FindInRange(size, align, start, end, -1);
        if (found != 0) Reserve(found, size);
        return found;
    }

    /// <summary>Models memblock_alloc_internal() (memblock_alloc_try_nid() and friends): the limit is clamped to
    /// current_limit, and a failed attempt above <paramref name="min"/> is retried without the lower limit.</summary>
    public ulong AllocTryNid(ulong size, ulong align, ulong min, ulong max, int nid, bool exactNid = false)
    {
        ulong a = AllocRange(size, align, min, max, nid, exactNid);
        if (a == 0 && min != 0) a = AllocRange(size, align, 0, max, nid, exactNid);
        return a;
    }

    /// <summary>The wholly free pages of memory, ascending, by node: what memblock_free_all() hands to the buddy
    /// (__free_memory_core(): PFN_UP(start) to PFN_DOWN(end) of each free range).</summary>
    public IEnumerable<PfnRange> FreeRanges()
    {
        foreach (var (s, e, nid) in FreeByteRanges())
        {
            var f = Pages(s, e, nid);
            if (f.Count > 0) yield return f;
        }
    }

    /// <summary>Models for_each_free_mem_range(): the byte ranges of memory that no reservation covers, ascending,
    /// with their node.</summary>
    private IEnumerable<(ulong Start, ulong End, int Nid)> FreeByteRanges()
    {
        foreach (var m in _memory)
        {
            ulong ms = Page.AddrOf(m.Start), me = Page.AddrOf(m.End), cur = ms;
            for (int i = FirstReservedEndingAtOrAfter(ms + 1); i < _reserved.Count && _reserved[i].Start < me; i++)
            {
                var r = _reserved[i];
                if (r.Start > cur) yield return (cur, r.Start, m.Nid);
                cur = Math.Max(cur, r.End);
            }
            if (cur < me) yield return (cur, me, m.Nid);
        }
    }

    private static PfnRange Pages(ulong s, ulong e, int nid)
    {
        long ps = (long)((s + Page.Size - 1) >> Page.Shift), pe = (long)(e >> Page.Shift);
        return new PfnRange(ps, Math.Max(ps, pe), nid);
    }

    /// <summary>Models memblock_is_region_memory(): [base, base + size) lies inside one memory region.</summary>
    public bool IsRegionMemory(ulong @base, ulong size)
    {
        long pfn = (long)(@base >> Page.Shift);
        int i = _memoryClean ? FirstEndingAfter(_memory, pfn) : 0;
        for (; i < _memory.Count; i++)
        {
            var r = _memory[i];
            if (Page.AddrOf(r.Start) <= @base && @base + size <= Page.AddrOf(r.End)) return true;
            if (_memoryClean) return false;
        }
        return false;
    }

    /// <summary>The node of the memory holding <paramref name="addr"/>, or -1.</summary>
    public int NidOf(ulong addr)
    {
        long pfn = (long)(addr >> Page.Shift);
        int i = FirstEndingAfter(_memory, pfn);
        return i < _memory.Count && _memory[i].Start <= pfn ? _memory[i].Nid : -1;
    }

    /// <summary>The first reserved range whose start is at or after <paramref name="addr"/>.</summary>
    private int FirstReservedStartingAtOrAfter(ulong addr) => FirstReservedAtOrAfter(addr, byEnd: false);

    /// <summary>The first reserved range whose end is at or after <paramref name="addr"/>.</summary>
    private int FirstReservedEndingAtOrAfter(ulong addr) => FirstReservedAtOrAfter(addr, byEnd: true);

    /// <summary>Binary search over the sorted, disjoint reserved ranges (their starts and ends both ascend).</summary>
    private int FirstReservedAtOrAfter(ulong addr, bool byEnd)
    {
        int lo = 0, hi = _reserved.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if ((byEnd ? _reserved[mid].End : _reserved[mid].Start) >= addr) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }

    private static long Overlap(List<PfnRange> list, bool clean, long start, long end, int nid)
    {
        long n = 0;
        for (int i = clean ? FirstEndingAfter(list, start) : 0; i < list.Count; i++)
        {
            var r = list[i];
            if (clean && r.Start >= end) break;
            if (nid >= 0 && r.Nid != nid) continue;
            long s = Math.Max(r.Start, start), e = Math.Min(r.End, end);
            if (s < e) n += e - s;
        }
        return n;
    }

    /// <summary>The first index whose range ends after <paramref name="pfn"/> (the list clean).</summary>
    private static int FirstEndingAfter(List<PfnRange> list, long pfn)
    {
        int lo = 0, hi = list.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (list[mid].End > pfn) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }

    /// <summary>The first index whose range starts after <paramref name="pfn"/> (the list sorted by start).</summary>
    private static int FirstStartingAfter(List<PfnRange> list, long pfn)
    {
        int lo = 0, hi = list.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (list[mid].Start > pfn) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }

    private static void Insert(List<PfnRange> list, long start, long end, int nid, ref bool clean)
    {
        if (end <= start) return;
        if (clean)
        {
            int p = FirstStartingAfter(list, start);
            if ((p == 0 || list[p - 1].End <= start) && (p == list.Count || end <= list[p].Start))
            {
                // Disjoint from every range: the sort puts it at p and the merge pass joins touching neighbours.
                if (p < list.Count && list[p].Start == end && list[p].Nid == nid)
                {
                    end = list[p].End;
                    list.RemoveAt(p);
                }
                if (p > 0 && list[p - 1].End == start && list[p - 1].Nid == nid)
                    list[p - 1] = list[p - 1] with { End = end };
                else
                    list.Insert(p, new PfnRange(start, end, nid));
                return;
            }
        }
        list.Add(new PfnRange(start, end, nid));
        list.Sort((a, b) => a.Start.CompareTo(b.Start));
        for (int i = list.Count - 1; i > 0; i--)
        {
            var a = list[i - 1];
            var b = list[i];
            if (a.End >= b.Start && a.Nid == b.Nid)
            {
                list[i - 1] = new PfnRange(a.Start, Math.Max(a.End, b.End), a.Nid);
                list.RemoveAt(i);
            }
        }
        clean = IsClean(list);
    }

    /// <summary>Sorted, pairwise disjoint, and no touching neighbours of one node left unmerged.</summary>
    private static bool IsClean(List<PfnRange> list)
    {
        for (int i = 1; i < list.Count; i++)
        {
            var a = list[i - 1];
            var b = list[i];
            if (a.End > b.Start || (a.End == b.Start && a.Nid == b.Nid)) return false;
        }
        return true;
    }
}
