namespace Numasim.Kernel.Mm;

/// <summary>One boot-time reservation: the kernel function that made it (as memblock=debug names the caller), what
/// it is for, and its physical range in bytes. Ranges freed again during boot (pcpu unit tails, transient buffers)
/// are cut out.</summary>
public sealed record BootReservation(string Caller, string What, ulong Start, ulong End)
{
    public ulong Size => End - Start;
}

/// <summary>
/// The boot reservations as items (what `numasim boot --reservations` prints and the oracle compares with
/// memblock=debug), kept alongside <see cref="Memblock"/>'s merged reserved list, which alone decides what
/// memblock_free_all() frees. Every call goes to memblock first and records the item only when it succeeded.
/// </summary>
public sealed class BootReservations
{
    private readonly Memblock _mb;
    private readonly List<BootReservation> _items = [];

    public BootReservations(Memblock mb) => _mb = mb;

    public IReadOnlyList<BootReservation> Items => _items;

    /// <summary>memblock_reserve() of a known range.</summary>
    public void Reserve(string caller, string what, ulong start, ulong size)
    {
        if (size == 0) return;
        _mb.Reserve(start, size);
        Add(caller, what, start, size);
    }

    /// <summary>memblock_alloc_try_nid() family (see <see cref="Memblock.AllocTryNid"/>); 0 when nothing fits.</summary>
    public ulong Alloc(string caller, string what, ulong size, ulong align, int nid = -1, ulong min = 0, ulong max = ulong.MaxValue, bool exactNid = false)
    {
        ulong a = _mb.AllocTryNid(size, align, min, max, nid, exactNid);
        if (a != 0) Add(caller, what, a, size);
        return a;
    }

    /// <summary>memblock_phys_alloc_range(): no retry below <paramref name="min"/>, any node.</summary>
    public ulong AllocPhysRange(string caller, string what, ulong size, ulong align, ulong min, ulong max)
    {
        ulong a = _mb.AllocRange(size, align, min, max, -1);
        if (a != 0) Add(caller, what, a, size);
        return a;
    }

    /// <summary>Records an item for memory the caller reserved in memblock itself (a block whose parts are freed again).</summary>
    public void Record(string caller, string what, ulong start, ulong size) => Add(caller, what, start, size);

    /// <summary>Records an item; a run of top-down allocations of one kind (page tables, one per page) becomes one item.</summary>
    private void Add(string caller, string what, ulong start, ulong size)
    {
        if (_items.Count > 0 && _items[^1] is var last && last.Start == start + size && last.Caller == caller && last.What == what
            && size == (ulong)Page.Size)
            _items[^1] = last with { Start = start };
        else
            _items.Add(new BootReservation(caller, what, start, start + size));
    }

    /// <summary>memblock_phys_free() / memblock_free(): the range leaves memblock.reserved and the items.</summary>
    public void Free(ulong start, ulong size)
    {
        if (size == 0) return;
        _mb.PhysFree(start, size);
        ulong end = start + size, covered = 0;
        // frees hit recent items (transient buffers, the unit tails of the chunk just allocated): scan from the end
        for (int i = _items.Count - 1; i >= 0 && covered < size; i--)
        {
            var it = _items[i];
            if (it.End <= start || it.Start >= end) continue;
            covered += Math.Min(it.End, end) - Math.Max(it.Start, start);
            _items.RemoveAt(i);
            if (it.End > end) _items.Insert(i, it with { Start = end });
            if (it.Start < start) _items.Insert(i, it with { End = start });
        }
    }
}
