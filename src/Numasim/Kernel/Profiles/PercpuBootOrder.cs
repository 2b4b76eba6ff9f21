namespace Numasim.Kernel.Profiles;

/// <summary>What a step of the boot's percpu allocations depends on.</summary>
public enum PercpuBootStepKind
{
    /// <summary>The same allocations on every machine (<see cref="PercpuBootStep.Count"/> of them).</summary>
    Fixed,
    /// <summary>setup_zone_pageset() per populated zone: per_cpu_zonestat, then per_cpu_pages.</summary>
    ZonePagesets,
    /// <summary>setup_per_cpu_pageset()'s per_cpu_nodestat per online pgdat.</summary>
    NodeStats,
    /// <summary>The root memory cgroup's lruvec_stats_percpu per possible node (alloc_mem_cgroup_per_node_info()).</summary>
    MemcgPerNode,
    /// <summary>smpcfd_prepare_cpu()'s call_single_data_t per CPU smp_init() brings up.</summary>
    SecondaryCpus,
    /// <summary>build_sched_domains()'s pointer arrays (four per topology level and the domain array): all freed before
    /// the next allocation, so they leave the area as it was.</summary>
    SchedDomains,
}

/// <summary>One step of the boot's percpu allocations: <paramref name="Count"/> areas of <paramref name="Size"/> bytes
/// aligned to <paramref name="Align"/>, named after the kernel function that asks for them (a machine-dependent
/// step takes its sizes from <see cref="KernelBuild"/> and its count from the machine).</summary>
public readonly record struct PercpuBootStep(string Caller, int Size, int Align, int Count = 1, PercpuBootStepKind Kind = PercpuBootStepKind.Fixed)
{
    public static readonly PercpuBootStep ZonePagesets = new("setup_zone_pageset", 0, 0, Kind: PercpuBootStepKind.ZonePagesets);
    public static readonly PercpuBootStep NodeStats = new("setup_per_cpu_pageset", 0, 0, Kind: PercpuBootStepKind.NodeStats);
    public static readonly PercpuBootStep MemcgPerNode = new("alloc_mem_cgroup_per_node_info", 0, 0, Kind: PercpuBootStepKind.MemcgPerNode);
    public static readonly PercpuBootStep SecondaryCpus = new("smpcfd_prepare_cpu", 0, 0, Kind: PercpuBootStepKind.SecondaryCpus);
    public static readonly PercpuBootStep SchedDomains = new("build_sched_domains", 0, 0, Kind: PercpuBootStepKind.SchedDomains);
}

/// <summary>
/// The percpu allocations of the first chunk's dynamic area from early_irq_init() up to crash_notes_memory_init()
/// (a subsys_initcall), in boot order, per build. Read from the build's own boot under QEMU 7.2 with nokaslr
/// trace_event=percpu:percpu_alloc_percpu,percpu:percpu_free_percpu tp_printk (call_site, size, align of each
/// event), on the machines of 6.1 oracle fuzz seed 20261212 cases 11 (1 CPU, 7 nodes, 8 populated zones) and 14 (4 of 8
/// CPUs, 1 node, 2 zones): the steps below are the same on both, the machine-dependent ones are marked by kind, and
/// replaying the four traces through <see cref="Mm.PercpuChunkMap"/> gives every recorded offset. start_kernel() runs
/// them from early_irq_init() (the 16 legacy IRQ descriptors' kstat_irqs) to cgroup_init() (the root memcg), then
/// kernel_init() through smp_init(), sched_init_smp() and the initcalls up to the subsys level.
/// </summary>
public static class PercpuBootOrder
{
    /// <summary>Debian 6.1.176.</summary>
    public static readonly IReadOnlyList<PercpuBootStep> Debian6_1 =
    [
        new("alloc_desc", 4, 4, 16),
        new("irq_alloc_matrix", 88, 8),
        new("init_srcu_struct_fields", 384, 64),
        new("perf_pmu_register", 4, 4),
        new("perf_pmu_register", 464, 8),
        new("perf_pmu_register", 4, 4, 6),
        new("__kmem_cache_create", 32, 16),
        new("smpcfd_prepare_cpu", 32, 32), // call_function_init(): the boot CPU's
        new("alloc_workqueue", 256, 256),
        PercpuBootStep.ZonePagesets, // setup_per_cpu_pageset(): setup_zone_pageset() per populated zone
        PercpuBootStep.NodeStats, // setup_per_cpu_pageset(): per_cpu_nodestats per online pgdat
        new("__kmem_cache_create", 32, 16, 13),
        new("__percpu_counter_init", 4, 4),
        new("__kmem_cache_create", 32, 16, 10),
        new("__percpu_counter_init", 4, 4),
        new("__kmem_cache_create", 32, 16, 4),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("shmem_fill_super", 8, 8),
        new("__percpu_counter_init", 4, 4),
        new("alloc_vfsmnt", 8, 4),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("__percpu_counter_init", 4, 4),
        new("alloc_vfsmnt", 8, 4),
        new("__kmem_cache_create", 32, 16),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("alloc_vfsmnt", 8, 4),
        new("__percpu_counter_init", 4, 4),
        new("__kmem_cache_create", 32, 16, 5),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("alloc_vfsmnt", 8, 4),
        new("percpu_ref_init", 8, 8, 2),
        new("mem_cgroup_css_alloc", 1096, 8),
        PercpuBootStep.MemcgPerNode, // alloc_mem_cgroup_per_node_info() per possible node
        new("__percpu_counter_init", 4, 4),
        new("perf_cgroup_css_alloc", 32, 8),
        new("__kmem_cache_create", 32, 16),
        new("alloc_workqueue", 256, 256),
        PercpuBootStep.SecondaryCpus, // smp_init(): smpcfd_prepare_cpu() per CPU brought up
        PercpuBootStep.SchedDomains, // sched_init_smp(): build_sched_domains(), all freed
        new("__kmem_cache_create", 32, 16),
        new("__percpu_counter_init", 4, 4, 5),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("__percpu_counter_init", 4, 4),
        new("alloc_vfsmnt", 8, 4, 3),
        new("alloc_workqueue", 256, 256, 8),
        new("init_srcu_struct_fields", 384, 64),
        new("__kmem_cache_create", 32, 16),
        new("init_srcu_struct_fields", 384, 64),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("alloc_vfsmnt", 8, 4),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("alloc_vfsmnt", 8, 4),
        new("__kmem_cache_create", 32, 16, 4),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("alloc_vfsmnt", 8, 4),
        new("bpf_prog_alloc_no_stats", 4, 4),
        new("bpf_prog_alloc", 32, 16),
        new("sock_inuse_init_net", 260, 4),
        new("ffh_cstate_init", 64, 4),
        new("dma_channel_table_init", 8, 8, 13),
        new("__kmem_cache_create", 32, 16, 2),
        new("__percpu_counter_init", 4, 4),
    ];

    /// <summary>Debian 6.12.111.</summary>
    public static readonly IReadOnlyList<PercpuBootStep> Debian6_12 =
    [
        new("alloc_desc", 4, 4, 16),
        new("irq_alloc_matrix", 96, 8),
        new("init_srcu_struct_fields", 384, 64),
        new("perf_pmu_register", 4, 4),
        new("perf_pmu_register", 240, 8),
        new("perf_pmu_register", 4, 4),
        new("perf_pmu_register", 240, 8),
        new("perf_pmu_register", 4, 4),
        new("perf_pmu_register", 240, 8),
        new("perf_pmu_register", 4, 4),
        new("perf_pmu_register", 240, 8),
        new("perf_pmu_register", 4, 4),
        new("perf_pmu_register", 240, 8),
        new("perf_pmu_register", 4, 4),
        new("perf_pmu_register", 240, 8),
        new("perf_pmu_register", 4, 4),
        new("perf_pmu_register", 240, 8),
        new("do_kmem_cache_create", 32, 16),
        new("smpcfd_prepare_cpu", 32, 32), // call_function_init(): the boot CPU's
        new("alloc_workqueue", 8, 8),
        PercpuBootStep.ZonePagesets, // setup_per_cpu_pageset(): setup_zone_pageset() per populated zone
        PercpuBootStep.NodeStats, // setup_per_cpu_pageset(): per_cpu_nodestats per online pgdat
        new("do_kmem_cache_create", 32, 16, 13),
        new("__percpu_counter_init_many", 4, 4),
        new("do_kmem_cache_create", 32, 16, 5),
        new("alloc_workqueue", 8, 8),
        new("do_kmem_cache_create", 32, 16, 4),
        new("__percpu_counter_init_many", 4, 4),
        new("do_kmem_cache_create", 32, 16, 3),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("shmem_fill_super", 8, 8),
        new("__percpu_counter_init_many", 4, 4),
        new("alloc_vfsmnt", 8, 4),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("__percpu_counter_init_many", 4, 4),
        new("alloc_vfsmnt", 8, 4),
        new("do_kmem_cache_create", 32, 16),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("alloc_vfsmnt", 8, 4),
        new("__percpu_counter_init_many", 4, 4),
        new("do_kmem_cache_create", 32, 16, 4),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("alloc_vfsmnt", 8, 4),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("alloc_vfsmnt", 8, 4),
        new("percpu_ref_init", 8, 8, 2),
        new("blkcg_css_alloc", 8, 8),
        new("mem_cgroup_css_alloc", 1088, 64),
        PercpuBootStep.MemcgPerNode, // alloc_mem_cgroup_per_node_info() per possible node
        new("__percpu_counter_init_many", 4, 4),
        new("perf_cgroup_css_alloc", 32, 8),
        new("do_kmem_cache_create", 32, 16, 2),
        new("alloc_workqueue", 8, 8),
        PercpuBootStep.SecondaryCpus, // smp_init(): smpcfd_prepare_cpu() per CPU brought up
        PercpuBootStep.SchedDomains, // sched_init_smp(): build_sched_domains(), all freed
        new("alloc_workqueue", 8, 8),
        new("do_kmem_cache_create", 32, 16),
        new("alloc_workqueue", 8, 8),
        new("__percpu_counter_init_many", 4, 4),
        new("__percpu_counter_init_many", 16, 4),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("__percpu_counter_init_many", 4, 4),
        new("alloc_vfsmnt", 8, 4, 3),
        new("alloc_workqueue", 8, 8, 8),
        new("init_srcu_struct_fields", 384, 64),
        new("do_kmem_cache_create", 32, 16, 3),
        new("init_srcu_struct_fields", 384, 64),
        new("do_kmem_cache_create", 32, 16),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("alloc_vfsmnt", 8, 4),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("alloc_vfsmnt", 8, 4),
        new("do_kmem_cache_create", 32, 16, 3),
        new("__percpu_init_rwsem", 4, 4, 3),
        new("alloc_vfsmnt", 8, 4),
        new("bpf_prog_alloc_no_stats", 4, 4),
        new("bpf_prog_alloc", 32, 16),
        new("sock_inuse_init_net", 260, 4),
        new("alloc_workqueue", 8, 8),
        new("ffh_cstate_init", 64, 4),
        new("dma_channel_table_init", 8, 8, 13),
        new("do_kmem_cache_create", 32, 16, 5),
        new("__percpu_counter_init_many", 4, 4),
    ];
}
