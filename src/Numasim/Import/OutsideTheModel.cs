namespace Numasim.Import;

/// <summary>Facts a tree may hold that lie outside the modelled subsystem: each one present is reported on one line,
/// so that nothing is dropped silently.</summary>
internal static class OutsideTheModel
{
    private static readonly (string Path, bool Dir, string What)[] Checks =
    [
        ("sys/bus/dax/devices", true, "DAX devices (sys/bus/dax): outside the model"),
        ("sys/bus/pci/devices", true, "PCI devices (sys/bus/pci): outside the model"),
        ("sys/fs/cgroup", true, "cgroups (sys/fs/cgroup): outside the model"),
        ("sys/class/dmi/id", true, "DMI identification (sys/class/dmi): outside the model"),
        ("proc/device-tree", true, "the device tree (proc/device-tree): outside the model"),
    ];

    public static void Note(DumpTree t, ImportLog log)
    {
        const string tiers = "sys/devices/virtual/memory_tiering";
        var other = t.Numbered(tiers, "memory_tier").Where(x => x.Index != 4).ToList();
        if (other.Count > 0)
            log.Note($"memory tiers other than memory_tier4 ({string.Join(", ", other.Select(x => "memory_tier" + x.Index))}): the model puts every memory node in the default DRAM tier");
        foreach (var (path, dir, what) in Checks)
            if (dir ? t.IsDir(path) && t.Names(path).Count > 0 : t.Exists(path)) log.Note(what);
        foreach (var (cpu, d) in t.Numbered(DumpTree.Sys + "/cpu", "cpu"))
        {
            if (t.Exists($"{d}/topology/book_id") || t.Exists($"{d}/topology/drawer_id"))
            {
                log.Note("s390 books and drawers (cpuN/topology/book_id, drawer_id): x86 has no such level");
                break;
            }
            if (cpu > 0) break;
        }
        foreach (var (nid, d) in t.Numbered(DumpTree.Sys + "/node", "node"))
            foreach (var h in t.Names($"{d}/hugepages"))
                if (t.Long($"{d}/hugepages/{h}/nr_hugepages") is > 0)
                {
                    log.Note($"node {nid}: {h} reserved (nr_hugepages): the model reserves no huge pages");
                    break;
                }
    }
}
