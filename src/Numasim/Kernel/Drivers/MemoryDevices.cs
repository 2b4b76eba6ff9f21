using System.Globalization;
using Numasim.Kernel.Log;
using Numasim.Kernel.Mm;
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

    private SysfsDirectory? _root, _busDevices;

    internal MemoryDevices(KernelContext k) => _k = k;

    /// <summary>/sys/devices/system/memory, once memory_dev_init() made it.</summary>
    private SysfsDirectory Root => _root ??= (SysfsDirectory)_k.Fs.Lookup(MemoryRoot)!;

    /// <summary>/sys/bus/memory/devices.</summary>
    private SysfsDirectory BusDevices => _busDevices ??= _k.Fs.MakeDirs("/sys/bus/memory/devices");

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
        _ = BusDevices;
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

    /// <summary>Models add_memory_block(): the memoryN device with its attributes.</summary>
    public void AddMemoryBlock(MemoryBlock mb)
    {
        _k.MemoryBlocks[mb.Id] = mb;
        var d = Root.Dir($"memory{mb.Id}");
        d.AddGroup(BlockGroup, new BlockDevice(this, mb));
        d.Link("subsystem", "/sys/bus/memory");
        if (mb.Hotplugged && mb.DeviceId is not null)
        {
            // The ACPI memory device of the DIMM's slot (QEMU's MHPC container is PNP0A06:04 under 6.1's enumeration of
            // the pc DSDT, recorded); its physical_node links are not modelled.
            var acpi = $"/sys/devices/LNXSYSTM:00/LNXSYBUS:00/PNP0A06:04/PNP0C80:{mb.AcpiSlot:x2}";
            _k.Fs.MakeDirs(acpi);
            d.Link("firmware_node", acpi);
        }
        DeviceCommon.AddUeventAndPower(d);
        BusDevices.Link($"memory{mb.Id}", $"{MemoryRoot}/memory{mb.Id}");
        _k.Uevents.Emit(UeventAction.Add, $"/devices/system/memory/memory{mb.Id}", "memory");
    }

    /// <summary>Models remove_memory_block().</summary>
    public void RemoveMemoryBlock(MemoryBlock mb)
    {
        _k.MemoryBlocks.Remove(mb.Id);
        Root.Remove($"memory{mb.Id}");
        BusDevices.Remove($"memory{mb.Id}");
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

    /// <summary>Models mhp_online_type_from_str(): -1 (null) when the text names no online type.</summary>
    public static OnlineType? OnlineTypeFromString(string s)
    {
        foreach (var t in Enum.GetValues<OnlineType>())
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
