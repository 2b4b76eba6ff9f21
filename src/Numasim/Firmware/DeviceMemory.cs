using Numasim.Snapshots;

namespace Numasim.Firmware;

/// <summary>A DIMM plugged into the device-memory region: QOM id, slot, guest-physical address, size, node.</summary>
public sealed record PluggedDimm(string Id, int Slot, ulong Address, ulong Size, int Node)
{
    /// <summary>One past the last byte.</summary>
    public ulong End => Address + Size;
}

/// <summary>The outcome of <see cref="DeviceMemory.Plug"/>: the DIMM placed, or QEMU's error.</summary>
public readonly record struct PlugResult(PluggedDimm? Dimm, QemuError? Error)
{
    /// <summary>Whether the DIMM was plugged.</summary>
    public bool Ok => Dimm is not null;

    /// <summary>The DIMM's address (0 on error).</summary>
    public ulong Address => Dimm?.Address ?? 0;
}

/// <summary>
/// The QEMU side of DIMM hotplug on pc: slot choice (pc_dimm_get_free_slot(), hw/mem/pc-dimm.c), address
/// choice (memory_device_get_free_addr() / memory_device_check_addable(), hw/mem/memory-device.c) with the
/// alignment of pc_memory_pre_plug(), hw/i386/pc.c (enforce_aligned_dimm: the backend's RAM block alignment,
/// QEMU_VMALLOC_ALIGN = 2 MiB on x86_64 Linux hosts), and the node check of pc_dimm_realize(). Deterministic.
/// </summary>
public sealed class DeviceMemory
{
    /// <summary>QEMU_VMALLOC_ALIGN on an x86_64 Linux host (include/qemu/osdep.h): a memory-backend-ram's alignment.</summary>
    public const ulong BackendAlignment = 2 * QemuSize.MiB;

    /// <summary>A plugged DIMM as a record of the compact state (its id in the name pool).</summary>
    private struct DimmRecord : INamedRecord
    {
        public readonly int NameIndex => Id;
        public int Id, Slot, Node;
        public ulong Address, Size;
    }

    // Sorted by address, as memory_device_build_list() sorts.
    private readonly StateArray<DimmRecord> _dimms;
    private readonly StateStrings _ids;

    /// <summary>A device-memory model over <paramref name="region"/> (null: the machine has none), its state in
    /// the given store (none: a store of its own).</summary>
    public DeviceMemory(DeviceMemoryRegion? region, ulong ramBytes, ulong maxMemBytes, int slots, int numaNodes, StateStore? store = null)
    {
        store ??= new StateStore();
        _dimms = new StateArray<DimmRecord>(store, "qemu device memory (pc-dimm)");
        _ids = new StateStrings(store, "qemu device memory ids");
        Region = region;
        MaxDeviceBytes = maxMemBytes > ramBytes ? maxMemBytes - ramBytes : 0;
        Slots = slots;
        NumaNodes = numaNodes;
    }

    /// <summary>The device memory of the pc machine <paramref name="spec"/> describes.</summary>
    public static DeviceMemory For(MachineSpec spec, StateStore? store = null) =>
        new(PcMachine.DeviceMemoryRegionFor(spec), spec.RamBytes, spec.MaxMemBytes, spec.Slots,
            // sparse firmware node ids (an imported machine): QEMU counts nodes up to the highest id
            spec.FirmwareNodeIds && spec.Nodes.Count > 0 ? spec.Nodes[^1].NodeId + 1 : spec.Nodes.Count, store);

    /// <summary>The region DIMMs are placed in.</summary>
    public DeviceMemoryRegion? Region { get; }

    /// <summary>maxmem - ram: the total size DIMMs may have.</summary>
    public ulong MaxDeviceBytes { get; }

    /// <summary>-m slots=N.</summary>
    public int Slots { get; }

    /// <summary>The machine's NUMA node count (0 without NUMA).</summary>
    public int NumaNodes { get; }

    /// <summary>Plugged DIMMs in address order.</summary>
    public IReadOnlyList<PluggedDimm> Dimms
    {
        get
        {
            var l = new PluggedDimm[_dimms.Length];
            for (int i = 0; i < l.Length; i++) l[i] = At(i);
            return l;
        }
    }

    private PluggedDimm At(int i)
    {
        ref readonly var d = ref _dimms[i];
        return new PluggedDimm(_ids[d.Id], d.Slot, d.Address, d.Size, d.Node);
    }

    private int IndexOf(string id) => _dimms.IndexOfName(_ids, id);

    private bool SlotBusy(int slot)
    {
        foreach (ref readonly var d in _dimms.Items)
            if (d.Slot == slot) return true;
        return false;
    }

    /// <summary>Bytes in use by plugged DIMMs. Models memory_device_used_region_size().</summary>
    public ulong UsedBytes
    {
        get
        {
            ulong sum = 0;
            foreach (ref readonly var d in _dimms.Items) sum += d.Size;
            return sum;
        }
    }

    /// <summary>device_add pc-dimm: picks a slot and the first free 2 MiB-aligned address from the region
    /// base (or checks the given <paramref name="slot"/> / <paramref name="addr"/>), in QEMU's check order.</summary>
    public PlugResult Plug(string id, ulong size, int node, int? slot = null, ulong? addr = null)
    {
        if (IndexOf(id) >= 0) return Fail($"Duplicate device ID '{id}'");
        // pc_dimm_pre_plug()
        if (slot is int s0 && (s0 < 0 || s0 >= Slots))
            return Fail($"invalid slot number, valid range is [0-{Slots - 1}]");
        if (Slots <= 0) return Fail("no slots where allocated, please specify the 'slots' option");
        int chosen;
        if (slot is int s)
        {
            if (SlotBusy(s)) return Fail($"slot {s} is busy");
            chosen = s;
        }
        else
        {
            chosen = 0;
            while (chosen < Slots && SlotBusy(chosen)) chosen++;
            if (chosen == Slots) return Fail("no free slots available");
        }
        var placed = FreeAddr(size, BackendAlignment, addr, out ulong start);
        if (placed is not null) return Fail(placed);
        // pc_dimm_realize()
        if ((NumaNodes > 0 && node >= NumaNodes) || (NumaNodes == 0 && node != 0) || node < 0)
            return Fail($"'DIMM property node has value {node}' which exceeds the number of numa nodes: {(NumaNodes > 0 ? NumaNodes : 1)}");
        return Insert(id, chosen, start, size, node);
    }

    /// <summary>Models memory_device_get_free_addr() with memory_device_check_addable(), hw/mem/memory-device.c: the
    /// first free <paramref name="align"/>-aligned range from the region base (or the given address checked); null,
    /// or QEMU's error.</summary>
    private string? FreeAddr(ulong size, ulong align, ulong? addr, out ulong start)
    {
        start = 0;
        if (Region is not { } r || r.Size == 0)
            return "memory devices (e.g. for memory hotplug) are not enabled, please specify the maxmem option";
        ulong used = UsedBytes;
        if (used + size < used || used + size > MaxDeviceBytes)
            return $"not enough space, currently {QemuSize.Hex(used)} in use of total space for memory devices {QemuSize.Hex(MaxDeviceBytes)}";
        if (addr is ulong hint && hint % align != 0) return $"address must be aligned to {QemuSize.Hex(align)} bytes";
        if (size == 0 || size % align != 0) return $"backend memory size must be multiple of {QemuSize.Hex(align)}";
        if (addr is ulong h)
        {
            if (h < r.Base || h + size < h || h + size > r.End)
                return $"can't add memory device [{QemuSize.Hex(h)}:{QemuSize.Hex(size)}], usable range for memory devices [{QemuSize.Hex(r.Base)}:{QemuSize.Hex(r.Size)}]";
            start = h;
        }
        else
        {
            start = AlignUp(r.Base, align);
        }
        for (int i = 0; i < _dimms.Length; i++)
        {
            var d = _dimms[i];
            ulong dEnd = d.Address + d.Size;
            bool overlaps = d.Address < start + size && start < dEnd;
            if (overlaps)
            {
                if (addr is not null) return $"address range conflicts with memory device id='{_ids[d.Id]}'";
                start = AlignUp(dEnd, align);
            }
            else if (d.Address >= start + size) break;
        }
        if (start < r.Base || start + size > r.End)
            return "could not find position in guest address space for memory device - memory fragmented due to alignments";
        return null;
    }

    /// <summary>memory_device_pre_plug() for a virtio-mem device: no slot; the alignment is the device's minimum
    /// (its block size, virtio_mem_pci_get_min_alignment()) or the backend's, whichever is larger. The device is
    /// placed (Slot -1) or QEMU's error returned.</summary>
    public PlugResult PlugSlotless(string id, ulong size, ulong minAlignment, int node, ulong? addr = null)
    {
        if (IndexOf(id) >= 0) return Fail($"Duplicate device ID '{id}'");
        var err = FreeAddr(size, Math.Max(minAlignment, BackendAlignment), addr is 0 ? null : addr, out ulong start);
        if (err is not null) return Fail(err);
        return Insert(id, -1, start, size, node);
    }

    // Inserted in address order, as memory_device_build_list() sorts.
    private PlugResult Insert(string id, int slot, ulong start, ulong size, int node)
    {
        int at = 0;
        while (at < _dimms.Length && _dimms[at].Address <= start) at++;
        _dimms.Insert(at, new DimmRecord { Id = _ids.Intern(id), Slot = slot, Node = node, Address = start, Size = size });
        return new PlugResult(new PluggedDimm(id, slot, start, size, node), null);
    }

    /// <summary>device_del of a DIMM (after the guest ejected it): frees its slot and range; null on success.</summary>
    public QemuError? Unplug(string id)
    {
        int i = IndexOf(id);
        if (i < 0) return new QemuError($"Device '{id}' not found", "device_del");
        _dimms.RemoveAt(i);
        return null;
    }

    /// <summary>The DIMM with this id, or null.</summary>
    public PluggedDimm? Find(string id) => IndexOf(id) is var i and >= 0 ? At(i) : null;

    private static PlugResult Fail(string message) => new(null, new QemuError(message, "device_add"));

    private static ulong AlignUp(ulong v, ulong a) => (v + a - 1) / a * a;
}
