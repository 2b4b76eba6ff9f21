using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Drivers;

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
    private readonly Dictionary<string, ulong> _backends = [];
    private readonly Dictionary<string, string> _backendUser = [];
    private readonly Dictionary<string, uint> _cpus = [];
    private readonly Dictionary<string, (string Memdev, int Node)> _dimms = [];

    internal Qmp(MachineSpec spec, KernelContext k, AcpiHotplug acpi, DeviceMemory deviceMemory, VirtioMemDriver virtioMem)
    {
        _spec = spec;
        _k = k;
        _acpi = acpi;
        _virtioMemDriver = virtioMem;
        _deviceMemory = deviceMemory;
        foreach (var b in spec.Backends) _backends[b.Id] = b.SizeBytes;
        foreach (var n in spec.Nodes.Where(n => n.MemDev is not null)) _backendUser[n.MemDev!] = "numa";
        // DIMMs plugged at start-up, each with the backend its -object made
        foreach (var d in spec.Dimms)
        {
            _backends[d.Memdev] = d.SizeBytes;
            _backendUser[d.Memdev] = d.Id;
            _dimms[d.Id] = (d.Memdev, d.Node);
        }
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
        if (_backends.ContainsKey(id)) return new($"attempt to add duplicate property '{id}' to object (type 'container')");
        _backends[id] = size;
        return QmpResult.Success;
    }

    /// <summary>object-del: a backend in use by a device cannot go.</summary>
    public QmpResult ObjectDel(IReadOnlyDictionary<string, string> args)
    {
        if (QmpProperty.Unknown(args, QmpProperty.DelProperties, null) is { } unknown) return new(unknown);
        if (!args.TryGetValue("id", out var id)) return new("Parameter 'id' is missing");
        if (!_backends.ContainsKey(id)) return new($"object '{id}' not found");
        if (_backendUser.ContainsKey(id)) return new($"object '{id}' can't be deleted");
        _backends.Remove(id);
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
        if (id is not null && (_cpus.ContainsKey(id) || _dimms.ContainsKey(id) || _virtioMem.ContainsKey(id))) return new($"Duplicate device ID '{id}'");
        bool cpu = driver.EndsWith("-x86_64-cpu", StringComparison.Ordinal);
        if ((cpu || driver == "pc-dimm") && QmpProperty.Unknown(args, cpu ? QmpProperty.CpuProperties : QmpProperty.DimmProperties, driver) is { } unknown)
            return new(unknown);
        if (cpu) return CpuAdd(id ?? $"cpu-anon{_cpus.Count}", args);
        if (driver == "pc-dimm") return DimmAdd(id ?? $"dimm-anon{_dimms.Count}", args);
        if (driver == VirtioMemDevice.Driver) return VirtioMemAdd(id, args, fromQmp: true);
        return new($"'{driver}' is not a valid device model name");
    }

    /// <summary>Models x86_cpu_pre_plug(), hw/i386/x86.c (QEMU 7.2): every topology id must be set and in range (die-id
    /// defaults to 0 with one die), the slot must exist and be free; then the guest's ACPI processor hot-add runs.</summary>
    private QmpResult CpuAdd(string id, IReadOnlyDictionary<string, string> args)
    {
        var smp = _spec.Smp;
        var ids = new Dictionary<string, int>();
        foreach (var (key, count) in new[] { ("socket-id", smp.Sockets), ("die-id", smp.Dies), ("core-id", smp.Cores), ("thread-id", smp.Threads) })
        {
            if (!args.TryGetValue(key, out var v))
            {
                if (key == "die-id" && count == 1) { ids[key] = 0; continue; }
                return new($"CPU {key} is not set");
            }
            if (!QmpProperty.TryInt32(key, v, out var n, out var perr)) return new(perr);
            // x86_cpu_pre_plug(): a negative id is UNASSIGNED_APIC_ID's "not set".
            if (n < 0) return new($"CPU {key} is not set");
            if (n > count - 1) return new($"Invalid CPU {key}: {n} must be in range 0:{count - 1}");
            ids[key] = n;
        }
        var slot = QemuCommandLine.FindSlot(_spec, ids["socket-id"], ids["die-id"], ids["core-id"], ids["thread-id"]);
        if (slot is null)
            return new($"Invalid CPU [socket: {ids["socket-id"]}, die: {ids["die-id"]}, core: {ids["core-id"]}, thread: {ids["thread-id"]}], valid index range 0:{smp.MaxCpus - 1}");
        if (_k.Cpus.CpuOfApicId(slot.ApicId) >= 0 || _cpus.ContainsValue(slot.ApicId))
            return new($"CPU[{slot.Index}] with APIC ID {slot.ApicId} exists");
        int nid = slot.NodeId;
        // numa_cpu_pre_plug(), hw/core/numa.c: a given node-id must be the slot's.
        if (args.TryGetValue("node-id", out var nodeText))
        {
            if (!QmpProperty.TryInt32("node-id", nodeText, out var nodeId, out var nerr)) return new(nerr);
            if (nodeId >= 0 && nodeId != nid) return new($"invalid node-id, must be {nid}");
        }
        _cpus[id] = slot.ApicId;
        using var plug = _k.Trace.Call("x86_cpu_plug", "QEMU hw/i386/x86.c", $"{id}: CPU[{slot.Index}], APIC 0x{slot.ApicId:x}, node {nid}");
        _k.Trace.Decide("acpi_cpu_plug_cb(): an ACPI device check for the new processor; the guest's ACPI scan handles it");
        _acpi.CpuHotAdd(slot.ApicId, nid >= 0 ? nid : 0, out _);
        return QmpResult.Success;
    }

    private QmpResult DimmAdd(string id, IReadOnlyDictionary<string, string> args)
    {
        if (!args.TryGetValue("memdev", out var memdev)) return new("'memdev' property is not set");
        if (!_backends.TryGetValue(memdev, out var size)) return new($"Device '{memdev}' not found");
        if (_backendUser.ContainsKey(memdev)) return new($"can't use already busy memdev: {memdev}");
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
        _backendUser[memdev] = id;
        _dimms[id] = (memdev, (int)node);
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
        if (_cpus.TryGetValue(id, out var apic))
        {
            int cpu = _k.Cpus.CpuOfApicId(apic);
            _k.Trace.Decide($"acpi_cpu_unplug_request_cb(): an ACPI eject request for {id} (CPU {cpu}); QMP answers at once, the guest decides");
            if (cpu >= 0 && _acpi.CpuEject(cpu) != Errno.None) { _k.Trace.Decide($"the guest refused the eject: {id} stays"); return QmpResult.Success; }
            _cpus.Remove(id);
            return QmpResult.Success;
        }
        if (_dimms.TryGetValue(id, out var dimm))
        {
            _k.Trace.Decide($"acpi_memory_unplug_request_cb(): an ACPI eject request for {id}; QMP answers at once, the guest decides");
            if (_acpi.MemoryEject(id) != Errno.None) { _k.Trace.Decide($"the guest refused the eject: {id} stays plugged"); return QmpResult.Success; }
            _deviceMemory.Unplug(id);
            _backendUser.Remove(dimm.Memdev);
            _dimms.Remove(id);
            return QmpResult.Success;
        }
        if (_virtioMem.ContainsKey(id)) return VirtioMemDel();
        return new($"Device '{id}' not found");
    }
}
