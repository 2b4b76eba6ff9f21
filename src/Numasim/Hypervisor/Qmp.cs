using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Drivers;
using Numasim.Snapshots;

namespace Numasim.Hypervisor;

/// <summary>The result of a QMP command: success, or QEMU's error description.</summary>
public readonly record struct QmpResult(string? Error)
{
    public bool Ok => Error is null;
    public static readonly QmpResult Success = new(null);
}

/// <summary>
/// The hypervisor side of hotplug, as QEMU's QMP takes it: object-add/object-del of memory backends,
/// device_add/device_del of *-x86_64-cpu and pc-dimm devices. Plugs raise the guest's ACPI events.
/// </summary>
public sealed partial class Qmp
{
    private readonly MachineSpec _spec;
    private readonly AcpiHotplug _acpi;
    private readonly KernelContext _k;
    private readonly DeviceMemory _deviceMemory;

    // QEMU's objects and devices as records of the compact state, their ids in a name pool: memory backends (with
    // the id of what uses them: a DIMM or "numa"), CPUs (id -> APIC id) and DIMMs (id -> backend, node).
    private struct Backend : INamedRecord { public int Id, User; public ulong Size; public readonly int NameIndex => Id; }
    private struct Cpu : INamedRecord { public int Id; public uint Apic; public readonly int NameIndex => Id; }
    private struct Dimm : INamedRecord { public int Id, Memdev, Node; public readonly int NameIndex => Id; }

    private readonly StateStrings _names;
    private readonly StateArray<Backend> _backends;
    private readonly StateArray<Cpu> _cpus;
    private readonly StateArray<Dimm> _dimms;

    internal Qmp(MachineSpec spec, KernelContext k, AcpiHotplug acpi, DeviceMemory deviceMemory, VirtioMemDriver virtioMem)
    {
        _spec = spec;
        _k = k;
        _acpi = acpi;
        _virtioMemDriver = virtioMem;
        _names = new StateStrings(k.State, "qmp ids");
        _backends = new StateArray<Backend>(k.State, "qmp memory backends");
        _cpus = new StateArray<Cpu>(k.State, "qmp cpus");
        _dimms = new StateArray<Dimm>(k.State, "qmp dimms");
        _virtioMem = new VirtioMemDevice.Table(k.State, _names, dev => dev.ConfigChanged = () => _virtioMemDriver.ConfigChanged(dev));
        _virtioMemDriver.DeviceOf = VirtioMemAt;
        _deviceMemory = deviceMemory;
        int numa = _names.Intern("numa");
        foreach (var b in spec.Backends) _backends.Add(new Backend { Id = _names.Intern(b.Id), User = -1, Size = b.SizeBytes });
        foreach (var n in spec.Nodes.Where(n => n.MemDev is not null))
            if (FindBackend(n.MemDev!) is var i and >= 0) _backends.Mut(i).User = numa;
        // DIMMs plugged at start-up, each with the backend its -object made
        foreach (var d in spec.Dimms)
        {
            int id = _names.Intern(d.Id), memdev = _names.Intern(d.Memdev);
            if (FindBackend(d.Memdev) is var b and >= 0)
            {
                ref var backend = ref _backends.Mut(b);
                backend.Size = d.SizeBytes;
                backend.User = id;
            }
            else _backends.Add(new Backend { Id = memdev, User = id, Size = d.SizeBytes });
            _dimms.Add(new Dimm { Id = id, Memdev = memdev, Node = d.Node });
        }
    }

    private int FindBackend(string id) => _backends.IndexOfName(_names, id);
    private int FindCpu(string id) => _cpus.IndexOfName(_names, id);
    private int FindDimm(string id) => _dimms.IndexOfName(_names, id);

    private bool CpuApicTaken(uint apic)
    {
        foreach (ref readonly var c in _cpus.Items)
            if (c.Apic == apic) return true;
        return false;
    }

    /// <summary>The DIMM slots and the DIMMs plugged in them (read only: for pictures and reports).</summary>
    public DeviceMemory DeviceMemory => _deviceMemory;

    /// <summary>object-add: only memory-backend-ram is modelled.</summary>
    public QmpResult ObjectAdd(IReadOnlyDictionary<string, string> args)
    {
        if (!args.TryGetValue("qom-type", out var type)) return new("Parameter 'qom-type' is missing");
        if (!args.TryGetValue("id", out var id)) return new("Parameter 'id' is missing");
        if (type != "memory-backend-ram") return new($"Invalid parameter type for 'qom-type', expected: memory-backend-ram");
        if (QmpProperty.Unknown(args, QmpProperty.BackendProperties, null) is { } unknown) return new(unknown);
        if (!args.TryGetValue("size", out var sz)) return new("can't create backend with size 0");
        if (!QmpProperty.TryUInt64Number("size", sz, out var size, out var serr)) return new(serr);
        if (size == 0) return new("can't create backend with size 0");
        if (FindBackend(id) >= 0) return new($"attempt to add duplicate property '{id}' to object (type 'container')");
        _backends.Add(new Backend { Id = _names.Intern(id), User = -1, Size = size });
        return QmpResult.Success;
    }

    /// <summary>object-del: a backend in use by a device cannot go.</summary>
    public QmpResult ObjectDel(IReadOnlyDictionary<string, string> args)
    {
        if (QmpProperty.Unknown(args, QmpProperty.DelProperties, null) is { } unknown) return new(unknown);
        if (!args.TryGetValue("id", out var id)) return new("Parameter 'id' is missing");
        int b = FindBackend(id);
        if (b < 0) return new($"object '{id}' not found");
        if (_backends[b].User >= 0) return new($"object '{id}' can't be deleted");
        _backends.RemoveAt(b);
        return QmpResult.Success;
    }

    /// <summary>device_add of a CPU or a pc-dimm.</summary>
    public QmpResult DeviceAdd(IReadOnlyDictionary<string, string> args)
    {
        using var call = _k.Trace.Call("qmp_device_add", "QEMU softmmu/qdev-monitor.c", $"{string.Join(",", args.Select(kv => kv.Key + "=" + kv.Value))}");
        return Traced(DeviceAddChecked(args));
    }

    /// <summary>A QMP error, in the trace as QEMU's refusal (the guest never hears of it).</summary>
    private QmpResult Traced(QmpResult r)
    {
        if (!r.Ok) _k.Trace.Decide($"QEMU refuses: {r.Error}");
        return r;
    }

    private QmpResult DeviceAddChecked(IReadOnlyDictionary<string, string> args)
    {
        if (!args.TryGetValue("driver", out var driver)) return new("Parameter 'driver' is missing");
        args.TryGetValue("id", out var id);
        if (id is not null && (FindCpu(id) >= 0 || FindDimm(id) >= 0 || FindVirtioMem(id) >= 0)) return new($"Duplicate device ID '{id}'");
        bool cpu = driver.EndsWith("-x86_64-cpu", StringComparison.Ordinal);
        if ((cpu || driver == "pc-dimm") && QmpProperty.Unknown(args, cpu ? QmpProperty.CpuProperties : QmpProperty.DimmProperties, driver) is { } unknown)
            return new(unknown);
        if (cpu) return CpuAdd(id ?? $"cpu-anon{_cpus.Length}", args);
        if (driver == "pc-dimm") return DimmAdd(id ?? $"dimm-anon{_dimms.Length}", args);
        if (driver == VirtioMemDevice.Driver) return VirtioMemAdd(id, args, fromQmp: true);
        return new($"'{driver}' is not a valid device model name");
    }

    /// <summary>Models x86_cpu_pre_plug(), hw/i386/x86.c (QEMU 7.2): every topology id must be set and in range (die-id
    /// defaults to 0 with one die), the slot must exist and be free; then the guest's ACPI processor hot-add runs.</summary>
    private static readonly string[] CpuIdKeys = ["socket-id", "die-id", "core-id", "thread-id"];

    private QmpResult CpuAdd(string id, IReadOnlyDictionary<string, string> args)
    {
        var smp = _spec.Smp;
        // socket-id, die-id, core-id, thread-id (CpuIdKeys), in that order.
        Span<int> ids = stackalloc int[4];
        for (int i = 0; i < CpuIdKeys.Length; i++)
        {
            string key = CpuIdKeys[i];
            int count = i switch { 0 => smp.Sockets, 1 => smp.Dies, 2 => smp.Cores, _ => smp.Threads };
            if (!args.TryGetValue(key, out var v))
            {
                if (i == 1 && count == 1) { ids[i] = 0; continue; }
                return new($"CPU {key} is not set");
            }
            if (!QmpProperty.TryInt32(key, v, out var n, out var perr)) return new(perr);
            // x86_cpu_pre_plug(): a negative id is UNASSIGNED_APIC_ID's "not set".
            if (n < 0) return new($"CPU {key} is not set");
            if (n > count - 1) return new($"Invalid CPU {key}: {n} must be in range 0:{count - 1}");
            ids[i] = n;
        }
        var slot = QemuCommandLine.FindSlot(_spec, ids[0], ids[1], ids[2], ids[3]);
        if (slot is null)
            return new($"Invalid CPU [socket: {ids[0]}, die: {ids[1]}, core: {ids[2]}, thread: {ids[3]}], valid index range 0:{smp.MaxCpus - 1}");
        if (_k.Cpus.CpuOfApicId(slot.ApicId) >= 0 || CpuApicTaken(slot.ApicId))
            return new($"CPU[{slot.Index}] with APIC ID {slot.ApicId} exists");
        int nid = slot.NodeId;
        // numa_cpu_pre_plug(), hw/core/numa.c: a given node-id must be the slot's.
        if (args.TryGetValue("node-id", out var nodeText))
        {
            if (!QmpProperty.TryInt32("node-id", nodeText, out var nodeId, out var nerr)) return new(nerr);
            if (nodeId >= 0 && nodeId != nid) return new($"invalid node-id, must be {nid}");
        }
        _cpus.Add(new Cpu { Id = _names.Intern(id), Apic = slot.ApicId });
        using var plug = _k.Trace.Call("x86_cpu_plug", "QEMU hw/i386/x86.c", $"{id}: CPU[{slot.Index}], APIC 0x{slot.ApicId:x}, node {nid}");
        _k.Trace.Decide("acpi_cpu_plug_cb(): an ACPI device check for the new processor; the guest's ACPI scan handles it");
        _acpi.CpuHotAdd(slot.ApicId, nid >= 0 ? nid : 0, out _);
        return QmpResult.Success;
    }

    private QmpResult DimmAdd(string id, IReadOnlyDictionary<string, string> args)
    {
        if (!args.TryGetValue("memdev", out var memdev)) return new("'memdev' property is not set");
        int b = FindBackend(memdev);
        if (b < 0) return new($"Device '{memdev}' not found");
        ulong size = _backends[b].Size;
        if (_backends[b].User >= 0) return new($"can't use already busy memdev: {memdev}");
        uint node = 0;
        if (args.TryGetValue("node", out var n) && !QmpProperty.TryUInt32("node", n, out node, out var nerr)) return new(nerr);
        if (node > int.MaxValue) return new($"'DIMM property node has value {node}' which exceeds the number of numa nodes: {Math.Max(_deviceMemory.NumaNodes, 1)}");
        int? slot = null;
        ulong? addr = null;
        if (args.TryGetValue("slot", out var st))
        {
            if (!QmpProperty.TryInt32("slot", st, out var sv, out var serr)) return new(serr);
            if (sv >= 0 || sv < -1) slot = sv; // -1 is the property's "any free slot"
        }
        if (args.TryGetValue("addr", out var at))
        {
            if (!QmpProperty.TryUInt64("addr", at, out var av, out var aerr)) return new(aerr);
            if (av != 0) addr = av; // 0 is the property's "pick an address"
        }
        var plug = _deviceMemory.Plug(id, size, (int)node, slot, addr);
        if (!plug.Ok) return new(plug.Error!.Message);
        int idName = _names.Intern(id);
        _backends.Mut(b).User = idName;
        _dimms.Add(new Dimm { Id = idName, Memdev = _backends[b].Id, Node = (int)node });
        using var memPlug = _k.Trace.Call("pc_memory_plug", "QEMU hw/i386/pc.c", $"{id}: slot {plug.Dimm!.Slot}, [mem 0x{plug.Address:x}-0x{plug.Address + size - 1:x}], node {node}");
        _k.Trace.Decide("acpi_memory_plug_cb(): an ACPI device check for the new memory device; the guest's ACPI scan handles it");
        var err = _acpi.MemoryAdd(id, plug.Dimm!.Slot, plug.Address, size, (int)node);
        return err == Errno.None ? QmpResult.Success : new($"guest refused the memory: {err}");
    }

    /// <summary>device_del: an ACPI eject request the guest handles; a refused eject leaves the device in place.</summary>
    public QmpResult DeviceDel(IReadOnlyDictionary<string, string> args)
    {
        using var call = _k.Trace.Call("qmp_device_del", "QEMU softmmu/qdev-monitor.c", $"{string.Join(",", args.Select(kv => kv.Key + "=" + kv.Value))}");
        return Traced(DeviceDelChecked(args));
    }

    private QmpResult DeviceDelChecked(IReadOnlyDictionary<string, string> args)
    {
        if (QmpProperty.Unknown(args, QmpProperty.DelProperties, null) is { } unknown) return new(unknown);
        if (!args.TryGetValue("id", out var id)) return new("Parameter 'id' is missing");
        if (FindCpu(id) is var ci and >= 0)
        {
            int cpu = _k.Cpus.CpuOfApicId(_cpus[ci].Apic);
            _k.Trace.Decide($"acpi_cpu_unplug_request_cb(): an ACPI eject request for {id} (CPU {cpu}); QMP answers at once, the guest decides");
            if (cpu >= 0 && _acpi.CpuEject(cpu) != Errno.None) { _k.Trace.Decide($"the guest refused the eject: {id} stays"); return QmpResult.Success; }
            _cpus.RemoveAt(FindCpu(id));
            return QmpResult.Success;
        }
        if (FindDimm(id) >= 0)
        {
            _k.Trace.Decide($"acpi_memory_unplug_request_cb(): an ACPI eject request for {id}; QMP answers at once, the guest decides");
            if (_acpi.MemoryEject(id) != Errno.None) { _k.Trace.Decide($"the guest refused the eject: {id} stays plugged"); return QmpResult.Success; }
            _deviceMemory.Unplug(id);
            int di = FindDimm(id);
            for (int i = 0; i < _backends.Length; i++)
                if (_backends[i].Id == _dimms[di].Memdev) _backends.Mut(i).User = -1;
            _dimms.RemoveAt(di);
            return QmpResult.Success;
        }
        if (FindVirtioMem(id) >= 0) return VirtioMemDel();
        return new($"Device '{id}' not found");
    }
}
