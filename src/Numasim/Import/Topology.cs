using Numasim.Firmware;

namespace Numasim.Import;

/// <summary>The topology ids one CPU gets in the machine file (Cluster and ComputeUnit -1 when it has none).</summary>
internal readonly record struct TopoIds(int Cpu, int Package, int Die, int Cluster, int Core, int ComputeUnit, int Thread);

/// <summary>
/// cpuN/topology → ids whose x86 sibling masks are the tree's masks. The masks are what lscpu and hwloc read
/// (thread_siblings, core_siblings, die_cpus, cluster_cpus, and the _list files only where a mask is missing), so a
/// tree whose mask and list disagree is taken as the tools take it.
/// </summary>
internal static class Topology
{
    private sealed class Raw
    {
        public int Cpu, Package, Die, Cluster, Core;
        public required SortedSet<int> PkgMask, DieMask, ClusterMask, SmtMask;
        public bool HasCluster, HasPkgMask, HasSmtMask;
    }

    /// <summary>The files of cpuN/topology the importer reads.</summary>
    public static readonly string[] Files = ["core_id", "physical_package_id", "die_id", "cluster_id", "core_siblings", "thread_siblings",
        "die_cpus", "cluster_cpus"];

    /// <param name="folders">Each present CPU's cpuN/topology folder.</param>
    public static Dictionary<int, TopoIds> Assign(IReadOnlyDictionary<int, DumpFolder> folders, CpuFacts f, CpuInfoFacts info, Dictionary<int, int> node, ImportLog log)
    {
        var raws = new List<Raw>();
        var own = new List<int>();
        foreach (var c in f.Present)
        {
            var topo = folders[c];
            if (topo.IsFolder && (topo.Exists("core_id") || topo.Exists("physical_package_id"))) raws.Add(ReadRaw(topo, c));
            else if (info.Ids.TryGetValue(c, out var ci) && ci.Core is int core)
                raws.Add(new Raw { Cpu = c, Package = ci.Socket ?? 0, Die = -1, Cluster = -1, Core = core, PkgMask = [c], DieMask = [c], ClusterMask = [c], SmtMask = [c] });
            else own.Add(c);
        }
        FillMissingMasks(raws);
        var ids = new Dictionary<int, TopoIds>();
        var pkg = Groups(raws, r => r.PkgMask, r => r.Package, log, "packages", "physical_package_id", "core_siblings");
        foreach (var p in raws.GroupBy(r => pkg[r.Cpu]))
        {
            var die = Groups(p.ToList(), r => r.DieMask, r => r.Die, log, "dies", "die_id", "die_cpus");
            if (die.Values.Distinct().Count() == 1 && NodesOwnCoreIds(p.ToList(), node) is { } perNode)
            {
                die = perNode;
                log.Infer($"package {p.Key} spans nodes whose core ids repeat: one die per node (x86's cpu_die_id on AMD multi-node packages, which keeps their cores apart)");
            }
            foreach (var d in p.GroupBy(r => die[r.Cpu]))
                Cores(d.ToList(), p.Key, d.Key, ids, log);
        }
        // L2 clusters: x86 shows the SMT siblings when the L2 id is not set up (cluster_id 65535)
        if (raws.Any(r => r.HasCluster && !r.ClusterMask.SetEquals(r.SmtMask)))
        {
            var cl = Groups(raws, r => r.ClusterMask, r => r.Cluster, log, "clusters", "cluster_id", "cluster_cpus");
            foreach (var r in raws) ids[r.Cpu] = ids[r.Cpu] with { Cluster = cl[r.Cpu] };
        }
        if (own.Count > 0)
        {
            int next = ids.Values.Where(v => v.Package == 0).Select(v => v.Core + 1).DefaultIfEmpty(0).Max();
            foreach (var c in own) ids[c] = new TopoIds(c, 0, 0, -1, next++, -1, 0);
            log.Infer($"CPUs {IdList.Format(own)} show no topology (offline CPUs lose cpuN/topology since 4.10): each is a core of its own in package 0");
        }
        return ids;
    }

    /// <summary>A die per node when the package's thread_siblings groups repeat core ids only across nodes; else null.</summary>
    private static Dictionary<int, int>? NodesOwnCoreIds(List<Raw> package, Dictionary<int, int> node)
    {
        var groups = package.GroupBy(r => string.Join(',', r.SmtMask)).Select(g => g.ToList()).ToList();
        var byCore = groups.GroupBy(g => g[0].Core).Where(x => x.Key >= 0 && x.Count() > 1).ToList();
        if (byCore.Count == 0) return null;
        int NodeOf(Raw r) => node.GetValueOrDefault(r.Cpu, -1);
        if (byCore.Any(c => c.Select(g => NodeOf(g[0])).Distinct().Count() != c.Count())) return null;
        var order = package.OrderBy(r => r.Cpu).Select(NodeOf).Distinct().ToList();
        return package.ToDictionary(r => r.Cpu, r => order.IndexOf(NodeOf(r)));
    }

    /// <summary>A tree without a package or thread_siblings mask (old or hand-made trees) groups by the ids it shows:
    /// CPUs of one physical_package_id are a package, of one (package, core_id) a core.</summary>
    private static void FillMissingMasks(List<Raw> raws)
    {
        foreach (var r in raws)
        {
            if (!r.HasPkgMask && r.Package >= 0) r.PkgMask = new SortedSet<int>(raws.Where(o => !o.HasPkgMask && o.Package == r.Package).Select(o => o.Cpu));
            if (!r.HasSmtMask && r.Core >= 0) r.SmtMask = new SortedSet<int>(raws.Where(o => !o.HasSmtMask && o.Package == r.Package && o.Core == r.Core).Select(o => o.Cpu));
            if (!r.HasCluster) r.ClusterMask = r.SmtMask;
        }
        foreach (var r in raws.Where(r => !r.HasPkgMask)) r.DieMask = r.PkgMask;
    }

    private static Raw ReadRaw(DumpFolder topo, int c)
    {
        var pkgMask = topo.MaskOrList("core_siblings") ?? topo.MaskOrList("package_cpus");
        var smtMask = topo.MaskOrList("thread_siblings") ?? topo.MaskOrList("core_cpus");
        var pkg = pkgMask ?? [c];
        var smt = smtMask ?? [c];
        var cluster = topo.MaskOrList("cluster_cpus");
        foreach (var s in (SortedSet<int>[])[pkg, smt]) s.Add(c);
        int clusterId = topo.Int("cluster_id", -1);
        return new Raw
        {
            Cpu = c, Package = topo.Int("physical_package_id", -1), Die = topo.Int("die_id", -1),
            Cluster = clusterId == 0xffff ? -1 : clusterId, Core = topo.Int("core_id", -1),
            PkgMask = pkg, DieMask = topo.MaskOrList("die_cpus") ?? pkg, SmtMask = smt,
            ClusterMask = cluster ?? smt, HasCluster = cluster is not null, HasPkgMask = pkgMask is not null, HasSmtMask = smtMask is not null,
        };
    }

    /// <summary>An id per CPU such that CPUs share an id exactly when they show the same mask: the tree's own id where
    /// every group has its own, else the groups numbered in order of their first CPU (stated).</summary>
    private static Dictionary<int, int> Groups(List<Raw> raws, Func<Raw, SortedSet<int>> mask, Func<Raw, int> raw, ImportLog log,
        string what, string idFile, string maskFile)
    {
        var groups = raws.GroupBy(r => string.Join(',', mask(r))).Select(g => g.ToList()).ToList();
        var rawOf = groups.Select(g => g.Select(raw).Distinct().ToList()).ToList();
        bool keep = rawOf.All(r => r.Count == 1 && r[0] >= 0) && rawOf.Select(r => r[0]).Distinct().Count() == groups.Count;
        var map = new Dictionary<int, int>();
        for (int i = 0; i < groups.Count; i++)
            foreach (var r in groups[i]) map[r.Cpu] = keep ? rawOf[i][0] : i;
        if (!keep && groups.Count > 0 && raws.Any(r => raw(r) >= 0))
            log.Infer($"{what} numbered from {maskFile} in order of their first CPU: {idFile} does not give each its own id");
        var cpus = raws.Select(r => r.Cpu).ToHashSet();
        if (groups.Any(g => !mask(g[0]).Where(cpus.Contains).SequenceEqual(g.Select(r => r.Cpu).Order())))
            log.Note($"{maskFile} masks that disagree between the CPUs they name: the model gives each CPU the {what[..^1]} its own mask says");
        return map;
    }

    /// <summary>Cores of one die: a thread_siblings group is a core; its CPUs take their core_id when they share it, or
    /// are one AMD compute unit when each has its own (thread siblings since the compute unit, cu_id, joins them).</summary>
    private static void Cores(List<Raw> die, int package, int dieId, Dictionary<int, TopoIds> ids, ImportLog log)
    {
        var groups = die.GroupBy(r => string.Join(',', r.SmtMask)).Select(g => g.OrderBy(r => r.Cpu).ToList()).ToList();
        var used = new HashSet<int>();
        int next = die.Select(r => r.Core + 1).DefaultIfEmpty(0).Max();
        int cu = 0;
        bool renumbered = false, units = false;
        foreach (var g in groups)
        {
            var cores = g.Select(r => r.Core).Distinct().ToList();
            bool unit = g.Count > 1 && cores.Count == g.Count && cores.All(x => x >= 0);
            for (int i = 0; i < g.Count; i++)
            {
                int core = unit ? g[i].Core : cores.Count == 1 && cores[0] >= 0 ? cores[0] : -1;
                if (core < 0 || (!unit && i == 0 && !used.Add(core)) || (unit && !used.Add(core)))
                {
                    if (unit || i == 0) { core = next++; used.Add(core); renumbered = true; }
                }
                if (!unit && i > 0) core = ids[g[0].Cpu].Core;
                ids[g[i].Cpu] = new TopoIds(g[i].Cpu, package, dieId, -1, core, unit ? cu : -1, unit ? 0 : i);
            }
            if (unit) { cu++; units = true; }
        }
        if (units) log.Infer("thread siblings with core ids of their own: AMD compute units (compute_unit), whose cores are SMT siblings (match_smt()'s cu_id)");
        if (renumbered) log.Infer($"package {package}: some thread_siblings groups repeat or lack a core_id: those cores numbered after the highest core_id");
    }
}
