using System.Globalization;
using Numasim.Firmware;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Drivers;

/// <summary>
/// drivers/firmware/memmap.c: /sys/firmware/memmap/N/{start,end,type}, the firmware's memory map as the kernel got it
/// (e820_table_firmware, sorted by address) and, appended, the ranges memory hotplug adds (firmware_map_add_hotplug())
/// until they are removed (firmware_map_remove()).
/// </summary>
internal sealed class FirmwareMemmap
{
    private const string Root = "/sys/firmware/memmap";
    private readonly KernelContext _k;
    private readonly List<(ulong Start, ulong End)> _entries = [];

    public FirmwareMemmap(KernelContext k) => _k = k;

    /// <summary>Models firmware_map_add_early() for each e820 entry and firmware_memmap_init().</summary>
    public void Init()
    {
        _k.Fs.MakeDirs(Root);
        foreach (var e in _k.Firmware.E820.OrderBy(e => e.Start)) Add(e.Start, e.End, e.Type);
    }

    /// <summary>Models firmware_map_add_hotplug(start, end - 1, "System RAM").</summary>
    public void AddHotplug(ulong start, ulong end)
    {
        if (_entries.Contains((start, end))) return;
        Add(start, end, E820Type.Ram);
    }

    /// <summary>Models firmware_map_remove().</summary>
    public void Remove(ulong start, ulong end)
    {
        int i = _entries.IndexOf((start, end));
        if (i < 0 || _k.Fs.Lookup(Root) is not SysfsDirectory root) return;
        root.Remove(i.ToString(CultureInfo.InvariantCulture));
        _entries[i] = (0, 0);
    }

    private void Add(ulong start, ulong end, E820Type type)
    {
        var d = _k.Fs.MakeDirs(Root).Dir(_entries.Count.ToString(CultureInfo.InvariantCulture));
        _entries.Add((start, end));
        d.Const("start", "0x" + start.ToString("x", CultureInfo.InvariantCulture) + "\n");
        d.Const("end", "0x" + (end - 1).ToString("x", CultureInfo.InvariantCulture) + "\n");
        d.Const("type", E820TypeNames.Name(type) + "\n");
    }
}
