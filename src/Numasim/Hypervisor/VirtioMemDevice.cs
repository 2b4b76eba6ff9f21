using Numasim.Snapshots;
using System.Globalization;
using Numasim.Firmware;
using Numasim.Kernel.Drivers;

namespace Numasim.Hypervisor;

/// <summary>
/// QEMU 7.2's virtio-mem-pci device (hw/virtio/virtio-mem.c, hw/virtio/virtio-mem-pci.c): a memory backend
/// whose region sits in the pc machine's device memory, a bitmap of plugged device blocks, requested-size
/// set by the user (qom-set) and plugged-size changed only by the guest's requests. Property parsing and
/// realize checks follow QEMU's order and words. A handle: the bitmap, size, requested and usable sizes are a record
/// of the machine's compact state (<see cref="Table"/>).
/// </summary>
public sealed class VirtioMemDevice : IVirtioMemDevice
{
    /// <summary>The -device / device_add driver name.</summary>
    public const string Driver = "virtio-mem-pci";

    /// <summary>VIRTIO_MEM_MIN_BLOCK_SIZE: 1 MiB.</summary>
    public const ulong MinBlockSize = QemuSize.MiB;

    /// <summary>virtio_mem_default_block_size() for a memory-backend-ram on an x86_64 host: MAX(page size, THP size),
    /// the THP size the host's /sys/kernel/mm/transparent_hugepage/hpage_pmd_size gives (2 MiB on x86_64).</summary>
    public const ulong DefaultBlockSize = 2 * QemuSize.MiB;

    /// <summary>VIRTIO_MEM_USABLE_EXTENT on x86_64: 2 * 128 MiB.</summary>
    public const ulong UsableExtent = 256 * QemuSize.MiB;

    /// <summary>A realized device as a record of the compact state (ids in the table's name pool; the bitmap in the
    /// table's map, keyed by device index and word).</summary>
    internal struct Record : Snapshots.INamedRecord
    {
        public int Id, Memdev, Node;
        public ulong BlockSize, RegionSize, Addr, UsableRegionSize, PluggedSize, RequestedSize;
        public readonly int NameIndex => Id;
    }

    /// <summary>The realized devices of a machine (QEMU cannot unplug virtio-mem: records are only added) and their
    /// handles, one per record, the same for every state.</summary>
    internal sealed class Table
    {
        internal readonly Snapshots.StateArray<Record> Records;
        internal readonly Snapshots.StateStrings Names;
        internal readonly Snapshots.StateMap Bitmap;
        private readonly List<VirtioMemDevice> _handles = [];
        private readonly Action<VirtioMemDevice> _made;

        /// <summary>The table, its regions in <paramref name="store"/>; <paramref name="made"/> runs once for each new
        /// handle (to wire it to the guest's driver).</summary>
        internal Table(Snapshots.StateStore store, Snapshots.StateStrings names, Action<VirtioMemDevice> made)
        {
            _made = made;
            Records = new(store, "qemu virtio-mem devices");
            Bitmap = new(store, "qemu virtio-mem bitmaps");
            Names = names;
        }

        internal int Count => Records.Length;

        internal int IndexOf(string id) => Records.IndexOfName(Names, id);

        /// <summary>The handle of the i-th device.</summary>
        internal VirtioMemDevice At(int i)
        {
            while (_handles.Count <= i)
            {
                var h = new VirtioMemDevice(this, _handles.Count);
                _handles.Add(h);
                _made(h);
            }
            return _handles[i];
        }
    }

    private readonly Table _t;
    private readonly int _i;

    private VirtioMemDevice(Table t, int i)
    {
        _t = t;
        _i = i;
    }

    private ref readonly Record R => ref _t.Records[_i];
    private ref Record M => ref _t.Records.Mut(_i);

    /// <summary>The device's index among the machine's virtio-mem devices (realize order).</summary>
    internal int Index => _i;

    public string Id => _t.Names[R.Id];
    public string Memdev => _t.Names[R.Memdev];
    public ulong BlockSize => R.BlockSize;
    public int NodeId => R.Node;
    public bool AcpiPxm => true;
    public ulong Addr => R.Addr;
    public ulong RegionSize => R.RegionSize;
    public ulong UsableRegionSize { get => R.UsableRegionSize; private set => M.UsableRegionSize = value; }
    public ulong PluggedSize { get => R.PluggedSize; private set => M.PluggedSize = value; }
    public ulong RequestedSize { get => R.RequestedSize; private set => M.RequestedSize = value; }

    /// <summary>The guest's driver, told of config changes (virtio_notify_config()); null until it probes.</summary>
    internal Action? ConfigChanged { get; set; }

    /// <summary>The properties device_add and -device take, checked before realize: id, memdev, node, requested-size,
    /// block-size, memaddr, and PCI placement (bus, addr) and virtio-pci tuning, which the model accepts and ignores.</summary>
    internal sealed record Props(string Id, string? Memdev, uint Node, ulong RequestedSize, ulong? BlockSize, ulong MemAddr);

    private static readonly HashSet<string> IgnoredProps = ["driver", "id", "bus", "addr", "prealloc", "unplugged-inaccessible",
        "ioeventfd", "vectors", "disable-legacy", "disable-modern", "rombar", "romfile", "multifunction", "iommu_platform",
        "ats", "packed", "any_layout", "event_idx", "indirect_desc", "notify_on_empty", "use-started", "failover_pair_id"];

    /// <summary>Sets the properties as object_set_properties_from_qdict() does: a size from the command line may carry a
    /// suffix (qemu_strtosz()), one from QMP is a JSON number. Returns the properties or QEMU's error.</summary>
    internal static (Props? Props, string? Error) ParseProps(IEnumerable<KeyValuePair<string, string>> args, string fallbackId, bool fromQmp)
    {
        string? id = null, memdev = null;
        uint node = 0;
        ulong requested = 0, memaddr = 0;
        ulong? block = null;
        foreach (var (k, v) in args)
        {
            switch (k)
            {
                case "id": id = v; break;
                case "memdev": memdev = v; break;
                case "node":
                    if (!uint.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out node)) return (null, $"Parameter 'node' expects uint32_t");
                    break;
                case "requested-size":
                    if (!Size(v, fromQmp, out requested)) return (null, SizeError(k, fromQmp));
                    break;
                case "block-size":
                    // virtio_mem_set_block_size()
                    if (!Size(v, fromQmp, out var bs)) return (null, SizeError(k, fromQmp));
                    if (bs < MinBlockSize) return (null, $"'block-size' property has to be at least 0x{MinBlockSize:x}");
                    if ((bs & (bs - 1)) != 0) return (null, "'block-size' property has to be a power of two");
                    block = bs;
                    break;
                case "memaddr":
                    if (!ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out memaddr)
                        && !(v.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && ulong.TryParse(v[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out memaddr)))
                        return (null, "Parameter 'memaddr' expects uint64");
                    break;
                case "size": return (null, "Property 'virtio-mem-pci.size' is read-only");
                default:
                    if (!IgnoredProps.Contains(k)) return (null, $"Property '{Driver}.{k}' not found");
                    break;
            }
        }
        return (new Props(id ?? fallbackId, memdev, node, requested, block, memaddr), null);
    }

    private static bool Size(string v, bool fromQmp, out ulong bytes)
    {
        bytes = 0;
        return fromQmp ? ulong.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out bytes) : QemuSize.TryParse(v, 1, out bytes);
    }

    private static string SizeError(string key, bool fromQmp) =>
        fromQmp ? $"Invalid parameter type for '{key}', expected: size" : $"Parameter '{key}' expects a non-negative number below 2^64";

    /// <summary>The block size realize() settles on: the user's, else the default.</summary>
    internal static ulong EffectiveBlockSize(Props p) => p.BlockSize ?? DefaultBlockSize;

    /// <summary>Models virtio_mem_device_realize()'s checks after pre-plug placed the region: a busy memdev, the node,
    /// and the alignment of requested-size, address and backend size to the block size. Null when it realizes.</summary>
    internal static string? RealizeCheck(Props p, ulong backendSize, bool backendBusy, int numaNodes)
    {
        if (p.Memdev is null) return "'memdev' property is not set";
        if (backendBusy) return $"'memdev' property specifies a busy memdev: {p.Memdev}";
        if ((numaNodes > 0 && p.Node >= numaNodes) || (numaNodes == 0 && p.Node != 0))
            return $"'node' property has value '{p.Node}', which exceedsthe number of numa nodes: {(numaNodes > 0 ? numaNodes : 1)}";
        ulong bs = EffectiveBlockSize(p);
        if (bs < 4096) return "'block-size' property has to be at least the page size (0x1000)";
        if (p.RequestedSize % bs != 0) return $"'requested-size' property has to be multiples of 'block-size' (0x{bs:x})";
        if (p.MemAddr % bs != 0) return $"'memaddr' property has to be multiples of 'block-size' (0x{bs:x})";
        if (backendSize % bs != 0) return $"'memdev' property memdev size has to be multiples of'block-size' (0x{bs:x})";
        return null;
    }

    /// <summary>Creates the realized device at <paramref name="addr"/> (chosen by memory_device_pre_plug()) in the
    /// table: its record, an empty bitmap, the usable region for requested-size.</summary>
    internal static VirtioMemDevice Realize(Table t, Props p, ulong backendSize, ulong addr)
    {
        int i = t.Records.Add(new Record
        {
            Id = t.Names.Intern(p.Id), Memdev = t.Names.Intern(p.Memdev!), Node = (int)p.Node, BlockSize = EffectiveBlockSize(p),
            RegionSize = backendSize, Addr = addr, RequestedSize = p.RequestedSize,
        });
        var dev = t.At(i);
        dev.ResizeUsableRegion(p.RequestedSize, canShrink: true);
        return dev;
    }

    /// <summary>Whether the machine's -device virtio-mem-pci options all realize, in order, as QEMU does before the
    /// guest starts: null, or (the option, QEMU's error).</summary>
    public static (IReadOnlyList<KeyValuePair<string, string>> Device, string Error)? CheckColdPlug(MachineSpec spec)
    {
        var memory = DeviceMemory.For(spec);
        var busy = new HashSet<string>(spec.Nodes.Where(n => n.MemDev is not null).Select(n => n.MemDev!));
        int anon = 0;
        foreach (var kv in spec.Devices)
        {
            var (p, err) = ParseProps(kv, $"virtio-mem-anon{anon++}", fromQmp: false);
            if (p is null) return (kv, err!);
            if (p.Memdev is null) return (kv, "'memdev' property must be set");
            var backend = spec.Backends.FirstOrDefault(b => b.Id == p.Memdev);
            if (backend is null) return (kv, $"Property '{Driver}.memdev' can't find value '{p.Memdev}'");
            var plug = memory.PlugSlotless(p.Id, backend.SizeBytes, EffectiveBlockSize(p), (int)p.Node, p.MemAddr);
            if (!plug.Ok) return (kv, plug.Error!.Message);
            var rerr = RealizeCheck(p, backend.SizeBytes, busy.Contains(p.Memdev), spec.Nodes.Count);
            if (rerr is not null) return (kv, rerr);
            busy.Add(p.Memdev);
        }
        return null;
    }

    /// <summary>Models virtio_mem_set_requested_size() on the realized device (qom-set): a multiple of the block size,
    /// at most the backend size; the usable region grows (never shrinks here) and the guest is notified even when
    /// nothing changed. Null on success, else QEMU's error.</summary>
    public string? SetRequestedSize(ulong value)
    {
        if (value % BlockSize != 0) return $"'requested-size' has to be multiples of 'block-size' (0x{BlockSize:x})";
        if (value > RegionSize) return $"'requested-size' cannot exceed the memory backend size(0x{RegionSize:x})";
        if (value != RequestedSize)
        {
            ResizeUsableRegion(value, canShrink: false);
            RequestedSize = value;
        }
        ConfigChanged?.Invoke();
        return null;
    }

    /// <summary>Models virtio_mem_resize_usable_region().</summary>
    private void ResizeUsableRegion(ulong requested, bool canShrink)
    {
        ulong newSize = Math.Min(RegionSize, requested + UsableExtent);
        newSize = (newSize + BlockSize - 1) / BlockSize * BlockSize;
        if (requested == 0) newSize = 0;
        if (newSize < UsableRegionSize && !canShrink) return;
        UsableRegionSize = newSize;
    }

    /// <summary>Models virtio_mem_valid_range().</summary>
    private bool ValidRange(ulong gpa, ulong size) =>
        gpa % BlockSize == 0 && size != 0 && gpa + size > gpa && gpa >= Addr && gpa < Addr + UsableRegionSize
        && gpa + size <= Addr + UsableRegionSize;

    private long WordKey(ulong i) => (long)_i << 40 | (long)(i >> 6);

    private bool Bit(ulong i) => (_t.Bitmap[WordKey(i)] & (1UL << (int)(i & 63))) != 0;

    private void SetBits(ulong first, ulong n, bool on)
    {
        for (ulong i = first; i < first + n; i++)
        {
            long key = WordKey(i);
            ulong w = _t.Bitmap[key];
            _t.Bitmap[key] = on ? w | 1UL << (int)(i & 63) : w & ~(1UL << (int)(i & 63));
        }
    }

    private bool AllBits(ulong first, ulong n, bool on)
    {
        for (ulong i = first; i < first + n; i++)
            if (Bit(i) != on) return false;
        return true;
    }

    /// <summary>Models virtio_mem_state_change_request(): ERROR for a bad range or blocks not all in the other state,
    /// NACK for a plug beyond requested-size, ACK otherwise.</summary>
    private VirtioMemResp StateChange(ulong gpa, ulong nbBlocks, bool plug)
    {
        ulong size = nbBlocks * BlockSize;
        if (!ValidRange(gpa, size)) return VirtioMemResp.Error;
        if (plug && PluggedSize + size > RequestedSize) return VirtioMemResp.Nack;
        ulong first = (gpa - Addr) / BlockSize;
        if (!AllBits(first, nbBlocks, !plug)) return VirtioMemResp.Error;
        SetBits(first, nbBlocks, plug);
        PluggedSize = plug ? PluggedSize + size : PluggedSize - size;
        return VirtioMemResp.Ack;
    }

    public VirtioMemResp Plug(ulong addr, ulong nbBlocks) => StateChange(addr, nbBlocks, plug: true);

    public VirtioMemResp Unplug(ulong addr, ulong nbBlocks) => StateChange(addr, nbBlocks, plug: false);

    /// <summary>Models virtio_mem_unplug_all(): everything unplugged, the usable region resized (may shrink).</summary>
    public VirtioMemResp UnplugAll()
    {
        _t.Bitmap.ClearIn((long)_i << 40, (long)(_i + 1) << 40);
        PluggedSize = 0;
        ResizeUsableRegion(RequestedSize, canShrink: true);
        return VirtioMemResp.Ack;
    }

    /// <summary>Plugged device blocks in [gpa, gpa + size) (what query-memory-devices' size sums up).</summary>
    public ulong PluggedIn(ulong gpa, ulong size)
    {
        ulong n = 0;
        for (ulong a = Math.Max(gpa, Addr); a < Math.Min(gpa + size, Addr + RegionSize); a += BlockSize)
            if (Bit((a - Addr) / BlockSize)) n += BlockSize;
        return n;
    }
}
