using Numasim.Snapshots;

namespace Numasim.Kernel.Drivers;

/// <summary>
/// The memory block devices (drivers/base/memory.c memory_blocks xarray) as a table of records in the compact
/// state, sorted by block id, with the ACPI memory device names they belong to. <see cref="MemoryBlock"/> objects
/// are handles into it, made once per id and shared by every state.
/// </summary>
public sealed class MemoryBlockTable
{
    private readonly StateArray<MemoryBlockRecord> _rows;
    private readonly Dictionary<long, MemoryBlock> _handles = [];

    internal MemoryBlockTable(KernelContext k)
    {
        Kernel = k;
        _rows = new StateArray<MemoryBlockRecord>(k.State, "memory blocks");
        Names = new StateStrings(k.State, "memory device names");
    }

    internal KernelContext Kernel { get; }

    /// <summary>ACPI memory device ids of the blocks.</summary>
    internal StateStrings Names { get; }

    public int Count => _rows.Length;

    private int Find(long id) => _rows.SearchSorted(id);

    private int RowIndex(long id, ref int hint)
    {
        if ((uint)hint < (uint)_rows.Length && _rows[hint].Id == id) return hint;
        int i = Find(id);
        if (i < 0) throw new InvalidOperationException($"memory{id} is not a memory block (removed, or never added)");
        return hint = i;
    }

    internal ref readonly MemoryBlockRecord Row(long id, ref int hint) => ref _rows[RowIndex(id, ref hint)];
    internal ref MemoryBlockRecord MutRow(long id, ref int hint) => ref _rows.Mut(RowIndex(id, ref hint));

    internal void Observe(in MemoryBlockRecord r, ulong before) =>
        Kernel.State.Observe(Zobrist.Key(FieldKind.Block, r.Id), before, r.Observed, r.Hotplugged ? (ulong)FieldKind.Block : 0);

    /// <summary>The block of an id, or null.</summary>
    public MemoryBlock? Find(long id, bool _ = false)
    {
        int i = Find(id);
        return i < 0 ? null : Handle(_rows[i].Id);
    }

    private MemoryBlock Handle(long id)
    {
        // Low ids (every block of a small machine) from an array, the rest from the dictionary.
        var h = (ulong)id < (ulong)_smallHandles.Length ? _smallHandles[id] : _handles.GetValueOrDefault(id);
        if (h is null) SetHandle(id, h = NewHandle(id));
        return h;
    }

    private const long SmallIds = 4096;
    private MemoryBlock?[] _smallHandles = [];

    private void SetHandle(long id, MemoryBlock mb)
    {
        if ((ulong)id < SmallIds)
        {
            if (id >= _smallHandles.Length) Array.Resize(ref _smallHandles, (int)Math.Min(SmallIds, Math.Max(64, id * 2)));
            _smallHandles[id] = mb;
        }
        else _handles[id] = mb;
    }

    private MemoryBlock NewHandle(long id)
    {
        long ppb = Kernel.PagesPerBlock;
        return new MemoryBlock(this, id, id * ppb, ppb);
    }

    /// <summary>Every block, ascending id.</summary>
    public IEnumerable<MemoryBlock> All()
    {
        for (int i = 0; i < _rows.Length; i++) yield return Handle(_rows[i].Id);
    }

    /// <summary>The block at position i of the id order (no enumerator: for loops on hot paths).</summary>
    public MemoryBlock At(int i) => Handle(_rows[i].Id);

    /// <summary>The record at position i (read only).</summary>
    internal ref readonly MemoryBlockRecord RecordAt(int i) => ref _rows[i];

    /// <summary>Whether any block belongs to the node (try_offline_node()'s walk).</summary>
    public bool AnyOnNode(int nid)
    {
        foreach (ref readonly var r in _rows.Items)
            if (r.Nid == nid) return true;
        return false;
    }

    /// <summary>Adds a block made with <see cref="MemoryBlock(long, long, long, int, bool)"/>: from now on its values live here.</summary>
    internal void Add(MemoryBlock mb)
    {
        if (mb.NrPages != Kernel.PagesPerBlock || mb.StartPfn != mb.Id * mb.NrPages)
            throw new InvalidOperationException($"memory{mb.Id}: a block covers one block-sized range at its id");
        int i = Find(mb.Id);
        if (i >= 0) throw new InvalidOperationException($"memory{mb.Id} exists");
        var rec = mb.DetachedRecord;
        var device = mb.DetachedDevice;
        rec.DeviceName = device is null ? -1 : Names.Intern(device);
        _rows.Insert(~i, rec);
        mb.Attach(this);
        SetHandle(mb.Id, mb);
        Kernel.State.Observe(Zobrist.Key(FieldKind.Block, rec.Id), 0, rec.Observed, rec.Hotplugged ? (ulong)FieldKind.Block : 0);
    }

    /// <summary>Removes a block (remove_memory_block()).</summary>
    internal void Remove(long id)
    {
        int i = Find(id);
        if (i < 0) return;
        var rec = _rows[i];
        _rows.RemoveAt(i);
        Kernel.State.Observe(Zobrist.Key(FieldKind.Block, rec.Id), rec.Observed, 0, rec.Hotplugged ? (ulong)FieldKind.Block : 0);
    }
}
