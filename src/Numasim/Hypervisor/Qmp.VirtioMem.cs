using System.Globalization;
using Numasim.Firmware;
using Numasim.Kernel.Drivers;

namespace Numasim.Hypervisor;

/// <summary>virtio-mem-pci over QMP (device_add, device_del, qom-set of requested-size) and as a cold-plugged -device,
/// with QEMU 7.2's rules: pc_virtio_md_pci_pre_plug() places it in device memory (memory_device_pre_plug()),
/// virtio_mem_device_realize() checks it, and pc_virtio_md_pci_unplug_request() refuses every unplug.</summary>
public sealed partial class Qmp
{
    private readonly VirtioMemDriver _virtioMemDriver;
    private readonly VirtioMemDevice.Table _virtioMem;

    /// <summary>The realized virtio-mem devices by id.</summary>
    public IReadOnlyDictionary<string, VirtioMemDevice> VirtioMemDevices
    {
        get
        {
            var d = new Dictionary<string, VirtioMemDevice>();
            for (int i = 0; i < _virtioMem.Count; i++)
            {
                var dev = VirtioMemAt(i);
                d[dev.Id] = dev;
            }
            return d;
        }
    }

    private int FindVirtioMem(string id) => _virtioMem.IndexOf(id);

    /// <summary>The handle of the i-th device (a new handle tells the guest's driver of config changes).</summary>
    private VirtioMemDevice VirtioMemAt(int i) => _virtioMem.At(i);

    /// <summary>device_add virtio-mem-pci (or a -device at start-up): properties, pre-plug placement, realize checks;
    /// then the guest's PCI hotplug probes it with the virtio_mem driver, whose first work item plugs requested-size.</summary>
    internal QmpResult VirtioMemAdd(string? id, IReadOnlyDictionary<string, string> args, bool fromQmp)
    {
        var (props, err) = VirtioMemDevice.ParseProps(args, id ?? $"virtio-mem-anon{_virtioMem.Count}", fromQmp);
        if (props is null) return new(err);
        // pre-plug: virtio_mem_get_memory_region() needs the backend
        if (props.Memdev is null) return new("'memdev' property must be set");
        int b = FindBackend(props.Memdev);
        if (b < 0) return new($"Property '{VirtioMemDevice.Driver}.memdev' can't find value '{props.Memdev}'");
        ulong size = _backends[b].Size;
        var plug = _deviceMemory.PlugSlotless(props.Id, size, VirtioMemDevice.EffectiveBlockSize(props), (int)props.Node, props.MemAddr);
        if (!plug.Ok) return new(plug.Error!.Message);
        var realizeErr = VirtioMemDevice.RealizeCheck(props, size, _backends[b].User >= 0, _spec.Nodes.Count);
        if (realizeErr is not null)
        {
            _deviceMemory.Unplug(props.Id);
            return new(realizeErr);
        }
        var dev = VirtioMemDevice.Realize(_virtioMem, props, size, plug.Address);
        _backends.Mut(b).User = _names.Intern(props.Id);
        _virtioMemDriver.Probe(dev, dev.Index);
        _k.Workqueue.Flush();
        return QmpResult.Success;
    }

    /// <summary>The -device options of the machine, realized before the guest boots and probed as it comes up.</summary>
    internal void ColdPlugDevices()
    {
        foreach (var kv in _spec.Devices)
        {
            var args = new Dictionary<string, string>();
            foreach (var (k, v) in kv) args[k] = v;
            args.TryGetValue("id", out var id);
            var r = VirtioMemAdd(id, args, fromQmp: false);
            if (!r.Ok) throw new InvalidOperationException("-device: " + r.Error);   // QemuCommandLine checked it
        }
    }

    /// <summary>pc_virtio_md_pci_unplug_request() of QEMU 7.2: virtio-mem devices cannot be unplugged (8.2+ can).</summary>
    private static QmpResult VirtioMemDel() => new("virtio based memory devices cannot be unplugged.");

    /// <summary>qom-set PATH PROPERTY VALUE: a device under /machine/peripheral/ID; requested-size of a virtio-mem-pci
    /// (virtio_mem_set_requested_size()), whose change the guest hears of as a config interrupt.</summary>
    public QmpResult QomSet(IReadOnlyDictionary<string, string> args)
    {
        if (!args.TryGetValue("path", out var path)) return new("Parameter 'path' is missing");
        if (!args.TryGetValue("property", out var prop)) return new("Parameter 'property' is missing");
        if (!args.TryGetValue("value", out var value)) return new("Parameter 'value' is missing");
        const string peripheral = "/machine/peripheral/";
        var id = path.StartsWith(peripheral, StringComparison.Ordinal) ? path[peripheral.Length..] : null;
        if (id is null || FindVirtioMem(id) is not (>= 0 and var vi))
        {
            bool exists = id is not null && (FindDimm(id) >= 0 || FindCpu(id) >= 0);
            return exists ? new($"Property '{(FindDimm(id!) >= 0 ? "pc-dimm" : "cpu")}.{prop}' not found") : new($"Device '{path}' not found");
        }
        switch (prop)
        {
            case "requested-size":
                if (!ulong.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var bytes))
                    return new("Invalid parameter type for 'requested-size', expected: size");
                var err = VirtioMemAt(vi).SetRequestedSize(bytes);
                _k.Workqueue.Flush();
                return err is null ? QmpResult.Success : new(err);
            case "block-size": return new("'block-size' cannot be changed");
            case "size": return new("Insufficient permission to perform this operation");
            case "memaddr" or "node" or "memdev" or "prealloc":
                return new($"Attempt to set property '{prop}' on device '{id}' (type '{VirtioMemDevice.Driver}') after it was realized");
            default: return new($"Property '{VirtioMemDevice.Driver}.{prop}' not found");
        }
    }
}
