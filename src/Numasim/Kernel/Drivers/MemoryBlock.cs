using Numasim.Kernel.Mm;

namespace Numasim.Kernel.Drivers;

/// <summary>The states of a memory block (include/linux/memory.h MEM_*), as memoryN/state prints them.</summary>
public enum MemoryBlockState { Online, GoingOffline, Offline }

/// <summary>
/// struct memory_block, include/linux/memory.h: one sysfs memoryN device covering sections_per_block
/// sections. Carries its node, state and zone instead of any per-page array.
/// </summary>
public sealed class MemoryBlock
{
    public MemoryBlock(long id, long startPfn, long nrPages, int nid, bool hotplugged)
    {
        Id = id;
        StartPfn = startPfn;
        NrPages = nrPages;
        Nid = nid;
        Hotplugged = hotplugged;
    }

    /// <summary>Block id: memoryN.</summary>
    public long Id { get; }
    public long StartPfn { get; }
    public long NrPages { get; }
    public long EndPfn => StartPfn + NrPages;

    /// <summary>mem->nid: the node the block belongs to (NUMA_NO_NODE for a boot block spanning nodes).</summary>
    public int Nid { get; internal set; }

    public MemoryBlockState State { get; internal set; } = MemoryBlockState.Offline;

    /// <summary>mem->zone: the single zone an online block lies in; null when it spans zones (or is offline).</summary>
    public Zone? Zone { get; internal set; }

    /// <summary>Created by add_memory() (ACPI memory device) rather than at boot: it then has a firmware_node link.</summary>
    public bool Hotplugged { get; }

    /// <summary>Pages of the block that are RAM (less than NrPages for a boot block with a firmware hole).</summary>
    public long PresentPages { get; internal set; }

    /// <summary>The ACPI memory device (DIMM) this block belongs to, if hot-added.</summary>
    public string? DeviceId { get; internal set; }

    /// <summary>The DIMM slot of that device: QEMU declares one ACPI memory device per slot, PNP0C80:SS.</summary>
    public int AcpiSlot { get; internal set; }

    /// <summary>mem->group: the memory group of the device that added the block (null for boot memory).</summary>
    public Hotplug.MemoryGroup? Group { get; internal set; }

    /// <summary>mem->altmap->free (v6.12) / mem->nr_vmemmap_pages (v6.1): pages at the block's start that hold its own
    /// memmap (memory_hotplug.memmap_on_memory); 0 when the memmap lives elsewhere.</summary>
    public long NrVmemmapPages { get; internal set; }

    /// <summary>The block has firmware holes (walk_system_ram_range() finds fewer pages than the block holds).</summary>
    public bool HasHoles => PresentPages != NrPages;

    /// <summary>phys_index: memory_block_id(start_section_nr), the block's id (start_section_nr / sections_per_block;
    /// the section number only while a block is one section).</summary>
    public long PhysIndex => Id;
}
