namespace Numasim.Kernel.Profiles;

/// <summary>A part of the kernel image freed after boot (free_init_pages(), free_kernel_image_pages()): its offset
/// from _text and its size in bytes, with the message the kernel prints for it.</summary>
/// <summary>A part of the kernel image freed after boot; <paramref name="SmpLocks"/>: __smp_locks, which
/// alternative_instructions() keeps when it patched the kernel for one CPU with more to come.</summary>
public readonly record struct ImageFreeArea(string What, ulong Offset, ulong Size, bool SmpLocks = false);

/// <summary>
/// Facts of one kernel build that boot accounting depends on: sizes of structures, the kernel image layout and
/// the config options that size boot allocations. Every value names where it was read from. Debian's packages
/// (linux-image-6.1.0-50-amd64 6.1.176-1, linux-image-6.12.111+deb12-amd64 6.12.111-1~deb12u1): "config" is the
/// package's boot/config-*; "kallsyms" is /proc/kallsyms of that kernel booted with nokaslr under QEMU 7.2;
/// "memblock=debug" is the size that kernel's memblock=debug log shows for the allocation; sizes of structures
/// otherwise follow the kernel source at that version.
/// </summary>
public sealed record KernelBuild
{
    /// <summary>sizeof(note_buf_t), cpuN/crash_notes_size (drivers/base/cpu.c): 368 in the 6.1 guest's sysfs (oracle
    /// fuzz; two ELF notes around a 336-byte elf_prstatus, the same struct in 6.12; the model showed 376 before).</summary>
    public int CrashNotesBytes { get; init; } = 368;

    /// <summary>CONFIG_UNACCEPTED_MEMORY (config: =y in 6.12, absent in 6.1): the Unaccepted line of /proc/meminfo
    /// and nodeN/meminfo (after FilePmdMapped, before the HugePages lines).</summary>
    public bool UnacceptedMemory { get; init; }

    /// <summary>CONFIG_CMA (config: "# CONFIG_CMA is not set" in both Debian builds): /proc/meminfo's CmaTotal and
    /// CmaFree lines exist only with it (fs/proc/meminfo.c).</summary>
    public bool Cma { get; init; }

    /// <summary>CONFIG_PHYSICAL_START (config: 0x1000000): where the decompressor puts the kernel with nokaslr.</summary>
    public ulong PhysicalStart { get; init; } = 0x1000000;

    /// <summary>__end_of_kernel_reserve - _text (kallsyms): what early_reserve_memory() reserves for the image.</summary>
    public required ulong KernelReserveBytes { get; init; }

    /// <summary>_end - __brk_base (the guest's /proc/kallsyms with nokaslr: 0x30000 in 6.1 and 6.12): the .brk
    /// section, so _end, the kernel_end init_mem_mapping() maps above first when memblock allocates bottom-up.</summary>
    public ulong BrkSectionBytes { get; init; } = 0x30000;

    /// <summary>INIT_PGT_BUF_SIZE in pages (arch/x86/mm/init.c: 4 * INIT_PGD_PAGE_TABLES with CONFIG_X86_5LEVEL and
    /// CONFIG_RANDOMIZE_MEMORY, config): the early page-table buffer extend_brk() takes before reserve_brk().</summary>
    public int PgtBufPages { get; init; } = 16;

    /// <summary>Pages dmi_setup()'s dmi_alloc() takes from brk (a few hundred bytes of QEMU's SMBIOS strings: one
    /// partial page; the brk reservation is 17 pages in every memblock=debug log, 6.1 and 6.12).</summary>
    public int BrkDmiPages { get; init; } = 1;

    /// <summary>The image parts freed after boot (kallsyms): text/rodata gap, rodata/data gap, initmem, SMP
    /// alternatives (__smp_locks), unused decrypted bss.</summary>
    public required IReadOnlyList<ImageFreeArea> ImageFrees { get; init; }

    /// <summary>The "Memory:" line's kernel code, rwdata, rodata, init and bss sizes in KiB, as mem_init_print_info()
    /// prints them for this image (the guest's boot log; section sizes adjusted by the kernel's adj_init_size()).</summary>
    public required (int Code, int RwData, int RoData, int Init, int Bss) ImageSectionsKb { get; init; }

    /// <summary>The real-mode trampoline reserve_real_mode() allocates below 1 MiB (memblock=debug: 28672 bytes).</summary>
    public ulong RealModeBytes { get; init; } = 28672;

    /// <summary>sizeof(pg_data_t) (memblock=debug: the memoryless node's pgdat allocation).</summary>
    public required ulong PgDataBytes { get; init; }

    /// <summary>6.1's alloc_node_data() allocates roundup(sizeof(pg_data_t), PAGE_SIZE); 6.12 the size itself.</summary>
    public bool NodeDataPageRounded { get; init; }

    /// <summary>6.1's numa_alloc_distance() uses memblock_phys_alloc_range() below max_pfn_mapped; 6.12 memblock_alloc().</summary>
    public bool NumaDistancePhysAlloc { get; init; }

    /// <summary>NR_SECTION_ROOTS * sizeof(struct mem_section *) (memblock=debug: 32768 bytes; 4-level paging at run
    /// time gives MAX_PHYSMEM_BITS 46, 2^19 sections, SECTIONS_PER_ROOT 128).</summary>
    public ulong MemSectionRootsBytes { get; init; } = 32768;

    /// <summary>SECTIONS_PER_ROOT: PAGE_SIZE / sizeof(struct mem_section) (32 bytes with CONFIG_PAGE_EXTENSION).</summary>
    public int SectionsPerRoot { get; init; } = 128;

    /// <summary>mem_section_usage_size(): subsection map, rcu head and pageblock flags of a section (memblock=debug:
    /// 56 bytes per section).</summary>
    public ulong MemSectionUsageBytes { get; init; } = 56;

    /// <summary>The first percpu chunk's static, reserved and dynamic sizes ("percpu: Embedded ... s R r D d").</summary>
    public required (ulong Static, ulong Reserved, ulong Dynamic) Percpu { get; init; }

    /// <summary>sizeof(struct pcpu_chunk) (memblock=debug: the first chunk's allocation less one populated bitmap word).</summary>
    public required ulong PcpuChunkBytes { get; init; }

    /// <summary>sizeof(struct cpu_entry_area): gdt, entry stack, 5-page TSS, exception stacks of 8 KiB with guard
    /// pages (EXCEPTION_STACK_ORDER 1, VC stacks with CONFIG_AMD_MEM_ENCRYPT), debug store page and 128 KiB of
    /// PEBS/BTS buffers: 59 pages.</summary>
    public ulong CpuEntryAreaBytes { get; init; } = 59 * 4096;

    /// <summary>Boot-time cpumask_var_t allocations besides node_to_cpumask_map: 6.1's cpu_initialized_mask,
    /// cpu_callin_mask, cpu_callout_mask and cpu_sibling_setup_mask; 6.12's cpu_sibling_setup_mask (memblock=debug).</summary>
    public required int BootCpumasks { get; init; }

    /// <summary>CONFIG_LOG_BUF_SHIFT and CONFIG_LOG_CPU_MAX_BUF_SHIFT (config: 17, 12).</summary>
    public int LogBufShift { get; init; } = 17;
    public int LogCpuMaxBufShift { get; init; } = 12;

    /// <summary>sizeof(struct prb_desc) and sizeof(struct printk_info) (memblock=debug: 393216 and 1441792 bytes
    /// for 16384 descriptors).</summary>
    public ulong PrbDescBytes { get; init; } = 24;
    public ulong PrintkInfoBytes { get; init; } = 88;

    /// <summary>sizeof(struct resource) (memblock=debug: e820__reserve_resources() takes 64 per e820 entry).</summary>
    public ulong ResourceBytes { get; init; } = 64;

    /// <summary>sizeof(struct firmware_map_entry) (memblock=debug: 104 per firmware e820 entry).</summary>
    public ulong FirmwareMapEntryBytes { get; init; } = 104;

    /// <summary>sizeof(struct nosave_region) (memblock=debug: 32).</summary>
    public ulong NosaveRegionBytes { get; init; } = 32;

    /// <summary>The HPET resource (sizeof(struct resource) + HPET_RESOURCE_NAME_SIZE, 73) and the IO-APIC resource of
    /// one IO-APIC (sizeof(struct resource) + IOAPIC_RESOURCE_NAME_SIZE, 75) (memblock=debug).</summary>
    public ulong HpetResourceBytes { get; init; } = 73;
    public ulong IoapicResourceBytes { get; init; } = 75;

    /// <summary>SWIOTLB's default pool (IO_TLB_DEFAULT_SIZE, 64 MiB), sizeof(struct io_tlb_slot) and
    /// sizeof(struct io_tlb_area) (memblock=debug: 786432 bytes of slots for 32768 slabs; 16 per area).</summary>
    public ulong SwiotlbBytes { get; init; } = 64UL << 20;
    public ulong IoTlbSlotBytes { get; init; } = 24;
    public ulong IoTlbAreaBytes { get; init; } = 16;

    /// <summary>Pages preallocate_vmalloc_pages() takes for the vmalloc area's top-level page tables in mem_init(),
    /// before the "Memory:" line (6.1: available is 64 pages below the free memory before the deferred range).</summary>
    public int VmallocPreallocPages { get; init; } = 64;

    /// <summary>The "Memory:" line is printed after the deferred pages are initialised (6.12) rather than at mem_init() (6.1).</summary>
    public bool MemoryLineAfterDeferredInit { get; init; }

    /// <summary>The synthetic x86_capability bits without a cpuinfo name that this build sets on QEMU's qemu64 under TCG
    /// (word*32+bit of its cpufeatures.h), read from the guest's /sys/devices/system/cpu/modalias (oracle fuzz,
    /// 2026-12). 6.1: K8 3*32+4 and SYSCALL32 3*32+14 (init_amd() for family 0xf), LFENCE_RDTSC 3*32+18, ALWAYS 3*32+21,
    /// RSB_VMEXIT 7*32+13 and RSB_CTXSW 7*32+19 (spectre_v2 retpoline), FENCE_SWAPGS_KERNEL 11*32+5 (spectre_v1),
    /// RETPOLINE 11*32+12. 6.12 moved LFENCE_RDTSC to 20*32+2 and sets 3*32+22.</summary>
    public IReadOnlyList<int> Qemu64SyntheticCapabilities { get; init; } = [0x64, 0x6E, 0x72, 0x75, 0xED, 0xF3, 0x165, 0x16C];

    /// <summary>CONFIG_CRASH_HOTPLUG (config: =y in 6.12, absent in 6.1): cpu/crash_hotplug and memory/crash_hotplug.</summary>
    public bool CrashHotplug { get; init; }

    /// <summary>The cpuidle governors registered at boot under TCG (config: CONFIG_CPU_IDLE_GOV_LADDER=y and
    /// CONFIG_CPU_IDLE_GOV_MENU=y in both builds; 6.12's haltpoll governor registers only with kvm_para_available(),
    /// TEO is not set), in cpuidle_register_governor() order (the ladder's initcall runs first).</summary>
    public IReadOnlyList<string> CpuidleGovernors { get; init; } = ["ladder", "menu"];

    /// <summary>enum node_stat_item's vmstat_text names in this build (nodeN/vmstat; the kernel source at the version
    /// under the build's config).</summary>
    public IReadOnlyList<string> NodeStatItems { get; init; } = Drivers.NodeVmstat.NodeItemsV6_1;

    /// <summary>The percpu allocations from early_irq_init() to crash_notes_memory_init() in boot order
    /// (<see cref="PercpuBootOrder"/>); null where no boot of the build was traced (crash_notes then reads 0).</summary>
    public IReadOnlyList<PercpuBootStep>? PercpuBootAllocations { get; init; }

    /// <summary>The byte ranges of the first chunk's dynamic area in use when the percpu tracepoints start (trace_init()):
    /// what setup_per_cpu_areas() to early_trace_init() took (kmem_cache_init()'s caches, workqueue_init_early(), the
    /// tracer's buffers), before any machine-dependent allocation. Read from the traced boots' first
    /// percpu_alloc_percpu events (the first free offsets and the hole early_irq_init() fills), the same on every
    /// traced machine.</summary>
    public IReadOnlyList<(int Start, int End)> PercpuEarlyUse { get; init; } = [];

    /// <summary>sizeof and __alignof__ of struct per_cpu_zonestat (mm/page_alloc.c setup_zone_pageset(); the traced
    /// percpu_alloc_percpu event's size and align): 11 or 12 s8 zone counters and the threshold, then
    /// NR_VM_NUMA_EVENT_ITEMS unsigned longs (CONFIG_NUMA).</summary>
    public (int Size, int Align) PerCpuZonestat { get; init; } = (64, 8);

    /// <summary>sizeof and alignment of struct per_cpu_pages (____cacheline_aligned_in_smp; NR_PCP_LISTS list heads;
    /// traced as for <see cref="PerCpuZonestat"/>).</summary>
    public (int Size, int Align) PerCpuPages { get; init; } = (256, 64);

    /// <summary>sizeof and __alignof__ of struct per_cpu_nodestat (NR_VM_NODE_STAT_ITEMS s8 counters and the threshold;
    /// traced as for <see cref="PerCpuZonestat"/>).</summary>
    public required (int Size, int Align) PerCpuNodestat { get; init; }

    /// <summary>sizeof and __alignof__ of struct lruvec_stats_percpu (mm/memcontrol.c alloc_mem_cgroup_per_node_info(),
    /// CONFIG_MEMCG=y; traced as for <see cref="PerCpuZonestat"/>).</summary>
    public required (int Size, int Align) LruvecStatsPercpu { get; init; }

    /// <summary>sizeof and alignment of call_single_data_t (kernel/smp.c smpcfd_prepare_cpu(); aligned to its size).</summary>
    public (int Size, int Align) CallSingleData { get; init; } = (32, 32);

    /// <summary>Debian 6.1.176.</summary>
    public static readonly KernelBuild Debian6_1 = new()
    {
        KernelReserveBytes = 0x3400000,
        ImageFrees =
        [
            new("SMP alternatives memory", 0x2303000, 0x9000, SmpLocks: true),
            new("unused decrypted memory", 0x3203000, 0x1fd000),
            new("unused kernel image (initmem) memory", 0x2042000, 0x2c1000),
            new("unused kernel image (text/rodata gap) memory", 0xe02000, 0x1fe000),
            new("unused kernel image (rodata/data gap) memory", 0x18e7000, 0x119000),
        ],
        ImageSectionsKb = (14343, 2338, 9116, 2820, 17356),
        PgDataBytes = 174208,
        NodeDataPageRounded = true,
        NumaDistancePhysAlloc = true,
        Percpu = (217088, 8192, 28672),
        PcpuChunkBytes = 136,
        BootCpumasks = 4,
        PercpuBootAllocations = PercpuBootOrder.Debian6_1,
        PercpuEarlyUse = [(0, 2208), (2304, 4352)],
        PerCpuNodestat = (44, 4),
        LruvecStatsPercpu = (688, 8),
    };

    /// <summary>Debian 6.12.111.</summary>
    public static readonly KernelBuild Debian6_12 = new()
    {
        KernelReserveBytes = 0x2c00000,
        UnacceptedMemory = true,
        CrashHotplug = true,
        NodeStatItems = Drivers.NodeVmstat.NodeItemsV6_12,
        Qemu64SyntheticCapabilities = [0x64, 0x6E, 0x75, 0x76, 0xED, 0xF3, 0x165, 0x16C, 0x282],
        ImageFrees =
        [
            new("SMP alternatives memory", 0x2728000, 0xa000, SmpLocks: true),
            new("unused decrypted memory", 0x2a05000, 0x1fb000),
            new("unused kernel image (initmem) memory", 0x2300000, 0x428000),
            new("unused kernel image (rodata/data gap) memory", 0x1b72000, 0x8e000),
        ],
        ImageSectionsKb = (16384, 2500, 11720, 4256, 4916),
        PgDataBytes = 174464,
        Percpu = (233472, 8192, 28672),
        PcpuChunkBytes = 192,
        BootCpumasks = 1,
        PercpuBootAllocations = PercpuBootOrder.Debian6_12,
        PercpuEarlyUse = [(0, 2416)],
        PerCpuNodestat = (48, 4),
        LruvecStatsPercpu = (496, 8),
        MemoryLineAfterDeferredInit = true,
    };
}
