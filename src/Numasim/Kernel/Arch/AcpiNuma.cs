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

    /// <summary>Models memory_add_physaddr_to_nid(): the node of a hotpluggable SRAT range holding the address
    /// (numa_reserved_meminfo), else that of numa_meminfo's first block (node 0 on QEMU).</summary>
    public static int MemoryAddPhysaddrToNid(KernelContext k, ulong addr)
    {
        foreach (var (start, end, nid) in k.ReservedNumaMeminfo)
            if (addr >= start && addr < end) return nid;
        return k.Memblock.Memory.Count > 0 ? k.Memblock.Memory[0].Nid : 0;
    }
}
