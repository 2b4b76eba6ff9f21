using System.Globalization;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace Numasim.Firmware;

/// <summary>
/// The machine file's <c>cpu_features:</c> (vCPU flags beyond qemu64's: pdpe1gb) and <c>hmat:</c> (the HMAT of <c>-machine hmat=on</c>; schema agreed in notes/coord.md): initiators
/// (CPU-less node: its initiator node; CPU nodes are their own), lb entries (initiator, target, hierarchy, data_type,
/// latency in ns or bandwidth in bytes/s) and caches (node, level, size, associativity, policy, line), checked with
/// QEMU's rules (<see cref="HmatLbInfo"/>).
/// </summary>
public static partial class MachineFile
{
    private static readonly string[] HierarchyNames = ["memory", "first-level", "second-level", "third-level"];
    private static readonly string[] DataTypeNames = ["access-latency", "read-latency", "write-latency", "access-bandwidth", "read-bandwidth", "write-bandwidth"];
    private static readonly string[] AssociativityNames = ["none", "direct", "complex"];
    private static readonly string[] PolicyNames = ["none", "write-back", "write-through"];

    private static void WriteHmat(StringBuilder sb, MachineSpec spec)
    {
        if (spec.CpuFeatures.Count > 0) sb.Append("cpu_features: [").Append(string.Join(", ", spec.CpuFeatures)).Append("]\n");
        if (spec.Hmat is not { } h) return;
        var inv = CultureInfo.InvariantCulture;
        var cpu = new HashSet<int>(h.CpuNodes);
        var own = h.Initiators.Where(kv => !cpu.Contains(kv.Key)).OrderBy(kv => kv.Key).Select(kv => string.Create(inv, $"{kv.Key}: {kv.Value}"));
        sb.Append("hmat:\n  initiators: {").Append(string.Join(", ", own)).Append("}\n");
        sb.Append("  lb:\n");
        foreach (var e in h.Lb)
            sb.Append(inv, $"    - {{initiator: {e.Initiator}, target: {e.Target}, hierarchy: {HierarchyNames[(int)e.Hierarchy]}, data_type: {DataTypeNames[(int)e.DataType]}, {(e.IsLatency ? "latency" : "bandwidth")}: {e.Value}}}\n");
        sb.Append("  caches:\n");
        foreach (var c in h.Caches)
            sb.Append(inv, $"    - {{node: {c.Node}, level: {c.Level}, size: {c.Size}, associativity: {AssociativityNames[(int)c.Associativity]}, policy: {PolicyNames[(int)c.Policy]}, line: {c.Line}}}\n");
    }

    private sealed partial class Reader
    {
        private int Name(YamlNode node, string field, string[] names)
        {
            var s = Scalar(node, field);
            int i = Array.IndexOf(names, s);
            return i >= 0 ? i : throw Err(node, $"{field}: '{s}' is not one of {string.Join(", ", names)}");
        }

        /// <summary>Reads <c>hmat:</c>, with the checks QEMU makes of the same options (hw/core/numa.c).</summary>
        private MachineSpec ReadHmat(MachineSpec spec, Dictionary<string, (YamlNode key, YamlNode value)> f)
        {
            if (f.TryGetValue("cpu_features", out var cf))
            {
                var features = Seq(cf.value, "cpu_features").Select(n => Scalar(n, "cpu_features")).ToList();
                foreach (var (n, name) in Seq(cf.value, "cpu_features").Zip(features))
                    if (name != "pdpe1gb") throw Err(n, $"cpu_features: '{name}' is not a feature the model acts on (pdpe1gb)");
                spec = spec with { CpuFeatures = features.Distinct().ToList() };
            }
            if (!f.TryGetValue("hmat", out var hv)) return spec;
            var top = Map(hv.value, "hmat", ["initiators", "lb", "caches"]);
            var nodes = spec.NodeIds.ToHashSet();
            var cpuNodes = spec.CpuSlots.Select(c => c.NodeId).Where(nodes.Contains).Distinct().Order().ToList();
            var initiators = cpuNodes.ToDictionary(n => n, n => n);
            if (top.TryGetValue("initiators", out var iv))
            {
                if (iv is not YamlMappingNode im) throw Err(iv, "hmat.initiators: expected a mapping of node to initiator node");
                foreach (var (k, v) in im.Children)
                {
                    int node = Int(k, "hmat.initiators", 0), init = Int(v, "hmat.initiators", 0);
                    if (!nodes.Contains(node)) throw Err(k, $"hmat.initiators: node {node} is not in 'nodes'");
                    if (!cpuNodes.Contains(init)) throw Err(v, $"hmat.initiators: the initiator of NUMA node {node} is invalid (node {init} has no CPU)");
                    if (cpuNodes.Contains(node) && init != node) throw Err(v, $"hmat.initiators: the initiator of CPU NUMA node {node} should be itself (got {init})");
                    initiators[node] = init;
                }
            }
            var infos = new Dictionary<(HmatHierarchy, HmatDataType), HmatLbInfo>();
            var lb = new List<HmatLbSpec>();
            var provided = new Dictionary<int, int>();
            if (top.TryGetValue("lb", out var lv))
                foreach (var item in Seq(lv, "hmat.lb"))
                {
                    var m = Map(item, "hmat.lb entry", ["initiator", "target", "hierarchy", "data_type", "latency", "bandwidth"]);
                    int init = Int(Need(m, item, "initiator", "hmat.lb"), "hmat.lb.initiator", 0);
                    int target = Int(Need(m, item, "target", "hmat.lb"), "hmat.lb.target", 0);
                    var hier = m.TryGetValue("hierarchy", out var hn) ? (HmatHierarchy)Name(hn, "hmat.lb.hierarchy", HierarchyNames) : HmatHierarchy.Memory;
                    var type = (HmatDataType)Name(Need(m, item, "data_type", "hmat.lb"), "hmat.lb.data_type", DataTypeNames);
                    bool latency = type <= HmatDataType.WriteLatency;
                    string want = latency ? "latency" : "bandwidth", other = latency ? "bandwidth" : "latency";
                    if (m.ContainsKey(other)) throw Err(item, $"hmat.lb: invalid option '{other}' since the data type is {want}");
                    var vn = Need(m, item, want, "hmat.lb");
                    ulong value = latency ? (ulong)Int(vn, "hmat.lb.latency", 0) : Size(vn, "hmat.lb.bandwidth");
                    if (!cpuNodes.Contains(init)) throw Err(item, $"hmat.lb: invalid initiator={init}, it isn't an initiator proximity domain");
                    if (!nodes.Contains(target)) throw Err(item, $"hmat.lb: the target={target} should point to an existing node");
                    var e = new HmatLbSpec(init, target, hier, type, value);
                    if (!infos.TryGetValue((hier, type), out var info)) infos[(hier, type)] = info = new HmatLbInfo();
                    if (info.Add(e) is { } err) throw Err(item, "hmat.lb: " + err);
                    if (value != 0) provided[target] = provided.GetValueOrDefault(target) | (latency ? 1 : 2);
                    lb.Add(e);
                }
            var caches = new List<HmatCacheSpec>();
            if (top.TryGetValue("caches", out var cv))
                foreach (var item in Seq(cv, "hmat.caches"))
                {
                    var m = Map(item, "hmat.caches entry", ["node", "level", "size", "associativity", "policy", "line"]);
                    int node = Int(Need(m, item, "node", "hmat.caches"), "hmat.caches.node", 0);
                    int level = Int(Need(m, item, "level", "hmat.caches"), "hmat.caches.level", 1);
                    var c = new HmatCacheSpec(node, level, Size(Need(m, item, "size", "hmat.caches"), "hmat.caches.size"),
                        (HmatCacheAssociativity)Name(Need(m, item, "associativity", "hmat.caches"), "hmat.caches.associativity", AssociativityNames),
                        (HmatCachePolicy)Name(Need(m, item, "policy", "hmat.caches"), "hmat.caches.policy", PolicyNames),
                        Int(Need(m, item, "line", "hmat.caches"), "hmat.caches.line", 0));
                    if (!nodes.Contains(node)) throw Err(item, $"hmat.caches: node {node} is not in 'nodes'");
                    if (provided.GetValueOrDefault(node) != 3)
                        throw Err(item, $"hmat.caches: the latency and bandwidth information of node-id={node} should be provided before memory side cache attributes");
                    if (level >= AcpiHmatBuilder.Levels) throw Err(item, $"hmat.caches: invalid level={level}, it should be larger than 0 and less than or equal to {AcpiHmatBuilder.Levels - 1}");
                    if (caches.Any(x => x.Node == node && x.Level == level)) throw Err(item, $"hmat.caches: duplicate configuration of the side cache for node-id={node} and level={level}");
                    var below = caches.Find(x => x.Node == node && x.Level == level - 1);
                    if (level > 1 && below is null) throw Err(item, $"hmat.caches: cache level={level - 1} shall be defined first");
                    if (below is not null && c.Size <= below.Size) throw Err(item, $"hmat.caches: the size of level={level} should be larger than the size({below.Size}) of level={level - 1}");
                    caches.Add(c);
                }
            return spec with { Hmat = new HmatSpec { Initiators = initiators, CpuNodes = cpuNodes, Lb = lb, Caches = caches } };
        }
    }
}
