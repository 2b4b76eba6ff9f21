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
    private readonly Snapshots.StateArray<VirtioMem.Record> _recs;
    private readonly Snapshots.StateMap _blocks;
    private readonly List<VirtioMem> _handles = [];
    private bool _registered;

    internal VirtioMemDriver(KernelContext k, MemoryHotplug mhp)
    {
        _k = k;
        _mhp = mhp;
        _recs = new(k.State, "virtio_mem instances");
        _blocks = new(k.State, "virtio_mem block states");
        // A restored state says how many instances there are: the notifier and the online_page callback follow it.
        k.State.OnRestore(SyncRegistrations);
    }

    /// <summary>The hypervisor's device of a given index (the bus the driver's devices come from).</summary>
    internal Func<int, IVirtioMemDevice>? DeviceOf { get; set; }

    /// <summary>The module's parameters as it was loaded: virtio_mem.force_bbm=, bbm_block_size=, unplug_online= from
    /// the command line (modprobe passes them on), parsed as param_set_bool()/param_set_ulong() take them.</summary>
    public VirtioMemModule Module => _module ??= VirtioMemModule.From(_k.Boot.ModuleOptions.Where(o => o.Module == "virtio_mem"));

    private VirtioMemModule? _module;

    /// <summary>The driver instances, in probe order.</summary>
    public IReadOnlyList<VirtioMem> Devices
    {
        get
        {
            var l = new VirtioMem[_recs.Length];
            for (int i = 0; i < l.Length; i++) l[i] = At(i);
            return l;
        }
    }

    // The handle of the i-th instance (made once; a handle reads its values from the state).
    private VirtioMem At(int i)
    {
        while (_handles.Count <= i)
        {
            int r = _handles.Count;
            var dev = DeviceOf?.Invoke(_recs[r].Device) ?? throw new InvalidOperationException("virtio-mem instance without a device");
            _handles.Add(new VirtioMem(_k, _mhp, dev, _recs, _blocks, r) { Module = Module });
        }
        return _handles[i];
    }

    /// <summary>Models virtio_dev_probe() → virtio_mem_probe() for a new device (the hypervisor's
    /// <paramref name="deviceIndex"/>-th); the first registers the online_page callback (register_virtio_mem_device())
    /// and the memory notifier. The initial plugging runs as queued work.</summary>
    public VirtioMem? Probe(IVirtioMemDevice dev, int deviceIndex)
    {
        int index = 0;   // the virtio core's ida: the lowest free index
        while (IndexTaken(index)) index++;
        int r = _recs.Add(new VirtioMem.Record { Index = index, Device = deviceIndex, Mgid = -1 });
        while (_handles.Count > r) _handles.RemoveAt(_handles.Count - 1);
        _handles.Add(new VirtioMem(_k, _mhp, dev, _recs, _blocks, r) { Module = Module });
        var vm = _handles[r];
        if (vm.Probe() != Errno.None)
        {
            _handles.RemoveAt(r);
            _blocks.ClearIn((long)r << 40, (long)(r + 1) << 40);
            _recs.RemoveAt(r);
            return null;
        }
        SyncRegistrations();
        return vm;
    }

    private bool IndexTaken(int index)
    {
        foreach (ref readonly var rec in _recs.Items)
            if (rec.Index == index) return true;
        return false;
    }

    /// <summary>The memory notifier and the online_page callback are registered while an instance exists (each
    /// instance's notifier, registered at its probe, runs in probe order: one callback for all of them).</summary>
    private void SyncRegistrations()
    {
        bool want = _recs.Length > 0;
        if (want == _registered) return;
        if (want) _mhp.Notifiers.Register(MemoryNotifierCb);
        else _mhp.Notifiers.Unregister(MemoryNotifierCb);
        _mhp.OnlinePageCallback = want ? OnlinePageCb : null;
        _registered = want;
    }

    /// <summary>Models the notifier chain's pass over the instances' virtio_mem_memory_notifier_cb(): the first
    /// error stops it.</summary>
    private Errno MemoryNotifierCb(MemoryAction action, MemoryNotify mhp)
    {
        for (int i = 0; i < _recs.Length; i++)
        {
            var e = At(i).MemoryNotifierCb(action, mhp);
            if (e != Errno.None) return e;
        }
        return Errno.None;
    }

    /// <summary>Models virtio_mem_config_changed() for the device's driver instance.</summary>
    public void ConfigChanged(IVirtioMemDevice dev)
    {
        for (int i = 0; i < _recs.Length; i++)
            if (At(i).Device == dev) At(i).ConfigChanged();
    }

    /// <summary>Models virtio_mem_online_page_cb(): memory of a virtio-mem device is onlined as that device says;
    /// anything else (a DIMM) goes to the buddy whole.</summary>
    private IEnumerable<(long Start, long End)> OnlinePageCb(long start, long end)
    {
        for (int i = 0; i < _recs.Length; i++)
            if (At(i).Contains(Page.AddrOf(start), Page.AddrOf(end - start))) return At(i).OnlinePages(start, end).ToList();
        return [(start, end)];
    }
}
