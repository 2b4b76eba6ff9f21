namespace Numasim.Firmware;

public static partial class QemuCommandLine
{
    /// <summary>The HMAT part of the parser: -machine hmat=, -numa node,initiator=, -numa hmat-lb, -numa hmat-cache.
    /// Models machine_set_hmat(), the HMAT checks of parse_numa_node() and machine_set_cpu_numa_node(),
    /// parse_numa_hmat_lb(), parse_numa_hmat_cache() (hw/core/numa.c) and numa_validate_initiator() (hw/core/machine.c).</summary>
    private sealed partial class Parser
    {
        private const string HmatDisabled = "ACPI Heterogeneous Memory Attribute Table (HMAT) is disabled, enable it with -machine hmat=on before using any of hmat specific options";
        private bool _hmatEnabled;
        private IReadOnlyList<string> _cpuFeatures = [];

        /// <summary>-cpu MODEL[,+feat|-feat|feat=on|off...]: the features the model acts on that are turned on (the model
        /// is taken as qemu64 whatever it is named; x86_cpu_parse_featurestr(), target/i386/cpu.c).</summary>
        private static IReadOnlyList<string> CpuFeatures(string arg)
        {
            var on = new List<string>();
            foreach (var part in arg.Split(',').Skip(1))
            {
                string name; bool value;
                if (part.StartsWith('+') || part.StartsWith('-')) { name = part[1..]; value = part[0] == '+'; }
                else if (part.Split('=') is [var n, var v]) { name = n; value = v is "on" or "true" or "yes"; }
                else continue;
                on.Remove(name);
                if (value && name == "pdpe1gb") on.Add(name);
            }
            return on;
        }
        private readonly int[] _initiator = Enumerable.Repeat(MaxNodes, MaxNodes).ToArray();
        private readonly bool[] _hasCpu = new bool[MaxNodes];
        private readonly int[] _lbInfoProvided = new int[MaxNodes];
        private readonly Dictionary<(HmatHierarchy, HmatDataType), HmatLbInfo> _lb = [];
        private readonly List<HmatLbSpec> _lbOrder = [];
        private readonly HmatCacheSpec?[,] _cache = new HmatCacheSpec?[MaxNodes, AcpiHmatBuilder.Levels];
        private readonly List<HmatCacheSpec> _cacheOrder = [];

        /// <summary>Models machine_set_hmat() through the bool property visitor (on/off, yes/no, true/false).</summary>
        private void SetHmat(string opt, string v)
        {
            _hmatEnabled = v switch
            {
                "on" or "yes" or "true" or "y" => true,
                "off" or "no" or "false" or "n" => false,
                _ => throw new QemuParseException(opt, "Parameter 'hmat' expects 'on' or 'off'"),
            };
        }

        /// <summary>parse_numa_node(): every node's initiator starts as MAX_NODES; initiator= needs hmat=on. An initiator
        /// id beyond MAX_NODES is only reported (error_report() without setting errp): QEMU 7.2 goes on without the node.</summary>
        private bool SetNodeInitiator(string name, int node, int? initiator)
        {
            _initiator[node] = MaxNodes;
            if (initiator is not int i) return true;
            if (!_hmatEnabled) throw new QemuParseException(name, HmatDisabled);
            if (i >= MaxNodes)
            {
                _warnings.Add($"{name}: The initiator id {i} expects an integer between 0 and {MaxNodes - 1}");
                return false;
            }
            _initiator[node] = i;
            return true;
        }

        /// <summary>machine_set_cpu_numa_node() with hmat=on: a node with a CPU is its own initiator.</summary>
        private void MarkCpuNode(string? name, int node)
        {
            if (!_hmatEnabled) return;
            if (_initiator[node] < MaxNodes && _initiator[node] != node)
                throw new QemuParseException(name, $"The initiator of CPU NUMA node {node} should be itself (got {_initiator[node]})");
            _hasCpu[node] = true;
            _initiator[node] = node;
        }

        private static TEnum Enum<TEnum>(string name, string key, string v, string[] names) where TEnum : struct, System.Enum
        {
            int i = Array.IndexOf(names, v);
            if (i < 0) throw new QemuParseException(name, $"Parameter '{key}' does not accept value '{v}'");
            return (TEnum)(object)i;
        }

        private static readonly string[] Hierarchies = ["memory", "first-level", "second-level", "third-level"];
        private static readonly string[] DataTypes = ["access-latency", "read-latency", "write-latency", "access-bandwidth", "read-bandwidth", "write-bandwidth"];
        private static readonly string[] Associativities = ["none", "direct", "complex"];
        private static readonly string[] Policies = ["none", "write-back", "write-through"];

        private static ulong U64(string name, string key, string v) =>
            ulong.TryParse(v, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n
                : throw new QemuParseException(name, $"Parameter '{key}' expects an uint64 value");

        private static ulong SizeValue(string name, string key, string v) =>
            QemuSize.TryParse(v, 1, out var n) ? n : throw new QemuParseException(name, SizeError(key, v));

        private static string Need(string name, string key, string? v) => v ?? throw new QemuParseException(name, $"Parameter '{key}' is missing");

        /// <summary>Models NUMA_OPTIONS_TYPE_HMAT_LB of set_numa_options() and parse_numa_hmat_lb().</summary>
        private void ParseHmatLb(string name, List<KeyValuePair<string, string>> kv)
        {
            var f = Fields(name, kv, ["initiator", "target", "hierarchy", "data-type", "latency", "bandwidth"]);
            int initiator = Int(name, "initiator", Need(name, "initiator", f.GetValueOrDefault("initiator")), ushort.MaxValue);
            int target = Int(name, "target", Need(name, "target", f.GetValueOrDefault("target")), ushort.MaxValue);
            var hier = Enum<HmatHierarchy>(name, "hierarchy", Need(name, "hierarchy", f.GetValueOrDefault("hierarchy")), Hierarchies);
            var type = Enum<HmatDataType>(name, "data-type", Need(name, "data-type", f.GetValueOrDefault("data-type")), DataTypes);
            ulong? latency = f.TryGetValue("latency", out var l) ? U64(name, "latency", l) : null;
            ulong? bandwidth = f.TryGetValue("bandwidth", out var b) ? SizeValue(name, "bandwidth", b) : null;
            if (!_hmatEnabled) throw new QemuParseException(name, HmatDisabled);
            if (initiator > _numNodes) throw new QemuParseException(name, $"Invalid initiator={initiator}, it should be less than {_numNodes}");
            if (target > _numNodes) throw new QemuParseException(name, $"Invalid target={target}, it should be less than {_numNodes}");
            if (!_hasCpu[initiator]) throw new QemuParseException(name, $"Invalid initiator={initiator}, it isn't an initiator proximity domain");
            if (!_present[target]) throw new QemuParseException(name, $"The target={target} should point to an existing node");
            bool isLatency = type <= HmatDataType.WriteLatency;
            if (isLatency)
            {
                if (latency is null) throw new QemuParseException(name, "Missing 'latency' option");
                if (bandwidth is not null) throw new QemuParseException(name, "Invalid option 'bandwidth' since the data type is latency");
            }
            else
            {
                if (bandwidth is null) throw new QemuParseException(name, "Missing 'bandwidth' option");
                if (latency is not null) throw new QemuParseException(name, "Invalid option 'latency' since the data type is bandwidth");
            }
            var e = new HmatLbSpec(initiator, target, hier, type, isLatency ? latency!.Value : bandwidth!.Value);
            if (!_lb.TryGetValue((hier, type), out var info)) _lb[(hier, type)] = info = new HmatLbInfo();
            if (info.Add(e) is { } err) throw new QemuParseException(name, err);
            if (e.Value != 0) _lbInfoProvided[target] |= isLatency ? 1 : 2;
            _lbOrder.Add(e);
        }

        /// <summary>Models NUMA_OPTIONS_TYPE_HMAT_CACHE of set_numa_options() and parse_numa_hmat_cache().</summary>
        private void ParseHmatCache(string name, List<KeyValuePair<string, string>> kv)
        {
            var f = Fields(name, kv, ["node-id", "size", "level", "associativity", "policy", "line"]);
            int node = Int(name, "node-id", Need(name, "node-id", f.GetValueOrDefault("node-id")), int.MaxValue);
            ulong size = SizeValue(name, "size", Need(name, "size", f.GetValueOrDefault("size")));
            int level = Int(name, "level", Need(name, "level", f.GetValueOrDefault("level")), byte.MaxValue);
            var assoc = Enum<HmatCacheAssociativity>(name, "associativity", Need(name, "associativity", f.GetValueOrDefault("associativity")), Associativities);
            var policy = Enum<HmatCachePolicy>(name, "policy", Need(name, "policy", f.GetValueOrDefault("policy")), Policies);
            int line = Int(name, "line", Need(name, "line", f.GetValueOrDefault("line")), ushort.MaxValue);
            if (!_hmatEnabled) throw new QemuParseException(name, HmatDisabled);
            if (node >= _numNodes) throw new QemuParseException(name, $"Invalid node-id={node}, it should be less than {_numNodes}");
            if (_lbInfoProvided[node] != 3)
                throw new QemuParseException(name, $"The latency and bandwidth information of node-id={node} should be provided before memory side cache attributes");
            if (level < 1 || level >= AcpiHmatBuilder.Levels)
                throw new QemuParseException(name, $"Invalid level={level}, it should be larger than 0 and less than or equal to {AcpiHmatBuilder.Levels - 1}");
            if (_cache[node, level] is not null) throw new QemuParseException(name, $"Duplicate configuration of the side cache for node-id={node} and level={level}");
            if (level > 1 && _cache[node, level - 1] is null) throw new QemuParseException(name, $"Cache level={level - 1} shall be defined first");
            if (level > 1 && size <= _cache[node, level - 1]!.Size)
                throw new QemuParseException(name, $"Invalid size={size}, the size of level={level} should be larger than the size({_cache[node, level - 1]!.Size}) of level={level - 1}");
            if (level < AcpiHmatBuilder.Levels - 1 && _cache[node, level + 1] is { } upper && size >= upper.Size)
                throw new QemuParseException(name, $"Invalid size={size}, the size of level={level} should be less than the size({upper.Size}) of level={level + 1}");
            var c = new HmatCacheSpec(node, level, size, assoc, policy, line);
            _cache[node, level] = c;
            _cacheOrder.Add(c);
        }

        /// <summary>The options of one -numa TYPE,... as the opts visitor takes them: a key QAPI does not know is refused.</summary>
        private static Dictionary<string, string> Fields(string name, List<KeyValuePair<string, string>> kv, string[] known)
        {
            var f = new Dictionary<string, string>();
            foreach (var (k, v) in kv.Skip(1))
            {
                if (Array.IndexOf(known, k) < 0) throw new QemuParseException(name, $"Invalid parameter '{k}'");
                f[k] = v;
            }
            return f;
        }

        /// <summary>Models the initiator checks of machine_numa_finish_cpu_init() with hmat=on (QEMU 7.2: a CPU-less node
        /// without initiator= is accepted; its proximity structure then names no initiator) and collects the spec.</summary>
        private HmatSpec? CompleteHmat(int nodes)
        {
            if (!_hmatEnabled || nodes == 0) return null;
            var initiators = new Dictionary<int, int>();
            for (int i = 0; i < nodes; i++)
            {
                int init = _initiator[i];
                if (init == MaxNodes) continue;
                if (!_present[init]) throw new QemuParseException(null, $"NUMA node {init} is missing, use '-numa node' option to declare it first");
                if (!_hasCpu[init]) throw new QemuParseException(null, $"The initiator of NUMA node {i} is invalid");
                initiators[i] = init;
            }
            return new HmatSpec
            {
                Initiators = initiators,
                CpuNodes = Enumerable.Range(0, nodes).Where(i => _hasCpu[i]).ToList(),
                Lb = _lbOrder,
                Caches = _cacheOrder,
            };
        }
    }
}
