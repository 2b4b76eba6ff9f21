namespace Numasim.Kernel.Hotplug;

/// <summary>
/// struct memory_group, include/linux/memory.h: the hot-added memory of one device, so that the auto-movable
/// online policy can reason per device. A static group (an ACPI memory device, a DIMM) knows its size up front;
/// a dynamic one (virtio-mem) grows in units of <see cref="UnitPages"/>. Mutable kernel state: the present
/// kernel/movable page counts adjust_present_page_count() keeps.
/// </summary>
public sealed class MemoryGroup
{
    internal MemoryGroup(int id, int nid, bool isDynamic, long pages)
    {
        Id = id;
        Nid = nid;
        IsDynamic = isDynamic;
        if (isDynamic) UnitPages = pages; else MaxPages = pages;
    }

    /// <summary>The memory group id (mgid), as add_memory(MHP_NID_IS_MGID) is given it.</summary>
    public int Id { get; }
    public int Nid { get; }
    public bool IsDynamic { get; }

    /// <summary>s.max_pages of a static group: the device's size in pages.</summary>
    public long MaxPages { get; }

    /// <summary>d.unit_pages of a dynamic group: the granularity the driver adds memory in.</summary>
    public long UnitPages { get; }

    public long PresentKernelPages { get; internal set; }
    public long PresentMovablePages { get; internal set; }
}

/// <summary>drivers/base/memory.c's memory_groups xarray: memory_group_register_static()/_dynamic(),
/// memory_group_unregister(), memory_group_find_by_id(), walk_dynamic_memory_groups().</summary>
public sealed class MemoryGroups
{
    private readonly SortedDictionary<int, MemoryGroup> _groups = [];

    /// <summary>Models memory_group_register(): the lowest free id (xa_alloc() from 0).</summary>
    private int Register(int nid, bool isDynamic, long pages)
    {
        int id = 0;
        while (_groups.ContainsKey(id)) id++;
        _groups[id] = new MemoryGroup(id, nid, isDynamic, pages);
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
        if (!_groups.TryGetValue(id, out var g)) return Errno.EINVAL;
        if (g.PresentKernelPages + g.PresentMovablePages > 0) return Errno.EBUSY;
        _groups.Remove(id);
        return Errno.None;
    }

    public MemoryGroup? Find(int id) => _groups.GetValueOrDefault(id);

    /// <summary>Models walk_dynamic_memory_groups(): the dynamic groups of the node (all for NUMA_NO_NODE) but
    /// <paramref name="excluded"/>, by id.</summary>
    public IEnumerable<MemoryGroup> Dynamic(int nid, MemoryGroup? excluded)
    {
        foreach (var g in _groups.Values)
            if (g.IsDynamic && g != excluded && (nid < 0 || g.Nid == nid)) yield return g;
    }
}
