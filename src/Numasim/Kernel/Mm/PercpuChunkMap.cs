namespace Numasim.Kernel.Mm;

/// <summary>
/// The allocation bitmap of the first chunk's dynamic area (mm/percpu.c: alloc_map and bound_map, one bit per
/// PCPU_MIN_ALLOC_SIZE of 4 bytes): where pcpu_alloc() places an area. Its block scan (pcpu_find_block_fit(),
/// pcpu_next_fit_region(), then pcpu_find_zero_area() from the block's first free bit) yields the lowest aligned
/// free run that fits, which is what this map computes directly.
/// </summary>
internal sealed class PercpuChunkMap
{
    /// <summary>PCPU_MIN_ALLOC_SIZE: the bitmap's granule.</summary>
    public const int MinAllocSize = 4;

    private readonly bool[] _used;
    private readonly Dictionary<int, int> _bitsAt = []; // bound_map: each area's start bit and length
    // The scan's shortcuts (pcpu_block_md's first_free and the chunk's free_bytes): no free bit below _firstFree, and
    // _free free bits in all, so a full map answers at once (8,192 CPUs' call_single_data do not fit).
    private int _firstFree, _free;

    /// <summary>A map of <paramref name="bytes"/> free bytes (the dynamic area's size).</summary>
    public PercpuChunkMap(int bytes)
    {
        _used = new bool[bytes / MinAllocSize];
        _free = _used.Length;
    }

    private void Take(int start, int end)
    {
        for (int b = start; b < end; b++)
            if (!_used[b])
            {
                _used[b] = true;
                _free--;
            }
        while (_firstFree < _used.Length && _used[_firstFree]) _firstFree++;
    }

    /// <summary>Marks [<paramref name="start"/>, <paramref name="end"/>) in use without an area of its own: what
    /// earlier allocations took that the model does not replay one by one.</summary>
    public void MarkUsed(int start, int end)
    {
        Take(start / MinAllocSize, (end + MinAllocSize - 1) / MinAllocSize);
    }

    /// <summary>Models pcpu_alloc_area(): the byte offset of a <paramref name="size"/>-byte area aligned to
    /// <paramref name="align"/> bytes, or -1 (ENOMEM: the model has no second chunk).</summary>
    public int Alloc(int size, int align)
    {
        int bits = (Math.Max(size, 1) + MinAllocSize - 1) / MinAllocSize;
        int step = Math.Max(align, MinAllocSize) / MinAllocSize;
        if (bits > _free) return -1;
        for (int start = (_firstFree + step - 1) / step * step; start + bits <= _used.Length; start += step)
        {
            int run = 0;
            while (run < bits && !_used[start + run]) run++;
            if (run < bits) continue;
            Take(start, start + bits);
            _bitsAt[start] = bits;
            return start * MinAllocSize;
        }
        return -1;
    }

    /// <summary>Models pcpu_free_area(): frees the area that starts at <paramref name="offset"/>.</summary>
    public void Free(int offset)
    {
        int start = offset / MinAllocSize;
        if (!_bitsAt.Remove(start, out int bits)) return;
        for (int b = start; b < start + bits; b++) _used[b] = false;
        _free += bits;
        _firstFree = Math.Min(_firstFree, start);
    }
}
