namespace Numasim.Firmware;

/// <summary>E820 entry types (arch/x86/include/asm/e820/types.h).</summary>
public enum E820Type : uint { Ram = 1, Reserved = 2, Acpi = 3, Nvs = 4, Unusable = 5, Pmem = 7, Pram = 12, SoftReserved = 0xefffffff }

/// <summary>The names e820_type_to_string() gives the types (/sys/firmware/memmap/N/type, /proc/iomem).</summary>
public static class E820TypeNames
{
    public static string Name(E820Type t) => t switch
    {
        E820Type.Ram => "System RAM",
        E820Type.Acpi => "ACPI Tables",
        E820Type.Nvs => "ACPI Non-volatile Storage",
        E820Type.Unusable => "Unusable memory",
        E820Type.Pram => "Persistent Memory (legacy)",
        E820Type.Pmem => "Persistent Memory",
        E820Type.SoftReserved => "Soft Reserved",
        _ => "Reserved",
    };

    /// <summary>The type a name stands for, or null.</summary>
    public static E820Type? Parse(string name) =>
        Enum.GetValues<E820Type>().Cast<E820Type?>().FirstOrDefault(t => Name(t!.Value) == name);
}

/// <summary>One entry of the BIOS memory map: [Start, Start+Size).</summary>
public readonly record struct E820Entry(ulong Start, ulong Size, E820Type Type)
{
    public ulong End => Start + Size;
}

/// <summary>A processor as the MADT lists it: APIC id and whether it is enabled (present) at boot; QEMU
/// lists every possible CPU, the not-yet-plugged ones disabled. Topology ids are what CPUID reports.</summary>
public readonly record struct MadtCpu(uint ApicId, bool Enabled, int SocketId, int DieId, int CoreId, int ThreadId, int ClusterId = -1, int ComputeUnitId = -1);

/// <summary>SRAT Processor Local APIC Affinity: APIC id -> proximity domain.</summary>
public readonly record struct SratCpuAffinity(uint ApicId, int Pxm);

/// <summary>SRAT Memory Affinity: [Base, Base+Length) -> proximity domain, hotpluggable flag.</summary>
public readonly record struct SratMemoryAffinity(ulong Base, ulong Length, int Pxm, bool Hotpluggable)
{
    public ulong End => Base + Length;
}

/// <summary>The pc machine's device-memory region for DIMMs (hw/i386/pc.c): from Base, Size bytes, Slots DIMMs.</summary>
public readonly record struct DeviceMemoryRegion(ulong Base, ulong Size, int Slots)
{
    public ulong End => Base + Size;
}

/// <summary>
/// What the kernel reads from firmware at boot: the E820 map, MADT processors, SRAT, SLIT and the
/// device-memory region. Built from a <see cref="MachineSpec"/> by <c>PcMachine.Build</c>.
/// </summary>
public sealed record FirmwareTables
{
    public required IReadOnlyList<E820Entry> E820 { get; init; }
    public required IReadOnlyList<MadtCpu> Cpus { get; init; }

    /// <summary>SRAT CPU entries in table order (QEMU: every possible CPU, in CPU index order). Empty without NUMA.</summary>
    public required IReadOnlyList<SratCpuAffinity> SratCpus { get; init; }

    /// <summary>SRAT memory entries in table order (boot RAM per node; the device-memory region last, hotpluggable).</summary>
    public required IReadOnlyList<SratMemoryAffinity> SratMemory { get; init; }

    /// <summary>SRAT Generic Initiator Affinity entries: their proximity domains.</summary>
    public IReadOnlyList<int> SratGenericInitiators { get; init; } = [];

    /// <summary>SLIT as [pxm][pxm] distances, null when QEMU emits none (no -numa dist given).</summary>
    public IReadOnlyList<IReadOnlyList<int>>? Slit { get; init; }

    public DeviceMemoryRegion? DeviceMemory { get; init; }

    /// <summary>The HMAT (-machine hmat=on), null when QEMU emits none.</summary>
    public HmatTable? Hmat { get; init; }

    /// <summary>DIMMs plugged before boot, which the kernel finds as ACPI memory devices while it boots.</summary>
    public IReadOnlyList<PluggedDimm> ColdPlugged { get; init; } = [];

    /// <summary>Whether an SRAT exists at all (QEMU emits one only with -numa).</summary>
    public bool HasSrat => SratCpus.Count > 0 || SratMemory.Count > 0;
}
