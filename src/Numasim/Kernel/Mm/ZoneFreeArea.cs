namespace Numasim.Kernel.Mm;

/// <summary>Boot-time free-area accounting: memory handed to the buddy in the largest aligned blocks
/// (__free_pages_memory()). Replaced by the buddy allocator's own free lists.</summary>
internal sealed class ZoneFreeArea
{
    private readonly long[] _nrFree = new long[11];

    public long NrFree(int order) => _nrFree[order];

    /// <summary>Models __free_pages_memory(): the range goes in as the largest naturally aligned blocks.</summary>
    public long AddRange(long start, long end)
    {
        long pfn = start, n = 0;
        while (pfn < end)
        {
            int order = pfn == 0 ? 10 : Math.Min(10, System.Numerics.BitOperations.TrailingZeroCount(pfn));
            while (pfn + (1L << order) > end) order--;
            _nrFree[order]++;
            pfn += 1L << order;
            n += 1L << order;
        }
        return n;
    }
}
