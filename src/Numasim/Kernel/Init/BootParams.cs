namespace Numasim.Kernel.Init;

/// <summary>
/// What the boot command line set, read once at boot and fixed afterwards (the kernel's __initdata and
/// __ro_after_init variables the options write): movable_node, kernelcore=/movablecore=, mem=, numa=, the CPU
/// limits and memhp_default_state=. The memory_hotplug.* module parameters, which stay writable through
/// /sys/module, live in <see cref="Hotplug.MemoryHotplugParams"/>.
/// </summary>
public sealed class BootParams
{
    /// <summary>NR_CPUS of Debian's x86_64 config: setup_max_cpus before maxcpus= (kernel/smp.c).</summary>
    public const int NrCpus = 8192;

    /// <summary>The command line as the guest got it (/proc/cmdline without its newline); "" when none was given.</summary>
    public string Text { get; internal set; } = "";

    /// <summary>movable_node: movable_node_enabled, mm/memory_hotplug.c.</summary>
    public bool MovableNode { get; internal set; }

    /// <summary>kernelcore=: required_kernelcore in pages and required_kernelcore_percent (mm/page_alloc.c, mm/mm_init.c).</summary>
    public long RequiredKernelcore { get; internal set; }
    public long RequiredKernelcorePercent { get; internal set; }

    /// <summary>movablecore=: required_movablecore in pages and required_movablecore_percent.</summary>
    public long RequiredMovablecore { get; internal set; }
    public long RequiredMovablecorePercent { get; internal set; }

    /// <summary>kernelcore=mirror: mirrored_kernelcore.</summary>
    public bool MirroredKernelcore { get; internal set; }

    /// <summary>mem=: the byte limit e820__range_remove() cut RAM at, and max_mem_size; null without mem=.</summary>
    public ulong? MemLimit { get; internal set; }

    /// <summary>numa=off: numa_off, arch/x86/mm/numa.c.</summary>
    public bool NumaOff { get; internal set; }

    /// <summary>numa=noacpi: disable_srat() (acpi_numa = -1): no SRAT is parsed.</summary>
    public bool NumaNoAcpi { get; internal set; }

    /// <summary>numa=fake=: emu_cmdline, arch/x86/mm/numa_emulation.c (mm/numa_emulation.c in 6.12); null without it.</summary>
    public string? NumaFake { get; internal set; }

    /// <summary>memblock=debug: memblock_debug, mm/memblock.c.</summary>
    public bool MemblockDebug { get; internal set; }

    /// <summary>nr_cpus=: the nr_cpu_ids limit set_nr_cpu_ids() took; null when not given (or not accepted).</summary>
    public int? NrCpuIdsLimit { get; internal set; }

    /// <summary>possible_cpus=: setup_possible_cpus (6.1) / max_possible_cpus (6.12); null when not given.</summary>
    public int? PossibleCpus { get; internal set; }

    /// <summary>maxcpus= (nosmp: 0): setup_max_cpus, the CPUs smp_init() brings up.</summary>
    public int SetupMaxCpus { get; internal set; } = NrCpus;

    /// <summary>noreplace-smp: alternative_instructions() never patches the kernel for one CPU.</summary>
    public bool NoReplaceSmp { get; internal set; }

    /// <summary>memhp_default_state=: the online type it named; null when absent or not an online type.</summary>
    public OnlineType? MemhpDefaultState { get; internal set; }

    /// <summary>hugepages=, hugepagesz=, default_hugepagesz= and what their handlers leave for hugetlb_init().</summary>
    internal Mm.HugetlbCmdline Hugetlb { get; } = new();

    /// <summary>Lines parse_early_param() prints during setup_arch() ("Malformed early option 'mem'").</summary>
    public List<string> EarlyLog { get; } = [];

    /// <summary>What a user must know about this command line that no kernel line says (the real kernel would not boot).</summary>
    public List<string> Warnings { get; } = [];

    /// <summary>Options the kernel acts on that the model does not model (each named once, in order).</summary>
    public List<string> Unmodelled { get; } = [];

    /// <summary>MODULE.param[=value] words for loadable modules the model has (virtio_mem), in order: modprobe passes
    /// them from /proc/cmdline when it loads the module.</summary>
    public List<(string Module, string Param, string? Value)> ModuleOptions { get; } = [];

    /// <summary>What the kernel hands to init after "--" (argv), null when the line has no "--".</summary>
    public string? AfterDashes { get; internal set; }
}
