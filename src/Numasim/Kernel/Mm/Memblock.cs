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
public sealed class Memblock
{
    private readonly List<PfnRange> _memory = [];
    private readonly List<PfnRange> _reserved = [];

    public IReadOnlyList<PfnRange> Memory => _memory;
    public IReadOnlyList<PfnRange> Reserved => _reserved;

    /// <summary>Models memblock_add(): ranges are kept sorted and merged when adjacent on the same node.</summary>
    public void Add(long start, long end, int nid = -1) => Insert(_memory, start, end, nid);

    /// <summary>Models memblock_reserve().</summary>
    public void Reserve(long start, long end, int nid = -1) => Insert(_reserved, start, end, nid);

    /// <summary>Models memblock_set_node(): assigns a node to the memory in [start, end).</summary>
    public void SetNode(long start, long end, int nid)
    {
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
    }

    /// <summary>Pages of memory in [start, end) (the complement of absent_pages_in_range()).</summary>
    public long PresentIn(long start, long end, int nid = -1) => Overlap(_memory, start, end, nid);

    /// <summary>Reserved pages that are memory in [start, end).</summary>
    public long ReservedIn(long start, long end)
    {
        long n = 0;
        foreach (var r in _reserved)
        {
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
                PfnRange? clash = null;
                for (int k = _reserved.Count - 1; k >= 0; k--)
                    if (_reserved[k].Start < end && _reserved[k].End > start) { clash = _reserved[k]; break; }
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
            foreach (var r in _reserved)
            {
                if (r.End <= cur || r.Start >= m.End) continue;
                if (r.Start > cur) yield return new PfnRange(cur, r.Start, m.Nid);
                cur = Math.Max(cur, r.End);
            }
            if (cur < m.End) yield return new PfnRange(cur, m.End, m.Nid);
        }
    }

    private static long Overlap(List<PfnRange> list, long start, long end, int nid)
    {
        long n = 0;
        foreach (var r in list)
        {
            if (nid >= 0 && r.Nid != nid) continue;
            long s = Math.Max(r.Start, start), e = Math.Min(r.End, end);
            if (s < e) n += e - s;
        }
        return n;
    }

    private static void Insert(List<PfnRange> list, long start, long end, int nid)
    {
        if (end <= start) return;
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
    }
}
