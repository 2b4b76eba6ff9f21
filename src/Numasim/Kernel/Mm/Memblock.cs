namespace Numasim.Kernel.Mm;

/// <summary>A physical range [Start, End) in pages with the node it belongs to.</summary>
public readonly record struct PfnRange(long Start, long End, int Nid)
{
    public long Count => End - Start;
}

/// <summary>
/// mm/memblock.c: the boot-time memory map (memblock.memory) and the boot-time reservations
/// (memblock.reserved), both in pages. Only what free_area_init() and memblock_free_all() need.
/// </summary>
/// <remarks>
/// Each list is kept sorted by start. While a list is also "clean" (its ranges pairwise disjoint, no two neighbours
/// mergeable) an insertion disjoint from it is placed by binary search and merged with its neighbours only, and the
/// lookups below binary-search; that is what the full sort and merge pass would produce. Anything else (overlapping
/// reservations, a memblock_set_node() split) takes the original whole-list path, which stays the definition.
/// </remarks>
public sealed class Memblock
{
    private readonly List<PfnRange> _memory = [];
    private readonly List<PfnRange> _reserved = [];
    private bool _memoryClean = true, _reservedClean = true;

    public IReadOnlyList<PfnRange> Memory => _memory;
    public IReadOnlyList<PfnRange> Reserved => _reserved;

    /// <summary>Models memblock_add(): ranges are kept sorted and merged when adjacent on the same node.</summary>
    public void Add(long start, long end, int nid = -1) => Insert(_memory, start, end, nid, ref _memoryClean);

    /// <summary>Models memblock_reserve().</summary>
    public void Reserve(long start, long end, int nid = -1) => Insert(_reserved, start, end, nid, ref _reservedClean);

    /// <summary>Models memblock_set_node(): assigns a node to the memory in [start, end).</summary>
    public void SetNode(long start, long end, int nid)
    {
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

    /// <summary>Reserved pages that are memory in [start, end).</summary>
    public long ReservedIn(long start, long end)
    {
        long n = 0;
        for (int i = _reservedClean ? FirstEndingAfter(_reserved, start) : 0; i < _reserved.Count; i++)
        {
            var r = _reserved[i];
            if (_reservedClean && r.Start >= end) break;
            long s = Math.Max(r.Start, start), e = Math.Min(r.End, end);
            if (s < e) n += PresentIn(s, e);
        }
        return n;
    }

    /// <summary>Models memblock_phys_alloc_range() top-down within a node: reserves <paramref name="pages"/>
    /// below <paramref name="limitPfn"/> in the highest free memory of the node; returns the start pfn or -1.</summary>
    public long AllocTopDown(long pages, int nid, long limitPfn = long.MaxValue)
    {
        for (int i = _memory.Count - 1; i >= 0; i--)
        {
            var m = _memory[i];
            if (nid >= 0 && m.Nid != nid) continue;
            long end = Math.Min(m.End, limitPfn);
            while (end - pages >= m.Start)
            {
                long start = end - pages;
                PfnRange? clash = LastReservedOverlapping(start, end);
                if (clash is null)
                {
                    Reserve(start, end, m.Nid);
                    return start;
                }
                end = clash.Value.Start;
            }
        }
        return -1;
    }

    /// <summary>The free (memory and not reserved) ranges, ascending: what memblock_free_all() hands to the buddy.</summary>
    public IEnumerable<PfnRange> FreeRanges()
    {
        foreach (var m in _memory)
        {
            long cur = m.Start;
            for (int i = _reservedClean ? FirstEndingAfter(_reserved, m.Start) : 0; i < _reserved.Count; i++)
            {
                var r = _reserved[i];
                if (_reservedClean && r.Start >= m.End) break;
                if (r.End <= cur || r.Start >= m.End) continue;
                if (r.Start > cur) yield return new PfnRange(cur, r.Start, m.Nid);
                cur = Math.Max(cur, r.End);
            }
            if (cur < m.End) yield return new PfnRange(cur, m.End, m.Nid);
        }
    }

    /// <summary>The reservation of highest index that overlaps [start, end), as a scan from the end finds it.</summary>
    private PfnRange? LastReservedOverlapping(long start, long end)
    {
        if (!_reservedClean)
        {
            for (int k = _reserved.Count - 1; k >= 0; k--)
                if (_reserved[k].Start < end && _reserved[k].End > start) return _reserved[k];
            return null;
        }
        // Disjoint and sorted: only the last range starting below end can overlap, or none does.
        int i = FirstStartingAfter(_reserved, end - 1) - 1;
        return i >= 0 && _reserved[i].End > start ? _reserved[i] : null;
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
