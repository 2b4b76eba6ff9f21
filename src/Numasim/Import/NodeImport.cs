using System.Globalization;
using Numasim.Firmware;

namespace Numasim.Import;

/// <summary>What sys/devices/system/node tells.</summary>
internal sealed class NodeFacts
{
    /// <summary>The nodes with a folder (online), ascending.</summary>
    public List<int> Ids = [];
    public SortedSet<int> Possible = [];
    public Dictionary<int, ulong> MemTotalKb = [];
    /// <summary>nodeN/cpulist (or cpumap) of each node folder.</summary>
    public Dictionary<int, SortedSet<int>> Cpus = [];
    public List<int> GenericInitiators = [];
    public IReadOnlyList<IReadOnlyList<int>>? Distances;
    public List<NodeAccessSpec> Access = [];
    public List<MemorySideCacheSpec> SideCaches = [];
    /// <summary>The nodeN/memoryM links, (N, M), by node then block.</summary>
    public List<(int Node, int Block)> MemoryLinks = [];
}

/// <summary>sys/devices/system/node: node ids (sparse kept), states, distances, MemTotal, HMAT access classes and
/// memory-side caches.</summary>
internal static class NodeImport
{
    private const string NodeDir = DumpTree.Sys + "/node";

    private static readonly string[] NodeFiles = ["cpumap", "cpulist", "meminfo", "distance"];

    public static NodeFacts Read(DumpTree t, ImportLog log)
    {
        var f = new NodeFacts();
        var dirs = t.IsDir(NodeDir) ? t.Numbered(NodeDir, "node") : [];
        f.Ids = dirs.Select(d => d.Index).ToList();
        if (t.Exists($"{NodeDir}/possible")) f.Possible = t.List($"{NodeDir}/possible");
        f.Possible.UnionWith(f.Ids);
        if (t.Exists($"{NodeDir}/has_generic_initiator")) f.GenericInitiators = t.List($"{NodeDir}/has_generic_initiator").Where(f.Ids.Contains).ToList();
        var folders = t.Folders(dirs.Select(d => d.Path).ToList(), NodeFiles).ToList();
        for (int i = 0; i < dirs.Count; i++)
        {
            int nid = dirs[i].Index;
            var d = folders[i];
            SortedSet<int>? cpus = d.Exists("cpumap") && d.Read("cpumap").Trim().Length > 0 ? d.Mask("cpumap")
                : d.Exists("cpulist") ? d.List("cpulist") : null;
            if (cpus is not null) f.Cpus[nid] = cpus;
            if (d.TryRead("meminfo") is { } mi) f.MemTotalKb[nid] = MemTotalKb(mi, $"{d.Path}/meminfo");
            ReadAccess(t, nid, d, f);
            ReadSideCaches(t, nid, d, f);
            foreach (var (m, _) in d.Numbered("memory")) f.MemoryLinks.Add((nid, m));
        }
        f.Distances = Distances(folders, log);
        return f;
    }

    public static ulong MemTotalKb(string text, string file)
    {
        foreach (var line in text.Split('\n'))
        {
            int at = line.IndexOf("MemTotal:", StringComparison.Ordinal);
            if (at < 0) continue;
            var m = DumpTree.KbRx().Match(line[(at + 9)..].Trim());
            if (m.Success && ulong.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var kb)) return kb;
            throw new ImportException($"{file}: malformed MemTotal line '{line.Trim()}'");
        }
        throw new ImportException($"{file}: no MemTotal line");
    }

    private static IReadOnlyList<IReadOnlyList<int>>? Distances(List<DumpFolder> dirs, ImportLog log)
    {
        if (dirs.Count == 0) return null;
        if (!dirs.Any(d => d.Exists("distance")))
        {
            if (dirs.Count > 1) log.Note("no nodeN/distance files: the kernel's defaults (10 local, 20 remote) apply, as every kernel shows some");
            return null;
        }
        var rows = new List<IReadOnlyList<int>>();
        foreach (var dir in dirs)
        {
            var file = $"{dir.Path}/distance";
            var row = new List<int>(dirs.Count);
            var text = dir.Read("distance").AsSpan();
            foreach (var r in text.SplitAny(" \t\n"))
            {
                var p = text[r];
                if (p.IsEmpty) continue;
                row.Add(int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var dv) ? dv : throw new ImportException($"{file}: '{p}' is not a distance"));
            }
            if (row.Count != dirs.Count)
                throw new ImportException($"{file}: {row.Count} distances but {dirs.Count} nodes (the distance matrix must be square)");
            rows.Add(row);
        }
        if (dirs.Count == 1 && rows[0][0] == 10) return null;
        for (int i = 0; i < rows.Count; i++)
            for (int j = 0; j < rows.Count; j++)
                if (i == j ? rows[i][j] != 10 : rows[i][j] is <= 10 or > 255)
                {
                    log.Note("the distance matrix has a local distance other than 10 or a remote one outside 11..255: x86's slit_valid() rejects such a SLIT, so the kernel's defaults (10/20) apply");
                    return null;
                }
        return rows;
    }

    /// <summary>nodeN/accessK/initiators: the initiator links and the four performance files.</summary>
    private static void ReadAccess(DumpTree t, int nid, DumpFolder dir, NodeFacts f)
    {
        foreach (var (cls, adir) in dir.Numbered("access"))
        {
            var init = $"{adir}/initiators";
            var initiators = t.Numbered(init, "node").Select(x => x.Index).ToList();
            if (initiators.Count == 0) continue;
            f.Access.Add(new NodeAccessSpec(nid, cls, initiators)
            {
                ReadBandwidth = t.Long($"{init}/read_bandwidth"), ReadLatency = t.Long($"{init}/read_latency"),
                WriteBandwidth = t.Long($"{init}/write_bandwidth"), WriteLatency = t.Long($"{init}/write_latency"),
            });
        }
    }

    private static void ReadSideCaches(DumpTree t, int nid, DumpFolder dir, NodeFacts f)
    {
        if (!dir.IsDir("memory_side_cache")) return;
        foreach (var (idx, cdir) in t.Numbered($"{dir.Path}/memory_side_cache", "index"))
        {
            uint U(string name) => (uint)(t.Long($"{cdir}/{name}") ?? 0);
            f.SideCaches.Add(new MemorySideCacheSpec(nid, idx, (ulong)(t.Long($"{cdir}/size") ?? 0), U("line_size"), U("indexing"), U("write_policy")));
        }
    }
}
