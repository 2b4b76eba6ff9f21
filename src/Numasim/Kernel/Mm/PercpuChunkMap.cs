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

    /// <summary>A map of <paramref name="bytes"/> free bytes (the dynamic area's size).</summary>
    public PercpuChunkMap(int bytes) => _used = new bool[bytes / MinAllocSize];

    /// <summary>Marks [<paramref name="start"/>, <paramref name="end"/>) in use without an area of its own: what
    /// earlier allocations took that the model does not replay one by one.</summary>
    public void MarkUsed(int start, int end)
    {
        for (int b = start / MinAllocSize; b < (end + MinAllocSize - 1) / MinAllocSize; b++) _used[b] = true;
    }

    /// <summary>Models pcpu_alloc_area(): the byte offset of a <paramref name="size"/>-byte area aligned to
    /// <paramref name="align"/> bytes, or -1 (ENOMEM: the model has no second chunk).</summary>
    public int Alloc(int size, int align)
    {
        int bits = (Math.Max(size, 1) + MinAllocSize - 1) / MinAllocSize;
        int step = Math.Max(align, MinAllocSize) / MinAllocSize;
        for (int start = 0; start + bits <= _used.Length; start += step)
        {
            int run = 0;
            while (run < bits && !_used[start + run]) run++;
            if (run < bits) continue;
            for (int b = start; b < start + bits; b++) _used[b] = true;
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
    }
}
