using Numasim.Kernel.Hotplug;
using Numasim.Kernel.Mm;

namespace Numasim.Kernel.Drivers;

/// <summary>
/// The virtio_mem module (drivers/virtio/virtio_mem.c): its device list, the one online_page callback all devices
/// share (set_online_page_callback()), and the virtio bus's probe of each virtio-mem device as it appears (cold-
/// plugged at boot, or hot-plugged over PCI). Virtio device indexes come from the virtio core's ida: the lowest free.
/// </summary>
public sealed class VirtioMemDriver
{
    private readonly KernelContext _k;
    private readonly MemoryHotplug _mhp;
    private readonly List<VirtioMem> _devices = [];
    private readonly SortedSet<int> _indexes = [];

    internal VirtioMemDriver(KernelContext k, MemoryHotplug mhp)
    {
        _k = k;
        _mhp = mhp;
    }

    /// <summary>The module's parameters as it was loaded: virtio_mem.force_bbm=, bbm_block_size=, unplug_online= from
    /// the command line (modprobe passes them on), parsed as param_set_bool()/param_set_ulong() take them.</summary>
    public VirtioMemModule Module => _module ??= VirtioMemModule.From(_k.Boot.ModuleOptions.Where(o => o.Module == "virtio_mem"));

    private VirtioMemModule? _module;

    /// <summary>The driver instances, in probe order.</summary>
    public IReadOnlyList<VirtioMem> Devices => _devices;

    /// <summary>Models virtio_dev_probe() → virtio_mem_probe() for a new device; the first registers the online_page
    /// callback (register_virtio_mem_device()). The initial plugging runs as queued work.</summary>
    public VirtioMem? Probe(IVirtioMemDevice dev)
    {
        int index = 0;
        while (_indexes.Contains(index)) index++;
        _indexes.Add(index);
        var vm = new VirtioMem(_k, _mhp, dev, index) { Module = Module };
        if (vm.Probe() != Errno.None)
        {
            _indexes.Remove(index);
            return null;
        }
        _devices.Add(vm);
        _mhp.OnlinePageCallback ??= OnlinePageCb;
        return vm;
    }

    /// <summary>Models virtio_mem_config_changed() for the device's driver instance.</summary>
    public void ConfigChanged(IVirtioMemDevice dev)
    {
        foreach (var vm in _devices)
            if (vm.Device == dev) vm.ConfigChanged();
    }

    /// <summary>Models virtio_mem_online_page_cb(): memory of a virtio-mem device is onlined as that device says;
    /// anything else (a DIMM) goes to the buddy whole.</summary>
    private IEnumerable<(long Start, long End)> OnlinePageCb(long start, long end)
    {
        foreach (var vm in _devices)
            if (vm.Contains(Page.AddrOf(start), Page.AddrOf(end - start))) return vm.OnlinePages(start, end).ToList();
        return [(start, end)];
    }
}
