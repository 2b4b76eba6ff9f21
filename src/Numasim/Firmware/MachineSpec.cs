namespace Numasim.Firmware;

/// <summary>
/// A machine as a user starts it in QEMU (CONTRACT §3): RAM and hotplug limits, the CPU topology, NUMA
/// nodes, distances, memory backends. Produced by <c>QemuCommandLine.Parse</c> or <c>MachineFile.Load</c>;
/// <c>PcMachine.Build</c> turns it into the firmware tables the kernel reads.
/// </summary>
public sealed partial record MachineSpec
{
    /// <summary>A label for reports ("qemu", a file name, an imported machine's name).</summary>
    public string Name { get; init; } = "machine";

    /// <summary>-m SIZE: boot RAM in bytes (QEMU's default for pc is 128 MiB).</summary>
    public required ulong RamBytes { get; init; }

    /// <summary>-m slots=N: DIMM slots; 0 without memory hotplug.</summary>
    public int Slots { get; init; }

    /// <summary>-m maxmem=SIZE; equals RamBytes when not given.</summary>
    public required ulong MaxMemBytes { get; init; }

    public required SmpSpec Smp { get; init; }

    /// <summary>-numa node entries in node id order; empty for a machine without -numa (one implicit node 0).</summary>
    public IReadOnlyList<NodeSpec> Nodes { get; init; } = [];

    /// <summary>One entry per possible CPU, in QEMU's CPU index order, with its resolved node.</summary>
    public required IReadOnlyList<CpuSlotSpec> CpuSlots { get; init; }

    /// <summary>Distance matrix indexed by position in <see cref="Nodes"/>: [i][j]. Null when no -numa dist
    /// was given (the kernel then uses LOCAL_DISTANCE/REMOTE_DISTANCE, QEMU emits no SLIT).</summary>
    public IReadOnlyList<IReadOnlyList<int>>? Distances { get; init; }

    /// <summary>-object memory-backend-ram entries given at start-up.</summary>
    public IReadOnlyList<MemoryBackendSpec> Backends { get; init; } = [];

    /// <summary>The kernel command line's memhp_default_state= ("offline", "online", "online_kernel",
    /// "online_movable"); null for the kernel's built-in default (Debian: offline).</summary>
    public string? MemhpDefaultState { get; init; }

    /// <summary>The kernel command line (QEMU's -append, a machine file's cmdline:), as the guest gets it; null for none.
    /// The kernel parses it at boot (Kernel/Init/KernelCommandLine.cs).</summary>
    public string? CommandLine { get; init; }

    /// <summary>-device options QEMU realizes before the guest starts (cold-plugged devices), each as its key=value
    /// pairs in order ("driver" first); only virtio-mem-pci is modelled.</summary>
    public IReadOnlyList<IReadOnlyList<KeyValuePair<string, string>>> Devices { get; init; } = [];

    /// <summary>Imported machines only: the memory block size the real machine used, overriding the x86 rule.</summary>
    public ulong? MemoryBlockSizeBytes { get; init; }

    /// <summary>Imported machines only: blocks to leave offline after boot (block index), as the real machine showed.</summary>
    public IReadOnlyList<int> OfflineBlocksAtBoot { get; init; } = [];

    /// <summary>Imported machines only: node ids are the firmware's proximity domains, as on architectures that
    /// take node ids from firmware directly (powerpc, arm64 device tree), instead of x86's numbering in the order
    /// the SRAT first mentions each PXM (acpi_map_pxm_to_node). Lets sparse node ids (0,2,4) import faithfully.</summary>
    public bool FirmwareNodeIds { get; init; }

    /// <summary>Whether the vCPUs report SMT threads through CPUID. QEMU's default qemu64 model (AMD family 15,
    /// no HT flag, no topoext) does not, so the guest sees every thread as a core of its own; an imported real
    /// machine's CPUs keep the thread/core/package ids the real kernel showed.</summary>
    public bool CpuidReportsSmt { get; init; }

    /// <summary>Whether the kernel's own allocations (slab, per-CPU data) are modelled (issue: kernel allocations).</summary>
    public bool ModelKernelAllocations { get; init; } = true;

    /// <summary>Where the kernel image was loaded (/proc/iomem's "Kernel code" start): null for the nokaslr placement
    /// at the profile's CONFIG_PHYSICAL_START. Lets a machine reproduce one randomised (KASLR) boot.</summary>
    public ulong? KernelPhysAddr { get; init; }

    /// <summary>The size of the initrd QEMU loads (-initrd), in bytes; null for none. The oracle sets its initramfs's size.</summary>
    public ulong? InitrdBytes { get; init; }

    /// <summary>The node ids the machine has (0 alone when no -numa was given).</summary>
    public IEnumerable<int> NodeIds => Nodes.Count == 0 ? [0] : Nodes.Select(n => n.NodeId);
}

/// <summary>-smp after QEMU's defaults are applied (hw/core/machine-smp.c): cpus present at start,
/// maxcpus possible, and the topology with sockets*dies*cores*threads == maxcpus.</summary>
public sealed record SmpSpec(int Cpus, int MaxCpus, int Sockets, int Dies, int Cores, int Threads);

/// <summary>-numa node,nodeid=N[,memdev=ID|mem=SIZE][,cpus=...]: MemBytes is the node's boot RAM.</summary>
public sealed record NodeSpec(int NodeId, ulong MemBytes, string? MemDev = null);

/// <summary>A possible CPU: QEMU's index, topology ids, the APIC id QEMU derives from them, its node
/// (-1 when none was given) and whether it is present (cold-plugged) at boot. OnlineAtBoot is false only
/// for imported machines whose CPU was offline. ClusterId is the L2 cluster id x86 keeps as cpu_l2c_id (-1: unset,
/// BAD_APICID); ComputeUnitId an AMD compute unit (cu_id) whose cores are SMT siblings (-1: none).</summary>
public sealed record CpuSlotSpec(int Index, int SocketId, int DieId, int CoreId, int ThreadId, uint ApicId, int NodeId, bool Present, bool OnlineAtBoot = true,
    int ClusterId = -1, int ComputeUnitId = -1);

/// <summary>-object memory-backend-ram,id=ID,size=SIZE.</summary>
public sealed record MemoryBackendSpec(string Id, ulong SizeBytes);
