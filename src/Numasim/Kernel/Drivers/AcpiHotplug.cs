using Numasim.Kernel.Hotplug;
using Numasim.Kernel.Log;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Drivers;

/// <summary>drivers/acpi/acpi_processor.c and drivers/acpi/acpi_memhotplug.c: the guest side of QEMU's ACPI
/// CPU and memory hotplug (device check and eject requests).</summary>
public sealed class AcpiHotplug
{
    private readonly KernelContext _k;
    private readonly CpuHotplug _cpuHotplug;
    private readonly CpuDevices _cpuDevices;
    private readonly NodeDevices _nodeDevices;
    private readonly NodeHotplug _nodeHotplug;
    private readonly MemoryHotplug _memory;
    private readonly MemoryDevices _memoryDevices;

    internal AcpiHotplug(KernelContext k, CpuHotplug cpuHotplug, CpuDevices cpuDevices, NodeDevices nodeDevices,
        NodeHotplug nodeHotplug, MemoryHotplug memory, MemoryDevices memoryDevices)
    {
        _k = k;
        _cpuHotplug = cpuHotplug;
        _cpuDevices = cpuDevices;
        _nodeDevices = nodeDevices;
        _nodeHotplug = nodeHotplug;
        _memory = memory;
        _memoryDevices = memoryDevices;
    }

    /// <summary>Models acpi_processor_hotadd_init() → acpi_map_cpu(): the lowest non-present possible CPU number
    /// takes the APIC id, acpi_map_cpu2node() sets its node from _PXM, the cpuN device appears offline.
    /// Returns the logical CPU, or -1 when the kernel refuses.</summary>
    public int CpuHotAdd(uint apicId, int nid, out Errno err)
    {
        using var call = _k.Trace.Call("acpi_processor_add", "drivers/acpi/acpi_processor.c", $"APIC 0x{apicId:x}, _PXM node {nid}");
        using var hotadd = _k.Trace.Call("acpi_processor_hotadd_init", "drivers/acpi/acpi_processor.c");
        err = Errno.None;
        int cpu = _k.Cpus.Possible.Bits().FirstOrDefault(c => !_k.Cpus.Present[c], -1);
        if (cpu < 0 || _k.Profile.AcpiCpuHotAddRefused)
        {
            _k.Log.Printk("ACPI: Unable to map lapic to logical cpu number");
            err = _k.Trace.Fail(Errno.ENODEV, cpu < 0 ? "acpi_map_cpu(): every possible CPU is present already"
                : "acpi_map_cpu(): this profile refuses the hot-add on QEMU 7.2's firmware (as the real kernel did)");
            return -1;
        }
        _k.Trace.Decide($"acpi_map_cpu(): CPU {cpu}, the lowest possible CPU that is not present, takes APIC 0x{apicId:x}");
        var slot = _k.Machine.CpuSlots.FirstOrDefault(s => s.ApicId == apicId);
        _k.Cpus.SetIdentity(cpu, Arch.X86Smp.CpuIdentityOf(_k.Machine, apicId, slot?.SocketId ?? 0, slot?.DieId ?? 0, slot?.CoreId ?? 0, slot?.ThreadId ?? 0));
        _k.Cpus.Present.Set(cpu);
        if (nid != NumaConstants.NumaNoNode)
        {
            using var map = _k.Trace.Call("acpi_map_cpu2node", "arch/x86/kernel/acpi/boot.c", $"cpu {cpu}, node {nid}");
            _k.Trace.Change($"cpu_to_node({cpu}): {_k.Cpus.CpuToNode(cpu)} → {nid} (numa_set_node())");
            _k.ApicToNode[apicId] = nid;
            _k.Cpus.NumaSetNode(cpu, nid);
        }
        _k.Log.Printk($"CPU{cpu} has been hot-added");
        _cpuDevices.RegisterCpu(cpu, _nodeDevices);
        return cpu;
    }

    /// <summary>Models the eject of a processor device: acpi_scan_hot_remove() offlines it (cpu_down()), then
    /// acpi_processor_post_eject() unregisters it, acpi_unmap_cpu() clears its presence (not its node), and
    /// try_offline_node(cpu_to_node(cpu)) runs.</summary>
    public Errno CpuEject(int cpu)
    {
        using var call = _k.Trace.Call("acpi_scan_hot_remove", "drivers/acpi/scan.c", $"processor of CPU {cpu}");
        if (_k.Cpus.Online[cpu])
        {
            using var offline = _k.Trace.Call("acpi_scan_try_to_offline", "drivers/acpi/scan.c");
            var e = _cpuHotplug.CpuDown(cpu);
            if (e != Errno.None) return _k.Trace.Fail(e, $"CPU {cpu} would not go offline: the eject is refused");
        }
        using var remove = _k.Trace.Call(_k.Profile.ClearCpuNodeOnNodeOffline ? "acpi_processor_remove" : "acpi_processor_post_eject", "drivers/acpi/acpi_processor.c", $"cpu {cpu}");
        _cpuDevices.UnregisterCpu(cpu, _nodeDevices);
        var id = _k.Cpus.Identity(cpu);
        if (id is not null) _k.ApicToNode.Remove(id.ApicId);
        _k.Cpus.SetIdentity(cpu, null);
        _k.Cpus.Present.Clear(cpu);
        int nid = _k.Cpus.CpuToNode(cpu);
        _k.Trace.Change($"CPU {cpu} no longer present (acpi_unmap_cpu()); cpu_to_node({cpu}) stays {nid}");
        if (nid >= 0) _nodeHotplug.TryOfflineNode(nid);
        return Errno.None;
    }

    /// <summary>Models acpi_memory_enable_device() → __add_memory() → add_memory_resource(): the node is prepared
    /// (__try_online_node(nid, false)), memory blocks appear offline, a new node is set online and registered,
    /// and the blocks are onlined when auto_online_blocks says so.</summary>
    public Errno MemoryAdd(string deviceId, ulong start, ulong size, int nid)
    {
        using var call = _k.Trace.Call("acpi_memory_device_add", "drivers/acpi/acpi_memhotplug.c", $"{deviceId}, node {nid}");
        using var add = _k.Trace.Call("add_memory_resource", "mm/memory_hotplug.c", $"[mem 0x{start:x}-0x{start + size - 1:x}], node {nid}");
        long startPfn = Page.PfnOf(start), nr = Page.PfnOf(size);
        long ppb = _k.PagesPerBlock;
        if (startPfn % ppb != 0 || nr % ppb != 0) return _k.Trace.Fail(Errno.EINVAL, $"the range is not aligned to the memory block size ({_k.MemoryBlockSize >> 20} MiB; check_hotplug_memory_range())");
        for (long pfn = startPfn; pfn < startPfn + nr; pfn += ppb)
            if (_k.FindMemoryBlock(pfn / ppb) is not null) return _k.Trace.Fail(Errno.EEXIST, $"memory{pfn / ppb} exists already");
        bool newNode = _nodeHotplug.TryOnlineNode(nid, setNodeOnline: false) == 1;
        var blocks = new List<MemoryBlock>();
        for (long pfn = startPfn; pfn < startPfn + nr; pfn += ppb)
        {
            var mb = new MemoryBlock(pfn / ppb, pfn, ppb, nid, hotplugged: true) { PresentPages = ppb, DeviceId = deviceId };
            _memoryDevices.AddMemoryBlock(mb);
            blocks.Add(mb);
        }
        _k.Trace.Change($"memory{blocks[0].Id}-memory{blocks[^1].Id} added offline on node {nid} (create_memory_block_devices())");
        if (newNode)
        {
            _k.Trace.Change($"node_states[N_ONLINE] += node {nid} and __register_one_node({nid}): a new node");
            _k.NodeStates.Set(nid, NodeState.Online);
            _nodeDevices.RegisterOneNode(nid);
        }
        else
        {
            foreach (var mb in blocks) _nodeDevices.LinkMemoryBlock(mb, nid);
        }
        _k.Trace.Decide($"auto_online_blocks = {MemoryDevices.OnlineTypeName(_k.DefaultOnlineType)}{(_k.DefaultOnlineType == OnlineType.Offline ? ": the blocks stay offline" : ": online_memory_block() for each")}");
        if (_k.DefaultOnlineType != OnlineType.Offline)
            foreach (var mb in blocks) _memory.Online(mb, _k.DefaultOnlineType);
        return Errno.None;
    }

    /// <summary>Models the eject of a memory device: acpi_scan_try_to_offline() offlines every block; when one
    /// refuses, the ones already offlined are onlined again and the eject fails. Then __remove_memory() removes
    /// the blocks and try_offline_node() runs.</summary>
    public Errno MemoryEject(string deviceId)
    {
        using var call = _k.Trace.Call("acpi_scan_hot_remove", "drivers/acpi/scan.c", $"memory device {deviceId}");
        var blocks = _k.AllMemoryBlocks.Where(b => b.DeviceId == deviceId).ToList();
        if (blocks.Count == 0) return _k.Trace.Fail(Errno.ENODEV, $"no memory block belongs to {deviceId}");
        var offlined = new List<MemoryBlock>();
        using (var tryOffline = _k.Trace.Call("acpi_scan_try_to_offline", "drivers/acpi/scan.c"))
        {
            foreach (var mb in blocks)
            {
                if (mb.State == MemoryBlockState.Offline) continue;
                var e = _memory.Offline(mb);
                if (e != Errno.None)
                {
                    _k.Log.Printk($"memory memory{mb.Id}: Offline failed.");
                    // acpi_bus_online(): device_online() without an online type, so MMOP_ONLINE picks the default zone
                    // again, not necessarily the zone the block had (the real 6.1 guest showed a movable block come back Normal).
                    foreach (var b in offlined) _memory.Online(b, OnlineType.Online);
                    return _k.Trace.Fail(e, $"memory{mb.Id} would not go offline: the eject is refused, the blocks offlined for it are onlined again");
                }
                offlined.Add(mb);
            }
        }
        int nid = blocks[0].Nid;
        using var remove = _k.Trace.Call("__remove_memory", "mm/memory_hotplug.c", $"{deviceId}, node {nid}");
        _k.Trace.Change($"memory{blocks[0].Id}-memory{blocks[^1].Id} removed (remove_memory_block_devices())");
        foreach (var mb in blocks)
        {
            _nodeDevices.UnlinkMemoryBlock(mb);
            _memoryDevices.RemoveMemoryBlock(mb);
        }
        _nodeHotplug.TryOfflineNode(nid);
        return Errno.None;
    }
}
