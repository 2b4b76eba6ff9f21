using Numasim.Kernel.Mm;
using Numasim.Snapshots;

namespace Numasim.Kernel.Drivers;

/// <summary>The states of a memory block (include/linux/memory.h MEM_*), as memoryN/state prints them.</summary>
public enum MemoryBlockState : byte { Online, GoingOffline, Offline }

/// <summary>
/// struct memory_block, include/linux/memory.h: one sysfs memoryN device covering sections_per_block
/// sections. Carries its node, state and zone instead of any per-page array. The object is a handle: once added
/// (add_memory_block()) its values are a record of the kernel's block table in the compact state, found by id.
/// </summary>
public sealed class MemoryBlock
{
    private MemoryBlockTable? _table;
    private int _hint;
    private MemoryBlockRecord _detached;

    /// <summary>A block not yet added: its values are its own until <see cref="MemoryBlockTable.Add"/>.</summary>
    public MemoryBlock(long id, long startPfn, long nrPages, int nid, bool hotplugged)
    {
        Id = id;
        StartPfn = startPfn;
        NrPages = nrPages;
        _detached = new MemoryBlockRecord
        {
            Id = id, Nid = nid, State = MemoryBlockState.Offline, ZoneId = -1, Hotplugged = hotplugged, DeviceName = -1,
        };
    }

    internal MemoryBlock(MemoryBlockTable table, long id, long startPfn, long nrPages)
    {
        Id = id;
        StartPfn = startPfn;
        NrPages = nrPages;
        _table = table;
    }

    internal MemoryBlockRecord DetachedRecord => _detached;
    internal void Attach(MemoryBlockTable table) => _table = table;

    private ref readonly MemoryBlockRecord R
    {
        get
        {
            if (_table is null) return ref _detached;
            return ref _table.Row(Id, ref _hint);
        }
    }

    /// <summary>Write access to the values; <see cref="Done"/> after the change feeds the fingerprint.</summary>
    private ref MemoryBlockRecord Mut(out ulong before)
    {
        if (_table is null)
        {
            before = 0;
            return ref _detached;
        }
        ref var r = ref _table.MutRow(Id, ref _hint);
        before = r.Observed;
        return ref r;
    }

    private void Done(ulong before, in MemoryBlockRecord r) => _table?.Observe(r, before);

    /// <summary>Block id: memoryN.</summary>
    public long Id { get; }
    public long StartPfn { get; }
    public long NrPages { get; }
    public long EndPfn => StartPfn + NrPages;

    /// <summary>mem->nid: the node the block belongs to (NUMA_NO_NODE for a boot block spanning nodes).</summary>
    public int Nid
    {
        get => R.Nid;
        internal set
        {
            ref var r = ref Mut(out ulong b);
            r.Nid = value;
            Done(b, r);
        }
    }

    public MemoryBlockState State
    {
        get => R.State;
        internal set
        {
            ref var r = ref Mut(out ulong b);
            r.State = value;
            Done(b, r);
        }
    }

    /// <summary>mem->zone: the single zone an online block lies in; null when it spans zones (or is offline).</summary>
    public Zone? Zone
    {
        get => R.ZoneId < 0 ? null : (_table?.Kernel ?? throw new InvalidOperationException("block not added")).ZoneById(R.ZoneId);
        internal set
        {
            ref var r = ref Mut(out ulong b);
            r.ZoneId = value?.Id ?? -1;
            Done(b, r);
        }
    }

    /// <summary>The type of <see cref="Zone"/>, without resolving it (-1: none).</summary>
    internal int ZoneId => R.ZoneId;

    /// <summary>Created by add_memory() (ACPI memory device) rather than at boot: it then has a firmware_node link.</summary>
    public bool Hotplugged => R.Hotplugged;

    /// <summary>Pages of the block that are RAM (less than NrPages for a boot block with a firmware hole).</summary>
    public long PresentPages { get => R.PresentPages; internal set => Mut(out _).PresentPages = value; }

    /// <summary>The ACPI memory device (DIMM) this block belongs to, if hot-added.</summary>
    public string? DeviceId
    {
        get => R.DeviceName < 0 ? null : _table is null ? _detachedDevice : _table.Names[R.DeviceName];
        internal set
        {
            if (_table is null) { _detachedDevice = value; return; }
            int n = value is null ? -1 : _table.Names.Intern(value);
            Mut(out _).DeviceName = n;
        }
    }

    private string? _detachedDevice;
    internal string? DetachedDevice => _detachedDevice;

    /// <summary>Whether the block belongs to that ACPI memory device.</summary>
    public bool IsOfDevice(string deviceId) => R.DeviceName >= 0 && _table is not null && _table.Names.Is(R.DeviceName, deviceId);

    /// <summary>register_memory_block_under_node() made memoryN/nodeM and nodeM/memoryN (unregister removes the
    /// node's side only; the memoryN directory goes with the block).</summary>
    internal bool LinkedToNode { get => R.LinkedToNode; set => Mut(out _).LinkedToNode = value; }

    /// <summary>The DIMM slot of that device: QEMU declares one ACPI memory device per slot, PNP0C80:SS.</summary>
    public int AcpiSlot { get => R.AcpiSlot; internal set => Mut(out _).AcpiSlot = value; }

    /// <summary>mem->group: the memory group of the device that added the block (null for boot memory).</summary>
    public Hotplug.MemoryGroup? Group
    {
        get => R.GroupPlus1 == 0 ? null : _table is null ? _detachedGroup : _table.Kernel.MemoryGroups.Find(R.GroupPlus1 - 1);
        internal set
        {
            if (_table is null) _detachedGroup = value;
            Mut(out _).GroupPlus1 = value is null ? 0 : value.Id + 1;
        }
    }

    private Hotplug.MemoryGroup? _detachedGroup;

    /// <summary>mem->altmap->free (v6.12) / mem->nr_vmemmap_pages (v6.1): pages at the block's start that hold its own
    /// memmap (memory_hotplug.memmap_on_memory); 0 when the memmap lives elsewhere.</summary>
    public long NrVmemmapPages { get => R.NrVmemmapPages; internal set => Mut(out _).NrVmemmapPages = value; }

    /// <summary>The block has firmware holes (walk_system_ram_range() finds fewer pages than the block holds).</summary>
    public bool HasHoles => PresentPages != NrPages;

    /// <summary>phys_index: memory_block_id(start_section_nr), the block's id (start_section_nr / sections_per_block;
    /// the section number only while a block is one section).</summary>
    public long PhysIndex => Id;
}

/// <summary>A memory block's values in the block table.</summary>
internal record struct MemoryBlockRecord : ISortedRecord
{
    public readonly long SortKey => Id;

    public long Id;
    public long PresentPages;
    /// <summary>mem->altmap's vmemmap pages (memmap_on_memory).</summary>
    public long NrVmemmapPages;
    public int Nid;
    /// <summary>mem->group's id + 1 (0: no group).</summary>
    public int GroupPlus1;
    public int ZoneId;
    public int DeviceName;
    /// <summary>The DIMM slot of the ACPI memory device (PNP0C80:SS).</summary>
    public int AcpiSlot;
    public MemoryBlockState State;
    public bool Hotplugged;
    /// <summary>register_memory_block_under_node() made memoryN/nodeM and nodeM/memoryN.</summary>
    public bool LinkedToNode;

    /// <summary>What the fingerprint sees of a block: it exists, its node, state and zone type.</summary>
    public readonly ulong Observed => 1UL | (ulong)(uint)(Nid + 1) << 1 | (ulong)State << 34 | (ulong)(ZoneId < 0 ? 7 : ZoneId % ZoneTypes.MaxNrZones) << 36;
}
