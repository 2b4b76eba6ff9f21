using Numasim.Snapshots;
using Numasim.Kernel.Hotplug;
using Numasim.Kernel.Log;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Arch;

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

    /// <summary>/sys/firmware/memmap, which add_memory_resource() and try_remove_memory() keep.</summary>
    internal FirmwareMemmap? FirmwareMemmap { get; init; }

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
        _groupOf = new(k.State, "acpi memory device groups");
        _groupNames = new(k.State, "acpi memory device ids");
    }

    /// <summary>Models acpi_processor_hotadd_init() → acpi_map_cpu(): the lowest non-present possible CPU number
    /// takes the APIC id, acpi_map_cpu2node() sets its node from _PXM, the cpuN device appears offline.
    /// Returns the logical CPU, or -1 when the kernel refuses.</summary>
    public int CpuHotAdd(uint apicId, int pxm, out Errno err)
    {
        int nid = AcpiNuma.PxmToNode(_k, pxm);   // acpi_map_cpu2node(): acpi_get_node() of the processor's _PXM
        using var call = _k.Trace.Call("acpi_processor_add", "drivers/acpi/acpi_processor.c", $"APIC 0x{apicId:x}, _PXM {pxm} → node {nid}");
        using var hotadd = _k.Trace.Call("acpi_processor_hotadd_init", "drivers/acpi/acpi_processor.c");
        err = Errno.None;
        var slot = _k.Machine.CpuSlots.FirstOrDefault(s => s.ApicId == apicId);
        // firmware CPU numbers (MachineSpec.FirmwareCpuIds): the CPU keeps its slot's number
        int cpu = _k.Machine.FirmwareCpuIds && slot is not null ? (_k.Cpus.Present[slot.Index] ? -1 : slot.Index)
            : _k.Cpus.Possible.Bits().FirstOrDefault(c => !_k.Cpus.Present[c], -1);
        if (cpu < 0 || _k.Profile.AcpiCpuHotAddRefused)
        {
            _k.Log.Printk("ACPI: Unable to map lapic to logical cpu number");
            err = _k.Trace.Fail(Errno.ENODEV, cpu < 0 ? "acpi_map_cpu(): every possible CPU is present already"
                : "acpi_map_cpu(): this profile refuses the hot-add on QEMU 7.2's firmware (as the real kernel did)");
            return -1;
        }
        _k.Trace.Decide(_k.Machine.FirmwareCpuIds && slot is not null, $"acpi_map_cpu(): CPU {cpu}, the slot's firmware CPU number, takes APIC 0x{apicId:x}",
            $"acpi_map_cpu(): CPU {cpu}, the lowest possible CPU that is not present, takes APIC 0x{apicId:x}");
        _k.Cpus.SetIdentity(cpu, Arch.X86Smp.IdentityOfApic(_k.Machine, apicId, _k.Profile.AmdTopologyFromLeaf0xB));
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

    /// <summary>Models acpi_memory_enable_device() → __add_memory() → add_memory_resource(): the device's node is
    /// acpi_get_node() of its _PXM (pxm_to_node()), else memory_add_physaddr_to_nid() of its start; a static memory
    /// group of the device's size; memmap_on_memory asked for as the version does (v6.1: only when the range
    /// supports it; v6.12: always, applied per block). <paramref name="slot"/> is the DIMM's slot (its ACPI device
    /// PNP0C80:SS); <paramref name="onlineTypeOf"/> gives the online type of a block it names (what a udev rule or the
    /// machine's user gave it at the add), else auto_online_blocks decides. The range joins /sys/firmware/memmap
    /// (firmware_map_add_hotplug(), "System RAM" only).</summary>
    public Errno MemoryAdd(string deviceId, int slot, ulong start, ulong size, int pxm, Func<long, OnlineType?>? onlineTypeOf = null)
    {
        int nid = AcpiNuma.PxmToNode(_k, pxm);
        if (nid < 0) nid = AcpiNuma.MemoryAddPhysaddrToNid(_k, start);
        using var call = _k.Trace.Call("acpi_memory_device_add", "drivers/acpi/acpi_memhotplug.c", $"{deviceId}, _PXM {pxm} → node {nid}");
        int mgid = _k.MemoryGroups.RegisterStatic(nid, Page.PfnOf(size));
        if (mgid < 0) return (Errno)(-mgid);
        var flags = MhpFlags.NidIsMgid;
        if (_k.Profile.MemmapOnMemoryPerBlock || _memory.MhpSupportsMemmapOnMemory(size)) flags |= MhpFlags.MemmapOnMemory;
        var err = _memory.AddMemoryResource(mgid, start, size, flags, deviceId, slot, onlineTypeOf);
        if (err != Errno.None && err != Errno.EEXIST) _k.MemoryGroups.Unregister(mgid);
        else
        {
            var groups = _groupOf;
            int i = groups.IndexOfName(_groupNames, deviceId);
            if (i >= 0) groups.Mut(i).Mgid = mgid;
            else groups.Add(new DeviceGroup { Device = _groupNames.Intern(deviceId), Mgid = mgid });
        }
        if (err == Errno.None) FirmwareMemmap?.AddHotplug(start, start + size);
        return err;
    }

    /// <summary>The memory group of each ACPI memory device (acpi_memory_device->mgid), as records of the compact
    /// state (the device id in a name pool).</summary>
    private struct DeviceGroup : Snapshots.INamedRecord
    {
        public int Device, Mgid;
        public readonly int NameIndex => Device;
    }

    private readonly Snapshots.StateArray<DeviceGroup> _groupOf;
    private readonly Snapshots.StateStrings _groupNames;

    /// <summary>Models the eject of a memory device: acpi_scan_try_to_offline() offlines every block; when one
    /// refuses, the ones already offlined are onlined again and the eject fails. Then acpi_memory_remove_memory()
    /// → __remove_memory() removes the blocks (try_offline_node() runs) and the memory group goes.</summary>
    public Errno MemoryEject(string deviceId)
    {
        using var call = _k.Trace.Call("acpi_scan_hot_remove", "drivers/acpi/scan.c", $"memory device {deviceId}");
        var blocks = new List<MemoryBlock>();
        foreach (var b in _k.AllMemoryBlocks)
            if (b.DeviceId == deviceId) blocks.Add(b);
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
        using var remove = _k.Trace.Call("__remove_memory", "mm/memory_hotplug.c", $"{deviceId}, node {blocks[0].Nid}");
        _memory.RemoveMemory(Page.AddrOf(blocks[0].StartPfn), (ulong)blocks.Count * _k.MemoryBlockSize);
        if (FirmwareMemmap is { } memmap)
        {
            long lo = long.MaxValue, hi = long.MinValue;
            foreach (var b in blocks) { lo = Math.Min(lo, b.StartPfn); hi = Math.Max(hi, b.EndPfn); }
            memmap.Remove(Page.AddrOf(lo), Page.AddrOf(hi));
        }
        if (_groupOf.IndexOfName(_groupNames, deviceId) is var g and >= 0)
        {
            _k.MemoryGroups.Unregister(_groupOf[g].Mgid);
            _groupOf.RemoveAt(g);
        }
        return Errno.None;
    }
}
