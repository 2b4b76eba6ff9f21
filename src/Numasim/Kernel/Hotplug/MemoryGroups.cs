using Numasim.Snapshots;

namespace Numasim.Kernel.Hotplug;

/// <summary>A memory group as a record of the compact state (the groups region is sorted by id).</summary>
internal struct MemoryGroupRecord : ISortedRecord
{
    public int Id, Nid;
    public bool IsDynamic;
    public long Pages, PresentKernelPages, PresentMovablePages;
    public readonly long SortKey => Id;
}

/// <summary>
/// struct memory_group, include/linux/memory.h: the hot-added memory of one device, so that the auto-movable
/// online policy can reason per device. A static group (an ACPI memory device, a DIMM) knows its size up front;
/// a dynamic one (virtio-mem) grows in units of <see cref="UnitPages"/>. A handle: its values (and the present
/// kernel/movable page counts adjust_present_page_count() keeps) are a record of <see cref="MemoryGroups"/>.
/// </summary>
public sealed class MemoryGroup
{
    private readonly StateArray<MemoryGroupRecord> _recs;

    internal MemoryGroup(StateArray<MemoryGroupRecord> recs, int id)
    {
        _recs = recs;
        Id = id;
    }

    private ref readonly MemoryGroupRecord R => ref _recs[_recs.SearchSorted(Id)];
    private ref MemoryGroupRecord M => ref _recs.Mut(_recs.SearchSorted(Id));

    /// <summary>The memory group id (mgid), as add_memory(MHP_NID_IS_MGID) is given it.</summary>
    public int Id { get; }
    public int Nid => R.Nid;
    public bool IsDynamic => R.IsDynamic;

    /// <summary>s.max_pages of a static group: the device's size in pages.</summary>
    public long MaxPages => R.IsDynamic ? 0 : R.Pages;

    /// <summary>d.unit_pages of a dynamic group: the granularity the driver adds memory in.</summary>
    public long UnitPages => R.IsDynamic ? R.Pages : 0;

    public long PresentKernelPages { get => R.PresentKernelPages; internal set => M.PresentKernelPages = value; }
    public long PresentMovablePages { get => R.PresentMovablePages; internal set => M.PresentMovablePages = value; }
}

/// <summary>drivers/base/memory.c's memory_groups xarray: memory_group_register_static()/_dynamic(),
/// memory_group_unregister(), memory_group_find_by_id(), walk_dynamic_memory_groups(). The groups are a region of
/// the compact state; the handles are cached per id (structure, the same for every state).</summary>
public sealed class MemoryGroups
{
    private readonly StateArray<MemoryGroupRecord> _groups;
    private readonly Dictionary<int, MemoryGroup> _handles = [];

    internal MemoryGroups(StateStore store) => _groups = new StateArray<MemoryGroupRecord>(store, "memory groups");

    private MemoryGroup Handle(int id)
    {
        if (!_handles.TryGetValue(id, out var h)) _handles[id] = h = new MemoryGroup(_groups, id);
        return h;
    }

    /// <summary>Models memory_group_register(): the lowest free id (xa_alloc() from 0).</summary>
    private int Register(int nid, bool isDynamic, long pages)
    {
        int id = 0;
        while (_groups.SearchSorted(id) >= 0) id++;
        _groups.Insert(~_groups.SearchSorted(id), new MemoryGroupRecord { Id = id, Nid = nid, IsDynamic = isDynamic, Pages = pages });
        return id;
    }

    /// <summary>Models memory_group_register_static(): -EINVAL without pages.</summary>
    public int RegisterStatic(int nid, long maxPages) => maxPages <= 0 ? -(int)Errno.EINVAL : Register(nid, false, maxPages);

    /// <summary>Models memory_group_register_dynamic(): -EINVAL unless unit_pages is a power of two.</summary>
    public int RegisterDynamic(int nid, long unitPages) =>
        unitPages <= 0 || (unitPages & (unitPages - 1)) != 0 ? -(int)Errno.EINVAL : Register(nid, true, unitPages);

    /// <summary>Models memory_group_unregister(): -EBUSY while memory of the group is present.</summary>
    public Errno Unregister(int id)
    {
        int i = _groups.SearchSorted(id);
        if (i < 0) return Errno.EINVAL;
        ref readonly var g = ref _groups[i];
        if (g.PresentKernelPages + g.PresentMovablePages > 0) return Errno.EBUSY;
        _groups.RemoveAt(i);
        return Errno.None;
    }

    /// <summary>Models memory_group_find_by_id().</summary>
    public MemoryGroup? Find(int id) => id >= 0 && _groups.SearchSorted(id) >= 0 ? Handle(id) : null;

    /// <summary>Models walk_dynamic_memory_groups(): the dynamic groups of the node (all for NUMA_NO_NODE) but
    /// <paramref name="excluded"/>, by id.</summary>
    public IEnumerable<MemoryGroup> Dynamic(int nid, MemoryGroup? excluded)
    {
        for (int i = 0; i < _groups.Length; i++)
        {
            var g = _groups[i];
            if (g.IsDynamic && g.Id != excluded?.Id && (nid < 0 || g.Nid == nid)) yield return Handle(g.Id);
        }
    }
}
