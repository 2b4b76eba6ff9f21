namespace Numasim.Firmware;

/// <summary>
/// What a real machine has beyond QEMU's pc defaults: its physical memory map, DIMMs plugged before boot, the block
/// states its user left, its own boot reservations, and what its CPUs report (caches, /proc/cpuinfo identity,
/// vulnerabilities, frequencies). Mostly written by <c>numasim import</c>; each has a default a QEMU machine shows.
/// </summary>
public sealed partial record MachineSpec
{
    /// <summary>Boot RAM as the firmware's memory map (E820) and SRAT give it, in address order; null for QEMU pc's
    /// layout (RAM from 0, split at the PCI hole, <see cref="PcMachine.SplitRam"/>).</summary>
    public IReadOnlyList<BootRamRange>? BootMemory { get; init; }

    /// <summary>The firmware map's other ranges (reserved, ACPI...) of a machine whose boot RAM is given.</summary>
    public IReadOnlyList<E820Entry> FirmwareReserved { get; init; } = [];

    /// <summary>DIMMs plugged before boot (<c>-object memory-backend-ram -device pc-dimm</c>): the kernel adds them
    /// as ACPI memory devices while it boots, as it adds a hot-plugged one.</summary>
    public IReadOnlyList<ColdDimmSpec> Dimms { get; init; } = [];

    /// <summary>Where the device-memory region for DIMMs starts; null for pc's rule (4 GiB + RAM above 4 GiB, rounded up to 1 GiB).</summary>
    public ulong? DeviceMemoryBase { get; init; }

    /// <summary>Blocks of DIMMs plugged before boot given an online type other than the default policy's at their
    /// add (as a udev rule or the machine's user chose it): "offline", "online", "online_kernel", "online_movable".</summary>
    public IReadOnlyList<BlockStateSpec> BlockStates { get; init; } = [];

    /// <summary>Imported machines: each node's MemTotal as the machine showed it. Boot then keeps the machine's own
    /// reservations (present pages minus MemTotal) instead of the model's estimate of them.</summary>
    public IReadOnlyList<NodeMemTotalSpec> MemTotals { get; init; } = [];

    /// <summary>Imported machines: blocks the machine showed not removable (kernels before 5.7 computed it per block):
    /// its reservations lie there.</summary>
    public IReadOnlyList<int> UnremovableBlocks { get; init; } = [];

    /// <summary>Logical CPU numbers are the firmware's (the slot index), as on architectures that number CPUs from
    /// the device tree, instead of x86's dense numbering of present CPUs in MADT order: sparse ids stay sparse.</summary>
    public bool FirmwareCpuIds { get; init; }

    /// <summary>/proc/cpuinfo identity per group of CPUs (x86 show_cpuinfo() fields other than the topology ones);
    /// null for QEMU's qemu64 model.</summary>
    public IReadOnlyList<CpuInfoSpec>? CpuInfo { get; init; }

    /// <summary>The CPU caches as cacheinfo shows them (cpu/cpuN/cache/indexK); null for QEMU's qemu64 caches.</summary>
    public IReadOnlyList<CacheSpec>? Caches { get; init; }

    /// <summary>/sys/devices/system/cpu/vulnerabilities, name and text; null for what 6.1 shows on qemu64 under TCG.</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? Vulnerabilities { get; init; }

    /// <summary>cpuN/cpufreq frequencies per group of CPUs; empty: no cpufreq driver (a QEMU guest has none).</summary>
    public IReadOnlyList<CpuFreqSpec> CpuFreq { get; init; } = [];

    /// <summary>cpu/cpufreq/boost of that driver (1: frequency boost enabled); null: not shown.</summary>
    public int? CpuFreqBoost { get; init; }

    /// <summary>nodeN/memory_side_cache/indexK (HMAT memory-side caches).</summary>
    public IReadOnlyList<MemorySideCacheSpec> MemorySideCaches { get; init; } = [];

    /// <summary>HMAT access classes: a memory node's best initiators and their performance (nodeN/accessK).</summary>
    public IReadOnlyList<NodeAccessSpec> NodeAccess { get; init; } = [];

    /// <summary>Nodes the SRAT names as generic initiators (devices that start memory accesses, no CPU, no memory):
    /// online, in has_generic_initiator.</summary>
    public IReadOnlyList<int> GenericInitiatorNodes { get; init; } = [];

    /// <summary>Nodes the SRAT names only in a hotpluggable memory range: possible, online once memory arrives.</summary>
    public IReadOnlyList<int> HotplugOnlyNodes { get; init; } = [];
}

/// <summary>Boot RAM [Start, Start+Size) on a node.</summary>
public sealed record BootRamRange(ulong Start, ulong Size, int Node)
{
    public ulong End => Start + Size;
}

/// <summary>A DIMM plugged before boot: QOM id, size, node, and the address and slot QEMU gave it (null: QEMU's
/// choice, the first free ones).</summary>
public sealed record ColdDimmSpec(string Id, ulong SizeBytes, int Node, ulong? Address = null, int? Slot = null)
{
    /// <summary>The memory backend QEMU needs for it (-object memory-backend-ram,id=...).</summary>
    public string Memdev => "mem-" + Id;
}

/// <summary>The online type a block of a cold-plugged DIMM gets at its add.</summary>
public sealed record BlockStateSpec(int Block, string State);

/// <summary>A node's MemTotal in kB, as nodeN/meminfo showed it.</summary>
public sealed record NodeMemTotalSpec(int Node, ulong MemTotalKb);

/// <summary>One /proc/cpuinfo identity shared by <see cref="Cpus"/>: the x86 fields in show_cpuinfo() order.</summary>
public sealed record CpuInfoSpec(IReadOnlyList<int> Cpus, IReadOnlyList<KeyValuePair<string, string>> Fields);

/// <summary>
/// One cache instance of cacheinfo (include/linux/cacheinfo.h struct cacheinfo): cpu/cpuN/cache/indexK of every CPU in
/// <see cref="Cpus"/>, which share it. Null fields are files the leaf does not show (cache_default_attrs' is_visible).
/// <see cref="Ids"/> holds one id for all the CPUs, or one per CPU in <see cref="Cpus"/> order (x86's id is the APIC id
/// shifted by the sharing width, so CPUs sharing an AMD legacy L3 each show their own).
/// </summary>
public sealed record CacheSpec(int Index, IReadOnlyList<int> Cpus)
{
    public int? Level { get; init; }
    /// <summary>"Data", "Instruction" or "Unified".</summary>
    public string? Type { get; init; }
    public ulong? SizeKb { get; init; }
    public int? Ways { get; init; }
    public int? LineSize { get; init; }
    public int? Sets { get; init; }
    public int? Partition { get; init; }
    /// <summary>"WriteThrough" or "WriteBack".</summary>
    public string? WritePolicy { get; init; }
    /// <summary>"ReadAllocate", "WriteAllocate" or "ReadWriteAllocate".</summary>
    public string? AllocationPolicy { get; init; }
    public IReadOnlyList<int>? Ids { get; init; }

    /// <summary>The CPUs shared_cpu_map names when they are not <see cref="Cpus"/> (a tree whose CPUs disagree on what
    /// they share: each CPU's struct cacheinfo has its own map); null: <see cref="Cpus"/>.</summary>
    public IReadOnlyList<int>? Shared { get; init; }

    /// <summary>The id file of <paramref name="cpu"/>, one of <see cref="Cpus"/>; null when the leaf shows none.</summary>
    public int? IdOf(int cpu)
    {
        if (Ids is null || Ids.Count == 0) return null;
        if (Ids.Count == 1) return Ids[0];
        for (int i = 0; i < Cpus.Count; i++) if (Cpus[i] == cpu) return Ids[i];
        return null;
    }
}

/// <summary>cpuN/cpufreq of a cpufreq driver that reports fixed frequencies (kHz); null: the file is not shown.</summary>
public sealed record CpuFreqSpec(IReadOnlyList<int> Cpus, long? MaxKhz, long? MinKhz, long? CurKhz);

/// <summary>nodeN/accessK/initiators of a memory node: the initiator nodes of access class K and their read/write
/// bandwidth (MB/s) and latency (ns); null: not reported. The initiators' accessK/targets link back.</summary>
public sealed record NodeAccessSpec(int Node, int Class, IReadOnlyList<int> Initiators)
{
    public long? ReadBandwidth { get; init; }
    public long? ReadLatency { get; init; }
    public long? WriteBandwidth { get; init; }
    public long? WriteLatency { get; init; }
}

/// <summary>nodeN/memory_side_cache/indexK: size in bytes, line size, indexing and write policy (drivers/base/node.c).</summary>
public sealed record MemorySideCacheSpec(int Node, int Index, ulong Size, uint LineSize, uint Indexing, uint WritePolicy);
