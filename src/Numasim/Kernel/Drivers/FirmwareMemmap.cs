using System.Globalization;
using Numasim.Firmware;
using Numasim.Kernel.Sysfs;
using Numasim.Snapshots;

namespace Numasim.Kernel.Drivers;

/// <summary>
/// drivers/firmware/memmap.c: /sys/firmware/memmap/N/{start,end,type}, the firmware's memory map as the kernel got it
/// (e820_table_firmware, sorted by address) and, appended, the ranges memory hotplug adds (firmware_map_add_hotplug())
/// until they are removed (firmware_map_remove()). The entries are compact state (an entry's number is its index, as
/// map_entries_nr counts: a removed entry keeps its number); the N directories are a view of them.
/// </summary>
internal sealed class FirmwareMemmap
{
    private const string Root = "/sys/firmware/memmap";
    private readonly KernelContext _k;

    /// <summary>struct firmware_map_entry: [Start, End) and its type; Removed once firmware_map_remove() took it.</summary>
    private struct Entry
    {
        public ulong Start, End;
        public E820Type Type;
        public bool Removed;
    }

    private readonly StateArray<Entry> _entries;

    public FirmwareMemmap(KernelContext k)
    {
        _k = k;
        _entries = new StateArray<Entry>(k.State, "firmware memmap entries");
    }

    /// <summary>Models firmware_map_add_early() for each e820 entry and firmware_memmap_init().</summary>
    public void Init()
    {
        var entries = _entries;
        _k.Fs.MakeDirs(Root).AddSource(new NumberedSource("", ids => { for (int i = 0; i < entries.Length; i++) if (!entries[i].Removed) ids.Add(i); },
            i => i < entries.Length && !entries[(int)i].Removed, (p, name, i) => EntryDir(p, name, entries[(int)i])));
        foreach (var e in _k.Firmware.E820.OrderBy(e => e.Start)) _entries.Add(new Entry { Start = e.Start, End = e.End, Type = e.Type });
    }

    /// <summary>Models firmware_map_add_hotplug(start, end - 1, "System RAM").</summary>
    public void AddHotplug(ulong start, ulong end)
    {
        if (IndexOf(start, end) >= 0) return;
        _entries.Add(new Entry { Start = start, End = end, Type = E820Type.Ram });
    }

    /// <summary>Models firmware_map_remove().</summary>
    public void Remove(ulong start, ulong end)
    {
        int i = IndexOf(start, end);
        if (i >= 0) _entries.Mut(i).Removed = true;
    }

    private int IndexOf(ulong start, ulong end)
    {
        for (int i = 0; i < _entries.Length; i++)
            if (_entries[i] is { Removed: false } e && e.Start == start && e.End == end) return i;
        return -1;
    }

    /// <summary>An entry's directory, as add_sysfs_fw_map_entry() made it.</summary>
    private static SysfsDirectory EntryDir(SysfsDirectory parent, string name, Entry e)
    {
        var d = new SysfsDirectory(name, parent);
        d.Const("start", "0x" + e.Start.ToString("x", CultureInfo.InvariantCulture) + "\n");
        d.Const("end", "0x" + (e.End - 1).ToString("x", CultureInfo.InvariantCulture) + "\n");
        d.Const("type", E820TypeNames.Name(e.Type) + "\n");
        return d;
    }
}
