namespace Numasim.Firmware;

/// <summary>Structural comparison of two <see cref="MachineSpec"/>s (records compare their lists by reference).</summary>
public static class MachineSpecEquality
{
    /// <summary>Whether both describe the same machine.</summary>
    public static bool AreEqual(MachineSpec a, MachineSpec b) => Difference(a, b) is null;

    /// <summary>The first field that differs, or null when the specs are equal.</summary>
    public static string? Difference(MachineSpec a, MachineSpec b)
    {
        if (a.Name != b.Name) return $"name: '{a.Name}' != '{b.Name}'";
        if (a.RamBytes != b.RamBytes) return $"ram: {a.RamBytes} != {b.RamBytes}";
        if (a.MaxMemBytes != b.MaxMemBytes) return $"maxmem: {a.MaxMemBytes} != {b.MaxMemBytes}";
        if (a.Slots != b.Slots) return $"slots: {a.Slots} != {b.Slots}";
        if (a.Smp != b.Smp) return $"smp: {a.Smp} != {b.Smp}";
        if (!a.Nodes.SequenceEqual(b.Nodes)) return "nodes differ";
        if (!a.CpuSlots.SequenceEqual(b.CpuSlots))
        {
            var i = a.CpuSlots.Zip(b.CpuSlots).TakeWhile(p => p.First == p.Second).Count();
            return $"cpus differ at entry {i}";
        }
        if ((a.Distances is null) != (b.Distances is null)) return "distances given in one only";
        if (a.Distances is not null && b.Distances is not null &&
            (a.Distances.Count != b.Distances.Count || a.Distances.Zip(b.Distances).Any(p => !p.First.SequenceEqual(p.Second))))
            return "distances differ";
        if (!a.Backends.SequenceEqual(b.Backends)) return "backends differ";
        if (a.MemhpDefaultState != b.MemhpDefaultState) return $"memhp_default_state: {a.MemhpDefaultState} != {b.MemhpDefaultState}";
        if (a.CommandLine != b.CommandLine) return $"cmdline: '{a.CommandLine}' != '{b.CommandLine}'";
        if (!a.Devices.SelectMany(d => d).SequenceEqual(b.Devices.SelectMany(d => d)) || a.Devices.Count != b.Devices.Count) return "devices differ";
        if (a.MemoryBlockSizeBytes != b.MemoryBlockSizeBytes) return "memory_block_size differs";
        if (!a.OfflineBlocksAtBoot.SequenceEqual(b.OfflineBlocksAtBoot)) return "offline_blocks differ";
        if (a.FirmwareNodeIds != b.FirmwareNodeIds) return "firmware_node_ids differs";
        if (a.CpuidReportsSmt != b.CpuidReportsSmt) return "cpuid_reports_smt differs";
        if (a.ModelKernelAllocations != b.ModelKernelAllocations) return "kernel_allocations differs";
        if (a.KernelPhysAddr != b.KernelPhysAddr) return "kernel_phys_addr differs";
        if (a.InitrdBytes != b.InitrdBytes) return "initrd_size differs";
        return MachineFile.RealFactsDifference(a, b);
    }
}
