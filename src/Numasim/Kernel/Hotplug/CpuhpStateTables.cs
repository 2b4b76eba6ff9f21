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
}
