namespace Numasim.Kernel.Hotplug;

/// <summary>Recorded CPU hotplug state tables (enum cpuhp_state with the names its users registered under Debian's config).</summary>
public static class CpuhpStateTables
{
    /// <summary>/sys/devices/system/cpu/hotplug/states of Debian's 6.1.176 (linux-image-6.1.0-50-amd64) on the oracle
    /// machine under QEMU 7.2 TCG, read by `numasim oracle --record` (2026-12).</summary>
    public static readonly IReadOnlyList<(int Number, string Name)> Debian61 =
    [
        (0, "offline"), (1, "threads:prepare"), (2, "perf:prepare"), (9, "x86/mce:dead"), (11, "slub:dead"), (13, "mm/writeback:dead"), (15, "mm/vmstat:dead"), (16, "softirq:dead"), (21, "irq_poll:dead"), (22, "block/softirq:dead"), (23, "block/bio:dead"), (24, "acpi/cpu-drv:dead"), (26, "block/mq:dead"), (27, "fs/buffer:dead"), (28, "printk:dead"), (29, "mm/memctrl:dead"), (31, "lib/percpu_cnt:dead"), (32, "lib/radix:dead"), (33, "mm/page_alloc:pcp"), (34, "net/dev:dead"), (36, "iommu/iova:dead"), (40, "random:prepare"), (41, "workqueue:prepare"), (43, "hrtimers:prepare"), (46, "smpcfd:prepare"), (47, "relay:prepare"), (48, "slab:prepare"), (50, "RCU/tree:prepare"), (59, "base/topology:prepare"), (62, "trace/RB:prepare"), (64, "mm/zswap:prepare"), (65, "mm/zswap_pool:prepare"), (68, "timers:prepare"), (70, "fork:vm_stack_cache"), (91, "cpu:bringup"), (92, "idle:dead"), (93, "ap:offline"), (94, "sched:starting"), (95, "RCU/tree:dying"), (148, "smpcfd:dying"), (149, "hrtimers:dying"), (152, "ap:online"), (153, "cpu:teardown"), (155, "sched:waitempty"), (156, "smpboot/threads:online"), (158, "irq/affinity:online"), (159, "block/mq:online"), (162, "perf:online"), (196, "lockup_detector:online"), (197, "workqueue:online"), (198, "random:online"), (199, "RCU/tree:online"), (200, "base/cacheinfo:online"), (201, "mm/writeback:online"), (202, "mm/vmstat:online"), (203, "padata:online"), (204, "mm/compaction:online"), (205, "io-wq/online"), (206, "lib/percpu_cnt:online"), (207, "acpi/cpu-drv:online"), (208, "leds/trigger:starting"), (209, "x86/mce:online"), (210, "printk:online"), (235, "sched:active"), (236, "online"), 
    ];

    /// <summary>/sys/devices/system/cpu/hotplug/states of Debian's 6.12.111 (linux-image-6.12.111+deb12-amd64) under QEMU 7.2
    /// TCG with more than one possible CPU, read by `numasim oracle fuzz` (2026-12).</summary>
    public static readonly IReadOnlyList<(int Number, string Name)> Debian612 =
    [
        (0, "offline"), (1, "threads:prepare"), (2, "perf:prepare"), (8, "x86/mce:dead"), (11, "slub:dead"), (13, "mm/writeback:dead"), (14, "mm/vmstat:dead"), (15, "softirq:dead"), (20, "irq_poll:dead"), (21, "block/softirq:dead"), (22, "block/bio:dead"), (23, "acpi/cpu-drv:dead"), (25, "block/mq:dead"), (26, "fs/buffer:dead"), (27, "printk:dead"), (28, "mm/memctrl:dead"), (29, "lib/percpu_cnt:dead"), (30, "lib/radix:dead"), (31, "mm/page_alloc:pcp"), (32, "net/dev:dead"), (34, "iommu/iova:dead"), (37, "random:prepare"), (38, "workqueue:prepare"), (40, "hrtimers:prepare"), (42, "smpcfd:prepare"), (43, "relay:prepare"), (45, "RCU/tree:prepare"), (53, "base/topology:prepare"), (56, "trace/RB:prepare"), (57, "mm/zsmalloc:prepare"), (61, "timers:prepare"), (62, "tmigr:prepare"), (64, "fork:vm_stack_cache"), (65, "crash/cpuhp"), (85, "cpu:kick_ap"), (86, "cpu:bringup"), (87, "idle:dead"), (88, "ap:offline"), (89, "x86/cachectrl:starting"), (90, "sched:starting"), (91, "RCU/tree:dying"), (139, "smpcfd:dying"), (140, "hrtimers:dying"), (141, "tick:dying"), (144, "ap:online"), (145, "cpu:teardown"), (149, "sched:waitempty"), (150, "smpboot/threads:online"), (151, "irq/affinity:online"), (152, "block/mq:online"), (155, "perf:online"), (186, "tmigr:online"), (187, "lockup_detector:online"), (188, "workqueue:online"), (189, "random:online"), (190, "RCU/tree:online"), (191, "base/cacheinfo:online"), (192, "mm/writeback:online"), (193, "mm/vmstat:online"), (194, "padata:online"), (195, "mm/compaction:online"), (196, "io-wq/online"), (197, "lib/percpu_cnt:online"), (198, "leds/trigger:starting"), (199, "acpi/cpu-drv:online"), (200, "x86/mce:online"), (201, "printk:online"), (235, "sched:active"), (236, "online"),
    ];

    /// <summary>States whose users register them only when more than one CPU is possible: tmigr_init()
    /// (kernel/time/timer_migration.c) returns before cpuhp_setup_state() when num_possible_cpus() is 1 (the 6.12
    /// guest with one CPU shows neither).</summary>
    public static bool RegisteredOnlyOnSmp(string name) => name.StartsWith("tmigr:", StringComparison.Ordinal);
}
