using System.Globalization;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace Numasim.Firmware;

/// <summary>
/// The machine-file fields of <see cref="MachineSpec"/>'s real-machine part (MachineSpec.Real.cs): boot_memory, dimms,
/// device_memory_base, block_states, memtotal_kb, unremovable_blocks, firmware_cpu_ids, cpuinfo, caches,
/// vulnerabilities, cpufreq, memory_side_caches. CPU lists are strings in the kernel's list syntax ("0-3,8").
/// </summary>
public static partial class MachineFile
{
    private static readonly HashSet<string> RealKeys = ["boot_memory", "firmware_reserved", "dimms", "device_memory_base", "block_states", "memtotal_kb",
        "unremovable_blocks", "firmware_cpu_ids", "cpuinfo", "caches", "vulnerabilities", "cpufreq", "memory_side_caches", "node_access",
        "generic_initiator_nodes", "hotplug_only_nodes", "cpufreq_boost", "hmat", "cpu_features"];

    private static readonly string[] CacheKeys = ["index", "cpus", "level", "type", "size", "ways", "line", "sets", "partition", "write_policy", "allocation_policy", "ids", "shared"];

    /// <summary>The first real-machine field that differs (compared as the machine file writes them), or null.</summary>
    internal static string? RealFactsDifference(MachineSpec a, MachineSpec b)
    {
        var (ta, tb) = (new StringBuilder(), new StringBuilder());
        WriteReal(ta, a);
        WriteReal(tb, b);
        if (ta.Equals(tb)) return null;
        var la = ta.ToString().Split('\n');
        var lb = tb.ToString().Split('\n');
        int i = 0;
        while (i < la.Length && i < lb.Length && la[i] == lb[i]) i++;
        return $"real-machine fields differ: '{(i < la.Length ? la[i] : "")}' != '{(i < lb.Length ? lb[i] : "")}'";
    }

    private static void WriteReal(StringBuilder sb, MachineSpec spec)
    {
        WriteHmat(sb, spec);
        var inv = CultureInfo.InvariantCulture;
        if (spec.BootMemory is { } bm)
        {
            sb.Append("boot_memory:\n");
            foreach (var r in bm) sb.Append(inv, $"  - {{start: {QemuSize.Hex(r.Start)}, size: {QemuSize.Format(r.Size)}, node: {r.Node}}}\n");
        }
        if (spec.FirmwareReserved.Count > 0)
        {
            sb.Append("firmware_reserved:\n");
            foreach (var r in spec.FirmwareReserved)
                sb.Append("  - {start: ").Append(QemuSize.Hex(r.Start)).Append(", size: ").Append(QemuSize.Format(r.Size)).Append(", type: ").Append(Quote(E820TypeNames.Name(r.Type))).Append("}\n");
        }
        if (spec.Dimms.Count > 0)
        {
            sb.Append("dimms:\n");
            foreach (var d in spec.Dimms)
            {
                sb.Append(inv, $"  - {{id: {Quote(d.Id)}, size: {QemuSize.Format(d.SizeBytes)}, node: {d.Node}");
                if (d.Address is ulong a) sb.Append(", addr: ").Append(QemuSize.Hex(a));
                if (d.Slot is int s) sb.Append(inv, $", slot: {s}");
                sb.Append("}\n");
            }
        }
        if (spec.DeviceMemoryBase is ulong dmb) sb.Append("device_memory_base: ").Append(QemuSize.Hex(dmb)).Append('\n');
        if (spec.BlockStates.Count > 0)
            sb.Append("block_states: {").Append(string.Join(", ", spec.BlockStates.Select(b => $"{b.Block.ToString(inv)}: {b.State}"))).Append("}\n");
        if (spec.MemTotals.Count > 0)
            sb.Append("memtotal_kb: {").Append(string.Join(", ", spec.MemTotals.Select(m => $"{m.Node.ToString(inv)}: {m.MemTotalKb.ToString(inv)}"))).Append("}\n");
        if (spec.UnremovableBlocks.Count > 0) sb.Append("unremovable_blocks: \"").Append(IdList.Format(spec.UnremovableBlocks)).Append("\"\n");
        if (spec.FirmwareCpuIds) sb.Append("firmware_cpu_ids: true\n");
        if (spec.CpuInfo is { } ci)
        {
            sb.Append(ci.Count == 0 ? "cpuinfo: []\n" : "cpuinfo:\n");
            foreach (var g in ci)
            {
                sb.Append("  - cpus: \"").Append(IdList.Format(g.Cpus)).Append("\"\n");
                foreach (var (k, v) in g.Fields) sb.Append("    ").Append(Quote(k)).Append(": ").Append(Quote(v)).Append('\n');
            }
        }
        if (spec.Caches is { } caches) WriteCaches(sb, caches);
        if (spec.Vulnerabilities is { } vul)
        {
            sb.Append(vul.Count == 0 ? "vulnerabilities: {}\n" : "vulnerabilities:\n");
            foreach (var (k, v) in vul) sb.Append("  ").Append(Quote(k)).Append(": ").Append(Quote(v)).Append('\n');
        }
        if (spec.CpuFreq.Count > 0)
        {
            sb.Append("cpufreq:\n");
            foreach (var f in spec.CpuFreq)
            {
                sb.Append("  - {cpus: \"").Append(IdList.Format(f.Cpus)).Append('"');
                if (f.MaxKhz is long mx) sb.Append(inv, $", max_khz: {mx}");
                if (f.MinKhz is long mn) sb.Append(inv, $", min_khz: {mn}");
                if (f.CurKhz is long cu) sb.Append(inv, $", cur_khz: {cu}");
                sb.Append("}\n");
            }
        }
        if (spec.CpuFreqBoost is int boost) sb.Append(inv, $"cpufreq_boost: {boost}\n");
        if (spec.MemorySideCaches.Count > 0)
        {
            sb.Append("memory_side_caches:\n");
            foreach (var c in spec.MemorySideCaches)
                sb.Append(inv, $"  - {{node: {c.Node}, index: {c.Index}, size: {c.Size}, line_size: {c.LineSize}, indexing: {c.Indexing}, write_policy: {c.WritePolicy}}}\n");
        }
        if (spec.NodeAccess.Count > 0)
        {
            sb.Append("node_access:\n");
            foreach (var a in spec.NodeAccess)
            {
                sb.Append(inv, $"  - {{node: {a.Node}, class: {a.Class}, initiators: \"{IdList.Format(a.Initiators)}\"");
                if (a.ReadBandwidth is long rb) sb.Append(inv, $", read_bandwidth: {rb}");
                if (a.ReadLatency is long rl) sb.Append(inv, $", read_latency: {rl}");
                if (a.WriteBandwidth is long wb) sb.Append(inv, $", write_bandwidth: {wb}");
                if (a.WriteLatency is long wl) sb.Append(inv, $", write_latency: {wl}");
                sb.Append("}\n");
            }
        }
        if (spec.GenericInitiatorNodes.Count > 0) sb.Append("generic_initiator_nodes: \"").Append(IdList.Format(spec.GenericInitiatorNodes)).Append("\"\n");
        if (spec.HotplugOnlyNodes.Count > 0) sb.Append("hotplug_only_nodes: \"").Append(IdList.Format(spec.HotplugOnlyNodes)).Append("\"\n");
    }

    /// <summary>Instances with the same index and properties share one entry: their CPU lists joined by ';' (and
    /// their id lists the same way), so a machine of 8,192 CPUs writes four lines per cache kind, not 32,768.</summary>
    private static void WriteCaches(StringBuilder sb, IReadOnlyList<CacheSpec> caches)
    {
        sb.Append(caches.Count == 0 ? "caches: []\n" : "caches:\n");
        var inv = CultureInfo.InvariantCulture;
        foreach (var g in caches.GroupBy(c => (c.Index, c.Level, c.Type, c.SizeKb, c.Ways, c.LineSize, c.Sets, c.Partition, c.WritePolicy, c.AllocationPolicy, HasIds: c.Ids is not null, HasShared: c.Shared is not null)))
        {
            var k = g.First();
            sb.Append(inv, $"  - {{index: {k.Index}");
            if (k.Level is int l) sb.Append(inv, $", level: {l}");
            if (k.Type is { } t) sb.Append(", type: ").Append(t);
            if (k.SizeKb is ulong s) sb.Append(inv, $", size: {s}K");
            if (k.Ways is int w) sb.Append(inv, $", ways: {w}");
            if (k.LineSize is int ls) sb.Append(inv, $", line: {ls}");
            if (k.Sets is int st) sb.Append(inv, $", sets: {st}");
            if (k.Partition is int p) sb.Append(inv, $", partition: {p}");
            if (k.WritePolicy is { } wp) sb.Append(", write_policy: ").Append(wp);
            if (k.AllocationPolicy is { } ap) sb.Append(", allocation_policy: ").Append(ap);
            sb.Append(", cpus: \"").Append(string.Join(';', g.Select(c => IdList.Format(c.Cpus)))).Append('"');
            if (k.Ids is not null) sb.Append(", ids: \"").Append(string.Join(';', g.Select(c => IdList.Format(c.Ids!)))).Append('"');
            if (k.Shared is not null) sb.Append(", shared: \"").Append(string.Join(';', g.Select(c => IdList.Format(c.Shared!)))).Append('"');
            sb.Append("}\n");
        }
    }

    private sealed partial class Reader
    {
        private MachineSpec ReadReal(MachineSpec spec, Dictionary<string, (YamlNode key, YamlNode value)> f)
        {
            if (f.TryGetValue("boot_memory", out var bm))
            {
                var list = new List<BootRamRange>();
                foreach (var item in Seq(bm.value, "boot_memory"))
                {
                    var m = Map(item, "boot_memory entry", ["start", "size", "node"]);
                    var r = new BootRamRange(Size(Need(m, item, "start", "boot_memory"), "boot_memory.start"),
                        Size(Need(m, item, "size", "boot_memory"), "boot_memory.size"), Int(Need(m, item, "node", "boot_memory"), "boot_memory.node", 0));
                    if (r.Size == 0 || r.End < r.Start) throw Err(item, "boot_memory: a range must not be empty or wrap");
                    if (list.Count > 0 && r.Start < list[^1].End) throw Err(item, "boot_memory: ranges must ascend and not overlap");
                    list.Add(r);
                }
                foreach (var n in spec.NodeIds)
                {
                    ulong sum = list.Where(r => r.Node == n).Aggregate(0UL, (a, r) => a + r.Size);
                    ulong mem = spec.Nodes.Count == 0 ? spec.RamBytes : spec.Nodes.First(x => x.NodeId == n).MemBytes;
                    if (sum != mem) throw Err(bm.key, $"boot_memory: node {n} has {QemuSize.Hex(sum)} but its mem is {QemuSize.Hex(mem)}");
                }
                if (list.Any(r => !spec.NodeIds.Contains(r.Node))) throw Err(bm.key, "boot_memory: a range names a node not in 'nodes'");
                spec = spec with { BootMemory = list };
            }
            if (f.TryGetValue("firmware_reserved", out var fr))
            {
                var list = new List<E820Entry>();
                foreach (var item in Seq(fr.value, "firmware_reserved"))
                {
                    var m = Map(item, "firmware_reserved entry", ["start", "size", "type"]);
                    var tn = Scalar(Need(m, item, "type", "firmware_reserved"), "firmware_reserved.type");
                    var type = E820TypeNames.Parse(tn) is { } et && et != E820Type.Ram ? et : throw Err(item, $"firmware_reserved: '{tn}' is not a reserved e820 type name (Reserved, ACPI Tables, ...)");
                    list.Add(new E820Entry(Size(Need(m, item, "start", "firmware_reserved"), "firmware_reserved.start"), Size(Need(m, item, "size", "firmware_reserved"), "firmware_reserved.size"), type));
                }
                spec = spec with { FirmwareReserved = list };
            }
            if (f.TryGetValue("dimms", out var dm))
            {
                var list = new List<ColdDimmSpec>();
                foreach (var item in Seq(dm.value, "dimms"))
                {
                    var m = Map(item, "dimms entry", ["id", "size", "node", "addr", "slot"]);
                    var id = Scalar(Need(m, item, "id", "dimms"), "dimms.id");
                    if (list.Any(d => d.Id == id)) throw Err(item, $"dimms: duplicate id '{id}'");
                    list.Add(new ColdDimmSpec(id, Size(Need(m, item, "size", "dimms"), "dimms.size"), m.TryGetValue("node", out var nN) ? Int(nN, "dimms.node", 0) : 0,
                        m.TryGetValue("addr", out var aN) ? Size(aN, "dimms.addr") : null, m.TryGetValue("slot", out var sN) ? Int(sN, "dimms.slot", 0) : null));
                }
                spec = spec with { Dimms = list };
            }
            if (f.TryGetValue("device_memory_base", out var dmb)) spec = spec with { DeviceMemoryBase = Size(dmb.value, "device_memory_base") };
            if (f.TryGetValue("block_states", out var bs))
            {
                if (bs.value is not YamlMappingNode map) throw Err(bs.value, "block_states: expected a mapping of block number to state");
                var list = new List<BlockStateSpec>();
                foreach (var (k, v) in map.Children)
                {
                    var st = Scalar(v, "block_states");
                    if (!MemhpStates.Contains(st)) throw Err(v, $"block_states: '{st}' is not one of {string.Join(", ", MemhpStates)}");
                    list.Add(new BlockStateSpec(Int(k, "block_states", 0), st));
                }
                spec = spec with { BlockStates = list };
            }
            if (f.TryGetValue("memtotal_kb", out var mt))
            {
                if (mt.value is not YamlMappingNode map) throw Err(mt.value, "memtotal_kb: expected a mapping of node to kB");
                var list = new List<NodeMemTotalSpec>();
                foreach (var (k, v) in map.Children)
                {
                    int node = Int(k, "memtotal_kb", 0);
                    if (!spec.NodeIds.Contains(node)) throw Err(k, $"memtotal_kb: node {node} is not in 'nodes'");
                    var s = Scalar(v, "memtotal_kb");
                    if (!ulong.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var kb)) throw Err(v, $"memtotal_kb: '{s}' is not a number of kB");
                    list.Add(new NodeMemTotalSpec(node, kb));
                }
                spec = spec with { MemTotals = list };
            }
            if (f.TryGetValue("unremovable_blocks", out var ub)) spec = spec with { UnremovableBlocks = List(ub.value, "unremovable_blocks") };
            if (f.TryGetValue("firmware_cpu_ids", out var fci)) spec = spec with { FirmwareCpuIds = Bool(fci.value, "firmware_cpu_ids") };
            if (f.TryGetValue("cpuinfo", out var ci))
            {
                var list = new List<CpuInfoSpec>();
                foreach (var item in Seq(ci.value, "cpuinfo"))
                {
                    if (item is not YamlMappingNode map) throw Err(item, "cpuinfo: expected a mapping");
                    IReadOnlyList<int>? cpus = null;
                    var fields = new List<KeyValuePair<string, string>>();
                    foreach (var (k, v) in map.Children)
                    {
                        var key = Scalar(k, "cpuinfo");
                        if (key == "cpus") cpus = List(v, "cpuinfo.cpus");
                        else if (fields.Any(x => x.Key == key)) throw Err(k, $"cpuinfo: field '{key}' given twice");
                        else fields.Add(new(key, Scalar(v, "cpuinfo." + key)));
                    }
                    list.Add(new CpuInfoSpec(cpus ?? throw Err(item, "cpuinfo: entry lacks 'cpus'"), fields));
                }
                spec = spec with { CpuInfo = list };
            }
            if (f.TryGetValue("caches", out var ca)) spec = spec with { Caches = Caches(ca.value) };
            if (f.TryGetValue("vulnerabilities", out var vu))
            {
                if (vu.value is not YamlMappingNode map) throw Err(vu.value, "vulnerabilities: expected a mapping of name to text");
                spec = spec with { Vulnerabilities = map.Children.Select(kv => new KeyValuePair<string, string>(Scalar(kv.Key, "vulnerabilities"), Scalar(kv.Value, "vulnerabilities"))).ToList() };
            }
            if (f.TryGetValue("cpufreq", out var cf))
            {
                var list = new List<CpuFreqSpec>();
                foreach (var item in Seq(cf.value, "cpufreq"))
                {
                    var m = Map(item, "cpufreq entry", ["cpus", "max_khz", "min_khz", "cur_khz"]);
                    long? Khz(string key) => m.TryGetValue(key, out var n) ? Int(n, "cpufreq." + key, 0) : null;
                    list.Add(new CpuFreqSpec(List(Need(m, item, "cpus", "cpufreq"), "cpufreq.cpus"), Khz("max_khz"), Khz("min_khz"), Khz("cur_khz")));
                }
                spec = spec with { CpuFreq = list };
            }
            if (f.TryGetValue("cpufreq_boost", out var cb)) spec = spec with { CpuFreqBoost = Int(cb.value, "cpufreq_boost", 0) };
            if (f.TryGetValue("memory_side_caches", out var msc))
            {
                var list = new List<MemorySideCacheSpec>();
                foreach (var item in Seq(msc.value, "memory_side_caches"))
                {
                    var m = Map(item, "memory_side_caches entry", ["node", "index", "size", "line_size", "indexing", "write_policy"]);
                    uint U(string key) => (uint)Int(Need(m, item, key, "memory_side_caches"), "memory_side_caches." + key, 0);
                    list.Add(new MemorySideCacheSpec(Int(Need(m, item, "node", "memory_side_caches"), "memory_side_caches.node", 0), (int)U("index"),
                        Size(Need(m, item, "size", "memory_side_caches"), "memory_side_caches.size"), U("line_size"), U("indexing"), U("write_policy")));
                }
                spec = spec with { MemorySideCaches = list };
            }
            if (f.TryGetValue("node_access", out var na))
            {
                var list = new List<NodeAccessSpec>();
                foreach (var item in Seq(na.value, "node_access"))
                {
                    var m = Map(item, "node_access entry", ["node", "class", "initiators", "read_bandwidth", "read_latency", "write_bandwidth", "write_latency"]);
                    long? Perf(string key) => m.TryGetValue(key, out var n) ? Int(n, "node_access." + key, 0) : null;
                    list.Add(new NodeAccessSpec(Int(Need(m, item, "node", "node_access"), "node_access.node", 0), Int(Need(m, item, "class", "node_access"), "node_access.class", 0),
                        List(Need(m, item, "initiators", "node_access"), "node_access.initiators"))
                    { ReadBandwidth = Perf("read_bandwidth"), ReadLatency = Perf("read_latency"), WriteBandwidth = Perf("write_bandwidth"), WriteLatency = Perf("write_latency") });
                }
                spec = spec with { NodeAccess = list };
            }
            if (f.TryGetValue("generic_initiator_nodes", out var gi)) spec = spec with { GenericInitiatorNodes = NodeList(gi, spec, "generic_initiator_nodes") };
            if (f.TryGetValue("hotplug_only_nodes", out var ho))
            {
                var l = List(ho.value, "hotplug_only_nodes");
                foreach (var n in l)
                    if (spec.NodeIds.Contains(n) || n >= 1 << 10) throw Err(ho.value, $"hotplug_only_nodes: node {n} is in 'nodes' or beyond MAX_NUMNODES (these nodes have no boot memory, CPUs or folder)");
                spec = spec with { HotplugOnlyNodes = l };
            }
            return ReadHmat(spec, f);
        }

        private List<CacheSpec> Caches(YamlNode value)
        {
            var list = new List<CacheSpec>();
            var seen = new HashSet<(int Cpu, int Index)>();   // cache_add_dev() makes one indexK per leaf of a CPU
            foreach (var item in Seq(value, "caches"))
            {
                var m = Map(item, "caches entry", CacheKeys);
                int? Opt(string key) => m.TryGetValue(key, out var n) ? Int(n, "caches." + key, 0) : null;
                string? Str(string key) => m.TryGetValue(key, out var n) ? Scalar(n, "caches." + key) : null;
                var proto = new CacheSpec(Int(Need(m, item, "index", "caches"), "caches.index", 0), [])
                {
                    Level = Opt("level"), Type = Str("type"), Ways = Opt("ways"), LineSize = Opt("line"), Sets = Opt("sets"), Partition = Opt("partition"),
                    WritePolicy = Str("write_policy"), AllocationPolicy = Str("allocation_policy"),
                    SizeKb = m.TryGetValue("size", out var sz) ? Size(sz, "caches.size") / 1024 : null,
                };
                var instances = Scalar(Need(m, item, "cpus", "caches"), "caches.cpus").Split(';');
                var ids = m.TryGetValue("ids", out var idN) ? Scalar(idN, "caches.ids").Split(';') : null;
                if (ids is not null && ids.Length != instances.Length) throw Err(idN!, $"caches.ids: {ids.Length} id lists for {instances.Length} instances");
                var shared = m.TryGetValue("shared", out var shN) ? Scalar(shN, "caches.shared").Split(';') : null;
                if (shared is not null && shared.Length != instances.Length) throw Err(shN!, $"caches.shared: {shared.Length} CPU lists for {instances.Length} instances");
                for (int i = 0; i < instances.Length; i++)
                {
                    var cpus = IdList.Parse(instances[i]) ?? throw Err(item, $"caches.cpus: '{instances[i]}' is not a CPU list");
                    foreach (var c in cpus)
                        if (!seen.Add((c, proto.Index))) throw Err(item, $"caches.cpus: CPU {c} has cache index {proto.Index} twice");
                    List<int>? idl = null;
                    if (ids is not null)
                    {
                        idl = IdList.Parse(ids[i]) ?? throw Err(idN!, $"caches.ids: '{ids[i]}' is not a list of ids");
                        if (idl.Count != 1 && idl.Count != cpus.Count) throw Err(idN!, $"caches.ids: instance {i} has {cpus.Count} CPUs but {idl.Count} ids");
                    }
                    var sh = shared is null ? null : IdList.Parse(shared[i]) ?? throw Err(shN!, $"caches.shared: '{shared[i]}' is not a CPU list");
                    list.Add(proto with { Cpus = cpus, Ids = idl, Shared = sh });
                }
            }
            return list;
        }

        private List<int> NodeList((YamlNode key, YamlNode value) f, MachineSpec spec, string field)
        {
            var l = List(f.value, field);
            foreach (var n in l)
                if (!spec.NodeIds.Contains(n)) throw Err(f.value, $"{field}: node {n} is not in 'nodes'");
            return l;
        }

        private YamlNode Need(Dictionary<string, YamlNode> m, YamlNode item, string key, string field) =>
            m.TryGetValue(key, out var n) ? n : throw Err(item, $"{field}: entry lacks '{key}'");

        private List<int> List(YamlNode node, string field)
        {
            var s = Scalar(node, field);
            return IdList.Parse(s) ?? throw Err(node, $"{field}: '{s}' is not a list such as 0-3,8");
        }
    }
}
