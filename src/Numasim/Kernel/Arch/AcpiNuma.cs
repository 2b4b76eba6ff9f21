using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Arch;

/// <summary>How a hot-added device's proximity domain becomes a node: pxm_to_node() (drivers/acpi/numa/srat.c) and
/// memory_add_physaddr_to_nid() / phys_to_target_node() (arch/x86/mm/numa.c).</summary>
internal static class AcpiNuma
{
    /// <summary>Models pxm_to_node(): the node SRAT gave the PXM; NUMA_NO_NODE without one (no SRAT, numa=off).</summary>
    public static int PxmToNode(KernelContext k, int pxm)
    {
        if (pxm < 0 || k.Boot.NumaOff) return NumaConstants.NumaNoNode;
        return k.PxmToNode.TryGetValue(pxm, out var nid) ? nid : NumaConstants.NumaNoNode;
    }

    /// <summary>Models memory_add_physaddr_to_nid() (arch/x86/mm/numa.c 6.1, mm/numa_memblks.c 6.12): the node of the
    /// numa_meminfo block holding the address, else that of numa_meminfo's first block (node 0 on QEMU). Hotpluggable
    /// SRAT ranges beyond boot memory were moved to numa_reserved_meminfo by numa_cleanup_meminfo(), which only
    /// phys_to_target_node() reads: a DIMM whose _PXM SRAT never named lands on node 0 (oracle fuzz, 6.1).</summary>
    public static int MemoryAddPhysaddrToNid(KernelContext k, ulong addr)
    {
        long pfn = Page.PfnOf(addr);
        foreach (var r in k.Memblock.Memory)
            if (pfn >= r.Start && pfn < r.End) return r.Nid;
        return k.Memblock.Memory.Count > 0 ? k.Memblock.Memory[0].Nid : 0;
    }
}
