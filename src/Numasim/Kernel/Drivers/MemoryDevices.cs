using System.Globalization;
using Numasim.Kernel.Log;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Drivers;

/// <summary>The memory hotplug operations the memory block devices call into (mm/memory_hotplug.c).</summary>
internal interface IMemoryOnlining
{
    /// <summary>memory_block_online() with the requested online type.</summary>
    Errno Online(MemoryBlock mb, OnlineType type);

    /// <summary>memory_block_offline().</summary>
    Errno Offline(MemoryBlock mb);

    /// <summary>valid_zones of an offline block: the default zone and the other allowed ones.</summary>
    string ValidZonesOffline(MemoryBlock mb);
}

/// <summary>drivers/base/memory.c: the memory subsystem root and one memoryN device per memory block.</summary>
public sealed class MemoryDevices
{
    public const string MemoryRoot = "/sys/devices/system/memory";
    private readonly KernelContext _k;

    private readonly NodeDevices _nodes;

    internal MemoryDevices(KernelContext k, NodeDevices nodes)
    {
        _k = k;
        _nodes = nodes;
    }

    /// <summary>Where the ACPI memory devices (PNP0C80:SS, one per DIMM slot SS) of hot-added DIMMs appear; their
    /// physical_node links are not modelled. Once made, a device's directory stays (the slot's ACPI object does).</summary>
    private const string AcpiMemoryParent = "/sys/devices/LNXSYSTM:00/LNXSYBUS:00/PNP0A06:04";

    // The slots whose PNP0C80 device the guest has seen (a bit a slot), as compact state; made in MemoryDevInit().
    private Bitmap? _acpiSlots;

    private static string AcpiDeviceName(int slot) => "PNP0C80:" + slot.ToString("x2", CultureInfo.InvariantCulture);

    internal IMemoryOnlining? Onlining { get; set; }

    /// <summary>Models memory_dev_init(): block size, the root files, and a block for every present boot section range.</summary>
    public void MemoryDevInit()
    {
        var root = _k.Fs.MakeDirs(MemoryRoot);
        root.Attr("block_size_bytes", () => _k.MemoryBlockSize.ToString("x", CultureInfo.InvariantCulture) + "\n");
        root.Attr("auto_online_blocks", () => OnlineTypeName(_k.DefaultOnlineType) + "\n", StoreAutoOnline);
        root.Attr("hard_offline_page", null, _ => Errno.EINVAL);
        root.Attr("soft_offline_page", null, _ => Errno.EINVAL);
        if (_k.Profile.Build.CrashHotplug) root.Const("crash_hotplug", CpuRootFiles.CrashHotplugShow());
        DeviceCommon.AddUeventAndPower(root);
        var blocks = _k.MemoryBlocks;
        root.AddSource(new NumberedSource("memory", BlockIds, id => blocks.Find(id) is not null, (p, name, id) => BlockDir(p, name, blocks.Find(id)!)));
        _k.Fs.MakeDirs("/sys/bus/memory/devices").AddSource(new NumberedSource("memory", BlockIds, id => blocks.Find(id) is not null,
            (_, name, _) => new SysfsLink(name, $"{MemoryRoot}/{name}")));
        // The ACPI device directories, and their parents, exist once a DIMM was hot-added.
        int slots = Math.Max(_k.Machine.Slots, 1);
        _acpiSlots = new Bitmap(new Snapshots.StateArray<ulong>(_k.State, "acpi memory devices (PNP0C80 slots)", Bitmap.WordsFor(slots)), 0, slots);
        var devices = _k.Fs.Lookup("/sys/devices") as SysfsDirectory ?? _k.Fs.MakeDirs("/sys/devices");
        devices.AddSource(AcpiPath(AcpiMemoryParent["/sys/devices/".Length..].Split('/'), 0));
    }

    private void BlockIds(List<long> ids)
    {
        var t = _k.MemoryBlocks;
        for (int i = 0; i < t.Count; i++) ids.Add(t.RecordAt(i).Id);
    }

    /// <summary>The directories down to the PNP0C80 devices, shown while at least one exists.</summary>
    private ConditionalSource AcpiPath(string[] parts, int i) => new(parts[i], () => !_acpiSlots!.IsEmpty, (p, n) =>
    {
        var d = new SysfsDirectory(n, p);
        if (i + 1 < parts.Length) d.AddSource(AcpiPath(parts, i + 1));
        else d.AddSource(new AcpiMemoryDevices(_acpiSlots!));
        return d;
    });

    /// <summary>PNP0C80:SS for each DIMM slot whose ACPI memory device the guest has seen.</summary>
    private sealed class AcpiMemoryDevices(Bitmap slots) : ISysfsSource
    {
        private const string Prefix = "PNP0C80:";

        public void Names(List<string> into)
        {
            foreach (var s in slots.Bits()) into.Add(AcpiDeviceName(s));
        }

        public SysfsEntry? Make(SysfsDirectory parent, string name) =>
            name.Length == Prefix.Length + 2 && name.StartsWith(Prefix, StringComparison.Ordinal)
            && int.TryParse(name.AsSpan(Prefix.Length), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int slot)
            && AcpiDeviceName(slot) == name && slot < slots.NBits && slots[slot] ? new SysfsDirectory(name, parent) : null;
    }

    /// <summary>The memory block device a memoryN directory's files are shown for.</summary>
    private sealed class BlockDevice(MemoryDevices owner, MemoryBlock block)
    {
        public readonly MemoryDevices Owner = owner;
        public readonly MemoryBlock Block = block;
    }

    /// <summary>memory_memblk_attr_group, drivers/base/memory.c.</summary>
    private static readonly AttributeGroup BlockGroup = new(
        DeviceAttribute.Ro<BlockDevice>("phys_index", b => b.Block.PhysIndex.ToString("x8", CultureInfo.InvariantCulture) + "\n"),
        DeviceAttribute.Rw<BlockDevice>("state", b => StateName(b.Block.State) + "\n", (b, v) => b.Owner.StoreState(b.Block, v)),
        DeviceAttribute.Rw<BlockDevice>("online", b => SysfsFormat.Line(b.Block.State == MemoryBlockState.Offline ? 0 : 1), (b, v) => b.Owner.StoreOnline(b.Block, v)),
        DeviceAttribute.Const("phys_device", "0\n"),
        DeviceAttribute.Ro<BlockDevice>("removable", b => SysfsFormat.Line(b.Owner.Removable(b.Block) ? 1 : 0)),
        DeviceAttribute.Ro<BlockDevice>("valid_zones", b => b.Owner.ValidZones(b.Block)));

    /// <summary>The memoryN directory as add_memory_block() made it, with its node link.</summary>
    private SysfsDirectory BlockDir(SysfsDirectory parent, string name, MemoryBlock mb)
    {
        var d = new SysfsDirectory(name, parent);
        d.AddGroup(BlockGroup, new BlockDevice(this, mb));
        d.Link("subsystem", "/sys/bus/memory");
        // The ACPI memory device of the DIMM's slot (QEMU's MHPC container is PNP0A06:04 under 6.1's enumeration of
        // the pc DSDT, recorded); its physical_node links are not modelled.
        if (mb.Hotplugged && mb.DeviceId is not null) d.Link("firmware_node", $"{AcpiMemoryParent}/{AcpiDeviceName(mb.AcpiSlot)}");
        DeviceCommon.AddUeventAndPower(d);
        if (mb.LinkedToNode) d.Link($"node{mb.Nid}", $"{NodeDevices.NodeRoot}/node{mb.Nid}");
        return d;
    }

    /// <summary>Models add_memory_block(): the memoryN device with its attributes (and the DIMM's ACPI device).</summary>
    public void AddMemoryBlock(MemoryBlock mb)
    {
        _k.MemoryBlocks.Add(mb);
        if (mb.Hotplugged && mb.DeviceId is not null && (uint)mb.AcpiSlot < (uint)_acpiSlots!.NBits) _acpiSlots.Set(mb.AcpiSlot);
        _k.Uevents.Emit(UeventAction.Add, $"/devices/system/memory/memory{mb.Id}", "memory");
    }

    /// <summary>Models remove_memory_block().</summary>
    public void RemoveMemoryBlock(MemoryBlock mb)
    {
        _k.MemoryBlocks.Remove(mb.Id);
        _k.Uevents.Emit(UeventAction.Remove, $"/devices/system/memory/memory{mb.Id}", "memory");
    }

    /// <summary>Models removable_show(): 1 since v5.7; before (KernelProfile.RemovableChecksPages), an online block is
    /// removable when is_mem_section_removable() finds no pageblock with a hole, a reserved page or an unmovable one.</summary>
    private bool Removable(MemoryBlock mb)
    {
        if (!_k.Profile.RemovableChecksPages || mb.State != MemoryBlockState.Online) return true;
        if (mb.HasHoles || _k.Memblock.ReservedIn(mb.StartPfn, mb.EndPfn) > 0) return false;
        foreach (var z in _k.NodeDataOf(mb.Nid)?.Zones ?? [])
        {
            if (!z.IsManaged || z.ZoneEndPfn <= mb.StartPfn || z.ZoneStartPfn >= mb.EndPfn) continue;
            if (z.Type == ZoneType.Movable) continue; // has_unmovable_pages() sees only movable pages there
            foreach (var a in z.Pages.AllocatedInRange(Math.Max(mb.StartPfn, z.ZoneStartPfn), Math.Min(mb.EndPfn, z.ZoneEndPfn)))
                if (!a.IsMovable) return false;
        }
        return true;
    }

    public static string StateName(MemoryBlockState s) => s switch
    {
        MemoryBlockState.Online => "online",
        MemoryBlockState.GoingOffline => "going-offline",
        _ => "offline",
    };

    public static string OnlineTypeName(OnlineType t) => t switch
    {
        OnlineType.Online => "online",
        OnlineType.OnlineKernel => "online_kernel",
        OnlineType.OnlineMovable => "online_movable",
        _ => "offline",
    };

    private static readonly OnlineType[] OnlineTypes = Enum.GetValues<OnlineType>();

    /// <summary>Models mhp_online_type_from_str(): -1 (null) when the text names no online type.</summary>
    public static OnlineType? OnlineTypeFromString(string s)
    {
        foreach (var t in OnlineTypes)
            if (DeviceCommon.SysfsStreq(s, OnlineTypeName(t))) return t;
        return null;
    }

    /// <summary>Models auto_online_blocks_store().</summary>
    private Errno StoreAutoOnline(string value)
    {
        using var call = _k.Trace.Call("auto_online_blocks_store", "drivers/base/memory.c", $"\"{value.TrimEnd('\n')}\"");
        var t = OnlineTypeFromString(value);
        if (t is null) return _k.Trace.Fail(Errno.EINVAL, $"mhp_online_type_from_str(\"{value.TrimEnd('\n')}\"): not an online type");
        _k.Trace.Change($"mhp_default_online_type: {OnlineTypeName(_k.DefaultOnlineType)} → {OnlineTypeName(t.Value)}");
        _k.DefaultOnlineType = t.Value;
        return Errno.None;
    }

    /// <summary>A write of memoryN/state as sysfs hands it to the file's store() (for callers that know the block exists).</summary>
    internal Errno WriteStateFile(long id, string value) => StoreState(_k.FindMemoryBlock(id)!, value);

    /// <summary>Models state_store(): an unknown type, or a block already in the asked state, is EINVAL.</summary>
    private Errno StoreState(MemoryBlock mb, string value)
    {
        using var call = _k.Trace.Call("state_store", "drivers/base/memory.c", $"memory{mb.Id} <- \"{value.TrimEnd('\n')}\"");
        var t = OnlineTypeFromString(value);
        if (t is null || Onlining is null) return _k.Trace.Fail(Errno.EINVAL, $"mhp_online_type_from_str(\"{value.TrimEnd('\n')}\"): not an online type");
        using var device = _k.Trace.Call(t == OnlineType.Offline ? "device_offline" : "device_online", "drivers/base/core.c", $"memory{mb.Id}");
        if (t == OnlineType.Offline)
            return mb.State == MemoryBlockState.Offline ? _k.Trace.Fail(Errno.EINVAL, $"memory{mb.Id} is offline already: device_offline() returns 1, which state_store() turns into -EINVAL") : Onlining.Offline(mb);
        return mb.State == MemoryBlockState.Online ? _k.Trace.Fail(Errno.EINVAL, $"memory{mb.Id} is online already: device_online() returns 1, which state_store() turns into -EINVAL") : Onlining.Online(mb, t.Value);
    }

    /// <summary>Models online_store() of the device core: kstrtobool; a block already in that state succeeds.</summary>
    private Errno StoreOnline(MemoryBlock mb, string value)
    {
        using var call = _k.Trace.Call("online_store", "drivers/base/core.c", $"memory{mb.Id} <- \"{value.TrimEnd('\n')}\"");
        var b = DeviceCommon.KstrToBool(value);
        if (b is null || Onlining is null) return _k.Trace.Fail(Errno.EINVAL, $"kstrtobool(\"{value.TrimEnd('\n')}\"): not a boolean");
        using var device = _k.Trace.Call(b.Value ? "device_online" : "device_offline", "drivers/base/core.c", $"memory{mb.Id}");
        if (b.Value)
            return mb.State == MemoryBlockState.Online ? Errno.None : Onlining.Online(mb, OnlineType.Offline);
        return mb.State == MemoryBlockState.Offline ? Errno.None : Onlining.Offline(mb);
    }

    /// <summary>Models valid_zones_show(): an online block shows its zone ("none" when it spans zones, and with
    /// KernelProfile.HoleBlocksShowNoZone when it has a hole).</summary>
    private string ValidZones(MemoryBlock mb)
    {
        if (mb.State == MemoryBlockState.Online)
            return (mb.HasHoles && _k.Profile.HoleBlocksShowNoZone ? "none" : mb.Zone?.Name ?? "none") + "\n";
        return (Onlining?.ValidZonesOffline(mb) ?? "none") + "\n";
    }
}
