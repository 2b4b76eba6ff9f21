using System.Globalization;
using Numasim.Firmware;

namespace Numasim.Import;

/// <summary>
/// cpu/cpuN/cache/indexK: each cache instance once, with the CPUs that share it (shared_cpu_map, which lscpu and hwloc
/// read; shared_cpu_list where the map is missing). Null when no CPU shows a cache folder.
/// </summary>
internal static class CacheImport
{
    private sealed record Leaf(int Index, int? Level, string? Type, ulong? SizeKb, int? Ways, int? Line, int? Sets, int? Partition,
        string? WritePolicy, string? AllocationPolicy, string Shared);

    private static readonly string[] LeafFiles = ["shared_cpu_map", "size", "level", "type", "ways_of_associativity", "coherency_line_size",
        "number_of_sets", "physical_line_partition", "write_policy", "allocation_policy", "id"];

    public static List<CacheSpec>? Read(DumpTree t, CpuFacts cpus, ImportLog log)
    {
        // instance key -> its CPUs (and their ids), in order of first appearance
        var instances = new Dictionary<Leaf, (List<int> Cpus, List<int?> Ids)>();
        var order = new List<Leaf>();
        bool any = false;
        var online = cpus.Online.ToList();
        var leafDirs = new List<(int Cpu, int Index, string Dir)>();
        int at = 0;
        foreach (var cache in t.Folders(online.Select(c => $"{DumpTree.Sys}/cpu/cpu{c}/cache").ToList(), [], subfolders: true))
        {
            int cpu = online[at++];
            if (!cache.IsFolder) continue;
            any = true;
            foreach (var (idx, ldir) in cache.Numbered("index")) leafDirs.Add((cpu, idx, ldir));
        }
        at = 0;
        foreach (var d in t.Folders(leafDirs.Select(l => l.Dir).ToList(), LeafFiles))
        {
            var (cpu, idx, _) = leafDirs[at++];
            var shared = d.MaskOrList("shared_cpu_map") ?? d.MaskOrList("shared_cpu") ?? [cpu];
            shared.Add(cpu);
            var size = d.TryRead("size")?.Trim();
            ulong? kb = size is null ? null : QemuSize.TryParse(size, 1024, out var bytes) ? bytes / 1024
                : throw new ImportException($"{d.Path}/size: '{size}' is not a size such as 32K");
            int? I(string name) => d.TryRead(name) is { } s && s.AsSpan().Trim().Length > 0 ? d.Int(name, 0) : null;
            string? S(string name) => d.TryRead(name)?.Trim() is { Length: > 0 } s ? s : null;
            var leaf = new Leaf(idx, I("level"), S("type"), kb, I("ways_of_associativity"), I("coherency_line_size"), I("number_of_sets"),
                I("physical_line_partition"), S("write_policy"), S("allocation_policy"), IdList.Format(shared));
            if (!instances.TryGetValue(leaf, out var inst)) { instances[leaf] = inst = ([], []); order.Add(leaf); }
            inst.Cpus.Add(cpu);
            inst.Ids.Add(I("id"));
        }
        if (!any) return null;
        var list = new List<CacheSpec>();
        bool split = false;
        foreach (var leaf in order)
        {
            var (members, ids) = instances[leaf];
            // a consistent tree: the CPUs showing this instance are the ones its map names; else the map is kept as shown
            bool consistent = IdList.Format(members) == leaf.Shared;
            split |= !consistent;
            foreach (var (cs, idl) in (List<(List<int>, List<int?>)>)[(members, ids)])
                list.Add(new CacheSpec(leaf.Index, cs)
                {
                    Shared = consistent ? null : IdList.Parse(leaf.Shared),
                    Level = leaf.Level, Type = leaf.Type, SizeKb = leaf.SizeKb, Ways = leaf.Ways, LineSize = leaf.Line, Sets = leaf.Sets,
                    Partition = leaf.Partition, WritePolicy = leaf.WritePolicy, AllocationPolicy = leaf.AllocationPolicy,
                    Ids = idl.All(x => x is null) ? null : idl.Distinct().Count() == 1 ? [idl[0] ?? 0] : idl.Select(x => x ?? 0).ToList(),
                });
        }
        if (split) log.Infer("cache shared_cpu_map files that name CPUs whose own map differs (each CPU's cacheinfo has its own): kept per CPU as shown (shared)");
        var offline = cpus.Present.Where(c => !cpus.Online.Contains(c)).ToList();
        if (offline.Count > 0) log.Note($"CPUs {IdList.Format(offline)} are offline, so the tree shows no caches for them: none shown if the model onlines them");
        return list;
    }
}
