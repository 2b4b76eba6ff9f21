using Numasim.Kernel.Drivers;
using Numasim.Kernel.Log;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Hotplug;

/// <summary>kernel/cpu.c with the x86 smpboot steps: CPUs going up and down.</summary>
public sealed class CpuHotplug
{
    private readonly KernelContext _k;
    private readonly NodeHotplug _nodes;
    private readonly CpuDevices _devices;

    /// <summary>The model of the kernel's own allocations, topped up when CPUs or kernel memory arrive.</summary>
    internal KernelAllocations? KernelAllocations { get; set; }

    internal CpuHotplug(KernelContext k, NodeHotplug nodes, CpuDevices devices)
    {
        _k = k;
        _nodes = nodes;
        _devices = devices;
        devices.OnlineHandler = (cpu, up) => up ? DeviceOnline(cpu) : DeviceOffline(cpu);
        if (k.Profile.CpuhpStates is { } table)
        {
            States = new CpuHotplugStates(k, table) { Change = (cpu, up) => up ? DeviceOnline(cpu) : DeviceOffline(cpu) };
            devices.Extras += States.AddFiles;
        }
    }

    /// <summary>Models device_online() on a CPU: 0 when already online, else cpu_up().</summary>
    private Errno DeviceOnline(int cpu)
    {
        using var call = _k.Trace.Call("device_online", "drivers/base/core.c", $"cpu{cpu}");
        if (_k.Cpus.Online[cpu]) { _k.Trace.Decide($"CPU {cpu} is already online: 0"); return Errno.None; }
        using var subsys = _k.Trace.Call("cpu_subsys_online", "drivers/base/cpu.c", $"cpu{cpu}");
        return CpuUp(cpu);
    }

    /// <summary>Models device_offline() on a CPU: 0 when already offline, else cpu_down().</summary>
    private Errno DeviceOffline(int cpu)
    {
        using var call = _k.Trace.Call("device_offline", "drivers/base/core.c", $"cpu{cpu}");
        if (!_k.Cpus.Online[cpu]) { _k.Trace.Decide($"CPU {cpu} is already offline: 0"); return Errno.None; }
        using var subsys = _k.Trace.Call("cpu_subsys_offline", "drivers/base/cpu.c", $"cpu{cpu}");
        return CpuDown(cpu);
    }

    /// <summary>Models cpu_up(): the CPU must be present; try_online_node(cpu_to_node(cpu)) first, then the
    /// CPU boots ("smpboot: Booting Node N Processor C APIC 0xA") and joins its node's masks.</summary>
    public Errno CpuUp(int cpu)
    {
        using var call = _k.Trace.Call("cpu_up", "kernel/cpu.c", $"cpu {cpu}");
        if (cpu < 0 || cpu >= _k.Cpus.NrCpuIds || !_k.Cpus.Possible[cpu]) return _k.Trace.Fail(Errno.EINVAL, $"CPU {cpu} is not possible");
        if (!_k.Cpus.Present[cpu]) return _k.Trace.Fail(Errno.EINVAL, $"CPU {cpu} is not present");
        if (_k.Cpus.Online[cpu]) return Errno.None;
        int nid = _k.Cpus.CpuToNode(cpu);
        _k.Trace.Decide(nid >= 0, $"cpu_to_node({cpu}) = {nid}: try_online_node({nid}) first", $"cpu_to_node({cpu}) = -1: no node to bring online");
        if (nid >= 0) _nodes.TryOnlineNode(nid, true);
        // An injected failure (cpuN/hotplug/fail) before CPUHP_BRINGUP_CPU ends here; after it, the AP booted and is
        // rolled back (cpuhp_up_callbacks() → undo_cpu_up()). The node try_online_node() brought up stays online.
        int? failAt = States?.TakeFailure(cpu, up: true);
        if (failAt is int f && !States!.AfterBringup(f)) return _k.Trace.Fail(Errno.EAGAIN, $"cpuhp: an injected failure at state {f} (cpu{cpu}/hotplug/fail), before the AP boots");
        if (_k.Booted) AnnounceCpu(cpu, nid);
        if (failAt is not null)
        {
            _k.Log.Printk($"smpboot: CPU {cpu} is now offline");
            return _k.Trace.Fail(Errno.EAGAIN, $"cpuhp: an injected failure at state {failAt} (cpu{cpu}/hotplug/fail), after the AP booted: undo_cpu_up()");
        }
        SetOnline(cpu);
        return Errno.None;
    }

    /// <summary>The CPU hotplug states and their fault injection (null when the profile has no recorded table).</summary>
    public CpuHotplugStates? States { get; }

    /// <summary>Models announce_cpu(), arch/x86/kernel/smpboot.c, after boot: CPU 1 is preceded by the SMP banner.</summary>
    private void AnnounceCpu(int cpu, int nid)
    {
        var apic = _k.Cpus.Identity(cpu)?.ApicId ?? 0;
        if (cpu == 1) _k.Log.Printk("x86: Booting SMP configuration:");
        _k.Log.Printk($"smpboot: Booting Node {nid} Processor {cpu} APIC 0x{apic:x}");
    }

    /// <summary>The CPU's arrival in the masks: set_cpu_online(), numa_add_cpu(), N_CPU (CPUHP_AP_ONLINE steps).</summary>
    internal void SetOnline(int cpu)
    {
        _k.Cpus.Online.Set(cpu);
        _k.Cpus.NumaAddCpu(cpu);
        int nid = _k.Cpus.CpuToNode(cpu);
        _k.Trace.Change($"CPU {cpu} online on node {nid} (cpu_online_mask, node_to_cpumask_map[{nid}], N_CPU)");
        if (nid >= 0) _k.NodeStates.Set(nid, NodeState.Cpu);
        // topology_add_dev(): cpuN/topology/ shows while the CPU is online (a view of cpu_online_mask).
        KernelAllocations?.Refill(nid);
        if (_k.Booted) _devices.CacheOnline(cpu); // CPUHP_AP_BASE_CACHEINFO_ONLINE (at boot: cacheinfo_sysfs_init())
        if (_k.Booted) _k.Uevents.Emit(UeventAction.Online, $"/devices/system/cpu/cpu{cpu}", "cpu");
    }

    /// <summary>Models cpu_down(): the last online CPU cannot go (EBUSY); N_CPU is cleared when the node has no
    /// online CPU left ("smpboot: CPU N is now offline").</summary>
    public Errno CpuDown(int cpu)
    {
        using var call = _k.Trace.Call("cpu_down", "kernel/cpu.c", $"cpu {cpu}");
        if (cpu < 0 || cpu >= _k.Cpus.NrCpuIds || !_k.Cpus.Present[cpu]) return _k.Trace.Fail(Errno.EINVAL, $"CPU {cpu} is not present");
        if (!_k.Cpus.Online[cpu]) return Errno.None;
        if (_k.Cpus.Online.Weight() == 1) return _k.Trace.Fail(Errno.EBUSY, $"CPU {cpu} is the last online CPU (num_online_cpus() == 1)");
        // An injected failure on the way down rolls the CPU back up, silently (cpuhp_down_callbacks() → undo_cpu_down()).
        if (States?.TakeFailure(cpu, up: false) is not null) return _k.Trace.Fail(Errno.EAGAIN, $"cpuhp: an injected failure (cpu{cpu}/hotplug/fail); the CPU is rolled back up");
        int nid = _k.Cpus.CpuToNode(cpu);
        _k.Trace.Change($"CPU {cpu} offline; cpu_to_node({cpu}) stays {nid}");
        _k.Cpus.Online.Clear(cpu);
        _k.Cpus.NumaRemoveCpu(cpu);
        if (nid >= 0 && _k.Cpus.CpumaskOfNode(nid).IsEmpty) _k.NodeStates.Clear(nid, NodeState.Cpu);
        _k.Log.Printk($"smpboot: CPU {cpu} is now offline");
        _k.Uevents.Emit(UeventAction.Offline, $"/devices/system/cpu/cpu{cpu}", "cpu");
        return Errno.None;
    }
}
