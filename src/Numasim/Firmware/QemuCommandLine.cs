using System.Globalization;

namespace Numasim.Firmware;

/// <summary>
/// Turns a QEMU 7.2 command line for the pc machine into a <see cref="MachineSpec"/> (CONTRACT §3), checking
/// what QEMU checks, in QEMU's words. Models the relevant parts of qemu_init() / parse_memory_options(),
/// softmmu/vl.c, machine_parse_smp_config(), hw/core/machine-smp.c, and parse_numa_opts() /
/// numa_complete_configuration(), hw/core/numa.c.
/// </summary>
public static partial class QemuCommandLine
{
    /// <summary>MAX_NODES of include/sysemu/numa.h.</summary>
    public const int MaxNodes = 128;

    /// <summary>QEMU's default RAM size for pc (mc->default_ram_size).</summary>
    public const ulong DefaultRamBytes = 128 * QemuSize.MiB;

    /// <summary>ACPI_MAX_RAM_SLOTS, include/hw/acpi/pc-hotplug.h.</summary>
    public const int MaxRamSlots = 256;

    private static readonly HashSet<string> IgnoredWithArg = ["-accel", "-kernel", "-initrd", "-display", "-serial", "-qmp", "-monitor"];
    private static readonly HashSet<string> IgnoredFlags = ["-no-reboot", "-nographic", "-enable-kvm"];
    private static readonly HashSet<string> BackendIgnoredProps = ["qom-type", "id", "size", "prealloc", "share", "merge", "dump", "policy", "host-nodes", "reserve", "x-use-canonical-path-for-ramblock-id"];

    /// <summary>Parses the options (without the program name) into a machine, or QEMU's error naming the option.</summary>
    public static ParseResult Parse(string args)
    {
        try
        {
            return new Parser().Run(args);
        }
        catch (QemuParseException e)
        {
            return ParseResult.Fail(e.Option, e.Message);
        }
    }

    /// <summary>The possible CPU with these topology ids (for CPU device_add later), null when none.</summary>
    public static CpuSlotSpec? FindSlot(MachineSpec spec, int socket, int die, int core, int thread) =>
        X86Topology.FindSlot(spec, socket, die, core, thread);

    private sealed class QemuParseException(string? option, string message) : Exception(message)
    {
        public string? Option { get; } = option;
    }

    private sealed partial class Parser
    {
        private readonly List<string> _warnings = [];
        private string _mArg = "";
        private readonly List<KeyValuePair<string, string>> _mOpts = [];
        private readonly List<KeyValuePair<string, string>> _smpOpts = [];
        private string _smpArg = "";
        private readonly List<string> _objects = [];
        private readonly List<string> _numa = [];
        private string? _append;
        private readonly List<IReadOnlyList<KeyValuePair<string, string>>> _devices = [];

        // NUMA state (MachineState::numa_state, hw/core/numa.c)
        private readonly bool[] _present = new bool[MaxNodes];
        private readonly ulong[] _nodeMem = new ulong[MaxNodes];
        private readonly string?[] _nodeMemdev = new string?[MaxNodes];
        private readonly Dictionary<(int, int), int> _dist = [];
        private int _numNodes, _maxNodeId;
        private bool _haveMemdevs, _haveMem;
        private int?[] _cpuNode = [];
        private readonly HashSet<string> _usedMemdevs = [];

        public ParseResult Run(string args)
        {
            var words = QemuOpts.Tokenize(args, out var terr) ?? throw new QemuParseException(null, terr!);
            for (int i = 0; i < words.Count; i++)
            {
                var w = words[i];
                var opt = w.StartsWith("--", StringComparison.Ordinal) ? w[1..] : w;
                if (!opt.StartsWith('-')) throw new QemuParseException(null, $"{w}: unexpected argument (not an option)");
                if (IgnoredFlags.Contains(opt)) continue;
                bool known = opt is "-m" or "-smp" or "-object" or "-numa" or "-append" or "-machine" or "-M" or "-device" or "-cpu" || IgnoredWithArg.Contains(opt);
                if (!known) throw new QemuParseException(opt, "unknown option");
                if (i + 1 >= words.Count) throw new QemuParseException(opt, "requires an argument");
                var arg = words[++i];
                switch (opt)
                {
                    case "-m": _mArg = arg; _mOpts.AddRange(Opts(opt, arg, "size")); break;   // merge_lists: later keys win
                    case "-smp": _smpArg = arg; _smpOpts.AddRange(Opts(opt, arg, "cpus")); break;
                    case "-object": _objects.Add(arg); break;
                    case "-numa": _numa.Add(arg); break;
                    case "-append": _append = arg; break;
                    case "-cpu": _cpuFeatures = CpuFeatures(arg); break;   // the last -cpu wins
                    case "-device": _devices.Add(ParseDevice(arg)); break;
                    case "-machine" or "-M": CheckMachine(opt, arg); break;
                }
            }

            var (ram, maxram, slots) = ParseMemory();
            var smp = ParseSmp();
            _cpuNode = new int?[smp.MaxCpus];
            var backends = ParseObjects();
            foreach (var n in _numa) ParseNuma(n, smp, backends);
            var (nodes, distances) = CompleteNuma(ram, maxram, slots);
            var cpuSlots = FinishCpuNuma(smp, nodes.Count);
            var hmat = CompleteHmat(nodes.Count);
            CheckPcMemory(ram, maxram, slots);

            var spec = new MachineSpec
            {
                Name = "qemu",
                RamBytes = ram,
                MaxMemBytes = maxram,
                Slots = slots,
                Smp = smp,
                Nodes = nodes,
                CpuSlots = cpuSlots,
                Distances = distances,
                Backends = backends.Select(kv => new MemoryBackendSpec(kv.Key, kv.Value)).ToList(),
                CommandLine = _append,
                Devices = _devices,
                Hmat = hmat,
                CpuFeatures = _cpuFeatures,
            };
            if (Hypervisor.VirtioMemDevice.CheckColdPlug(spec) is { } bad) throw new QemuParseException("-device " + DeviceArg(bad.Device), bad.Error);
            return ParseResult.Success(spec, _warnings);
        }

        private static List<KeyValuePair<string, string>> Opts(string opt, string arg, string? implied) =>
            QemuOpts.Parse(arg, implied, out var err) ?? throw new QemuParseException(opt, err!);

        private void CheckMachine(string opt, string arg)
        {
            foreach (var (k, v) in Opts(opt, arg, "type"))
            {
                if (k == "hmat") { SetHmat(opt, v); continue; }
                if (k == "type" && v is not ("pc" or "pc-i440fx-7.2"))
                    throw new QemuParseException(opt, $"unsupported machine type '{v}' (numasim models only 'pc', pc-i440fx-7.2)");
                if (k is not ("type" or "accel" or "usb" or "vmport" or "dump-guest-core" or "mem-merge" or "hpet"))
                    throw new QemuParseException(opt, $"unsupported machine property '{k}' (it would change the modelled layout)");
            }
        }

        /// <summary>-device DRIVER,key=value,...: qdev_device_add_from_qdict() needs a driver; numasim models
        /// virtio-mem-pci (pc-dimm and CPUs come through QMP device_add).</summary>
        private static List<KeyValuePair<string, string>> ParseDevice(string arg)
        {
            var kv = Opts("-device", arg, "driver");
            var driver = kv.FirstOrDefault(p => p.Key == "driver").Value;
            if (driver is null) throw new QemuParseException($"-device {arg}", "Parameter 'driver' is missing");
            if (driver != Hypervisor.VirtioMemDevice.Driver)
                throw new QemuParseException($"-device {arg}", $"unsupported device '{driver}' (numasim models -device virtio-mem-pci only; plug DIMMs and CPUs with QMP device_add)");
            return kv;
        }

        private static string DeviceArg(IReadOnlyList<KeyValuePair<string, string>> d) =>
            string.Join(',', d.Select(p => p.Key == "driver" ? p.Value : $"{p.Key}={p.Value}"));

        // ---- -m: parse_memory_options(), softmmu/vl.c ----
        private (ulong ram, ulong maxram, int slots) ParseMemory()
        {
            const string opt = "-m";
            string? sizeStr = null, maxStr = null, slotsStr = null;
            foreach (var (k, v) in _mOpts)
            {
                switch (k)
                {
                    case "size": sizeStr = v; break;
                    case "maxmem": maxStr = v; break;
                    case "slots": slotsStr = v; break;
                    default: throw new QemuParseException($"-m {_mArg}", $"Invalid parameter '{k}'");
                }
            }
            ulong ram = DefaultRamBytes;
            if (sizeStr is not null)
            {
                if (sizeStr.Length == 0) throw new QemuParseException(opt, "missing 'size' option value");
                // qemu_opt_get_size() reads bytes; a suffix-less value is then taken as MiB (legacy format).
                if (!QemuSize.TryParse(sizeStr, 1, out var sz)) throw new QemuParseException($"-m {_mArg}", SizeError("size", sizeStr));
                if (char.IsAsciiDigit(sizeStr[^1]))
                {
                    if (sz > ulong.MaxValue / QemuSize.MiB) throw new QemuParseException(opt, $"too large 'size' option value");
                    sz *= QemuSize.MiB;
                }
                if (sz == 0) sz = DefaultRamBytes;   // "-m 0" means the default
                ram = sz;
            }
            ram = AlignUp(ram, 8192);
            ulong maxram = ram;
            int slots = 0;
            if (maxStr is not null)
            {
                if (!QemuSize.TryParse(maxStr, 1, out var max)) throw new QemuParseException($"-m {_mArg}", SizeError("maxmem", maxStr));
                if (slotsStr is not null && !int.TryParse(slotsStr, NumberStyles.None, CultureInfo.InvariantCulture, out slots))
                    throw new QemuParseException($"-m {_mArg}", "Parameter 'slots' expects a number");
                if (max < ram)
                    throw new QemuParseException(null, $"invalid value of maxmem: maximum memory size ({QemuSize.Hex(max)}) must be at least the initial memory size ({QemuSize.Hex(ram)})");
                if (slots > 0 && max == ram)
                    throw new QemuParseException(null, $"invalid value of maxmem: memory slots were specified but maximum memory size ({QemuSize.Hex(max)}) is equal to the initial memory size ({QemuSize.Hex(ram)})");
                maxram = max;
            }
            else if (slotsStr is not null)
            {
                throw new QemuParseException(opt, "invalid -m option value: missing 'maxmem' option");
            }
            return (ram, maxram, slots);
        }

        /// <summary>parse_option_size(), util/qemu-option.c: -ERANGE and other failures are told apart.</summary>
        private static string SizeError(string name, string value) => QemuSize.IsOutOfRange(value)
            ? $"Value '{value}' is out of range for parameter '{name}'"
            : $"Parameter '{name}' expects a non-negative number below 2^64";

        private static ulong AlignUp(ulong v, ulong a) => (v + a - 1) / a * a;

        // ---- -smp ----
        private SmpSpec ParseSmp()
        {
            if (_smpOpts.Count == 0 && _smpArg.Length == 0) return new SmpSpec(1, 1, 1, 1, 1, 1);
            int? cpus = null, maxcpus = null, sockets = null, dies = null, clusters = null, cores = null, threads = null;
            string optName = $"-smp {_smpArg}";
            foreach (var (k, v) in _smpOpts)
            {
                if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                    throw new QemuParseException(optName, $"Parameter '{k}' expects a number");
                switch (k)
                {
                    case "cpus": cpus = n; break;
                    case "maxcpus": maxcpus = n; break;
                    case "sockets": sockets = n; break;
                    case "dies": dies = n; break;
                    case "clusters": clusters = n; break;
                    case "cores": cores = n; break;
                    case "threads": threads = n; break;
                    default: throw new QemuParseException(optName, $"Invalid parameter '{k}'");
                }
            }
            var spec = SmpParser.Resolve(new SmpConfig(cpus, maxcpus, sockets, dies, clusters, cores, threads), SmpParser.PcMaxCpus, _warnings, out var err);
            // machine_parse_smp_config() reports without the option's location.
            return spec ?? throw new QemuParseException(null, err!);
        }

        // ---- -object memory-backend-ram ----
        private Dictionary<string, ulong> ParseObjects()
        {
            var backends = new Dictionary<string, ulong>();
            foreach (var arg in _objects)
            {
                var name = $"-object {arg}";
                var kv = Opts("-object", arg, "qom-type");
                string? type = null, id = null, size = null;
                foreach (var (k, v) in kv)
                {
                    if (k == "qom-type") type = v;
                    else if (k == "id") id = v;
                    else if (k == "size") size = v;
                }
                if (type is null) throw new QemuParseException(name, "Parameter 'qom-type' is missing");
                if (type != "memory-backend-ram") throw new QemuParseException(name, $"unsupported object type '{type}' (numasim models memory-backend-ram only)");
                foreach (var (k, _) in kv)
                    if (!BackendIgnoredProps.Contains(k)) throw new QemuParseException(name, $"Property '{type}.{k}' not found");
                if (id is null) throw new QemuParseException(name, "Parameter 'id' is missing");
                ulong bytes = 0;
                if (size is not null && !QemuSize.TryParse(size, 1, out bytes)) throw new QemuParseException(name, SizeError("size", size));
                if (bytes == 0) throw new QemuParseException(name, "can't create backend with size 0");
                if (!backends.TryAdd(id, bytes)) throw new QemuParseException(name, $"attempt to add duplicate property '{id}' to object (type 'container')");
            }
            return backends;
        }

        // ---- -numa: set_numa_options(), hw/core/numa.c ----
        private void ParseNuma(string arg, SmpSpec smp, Dictionary<string, ulong> backends)
        {
            var name = $"-numa {arg}";
            var kv = Opts("-numa", arg, "type");
            var type = kv.Count > 0 && kv[0].Key == "type" ? kv[0].Value : throw new QemuParseException(name, "Parameter 'type' is missing");
            switch (type)
            {
                case "node": ParseNumaNode(name, kv, smp, backends); break;
                case "cpu": ParseNumaCpu(name, kv, smp); break;
                case "dist": ParseNumaDist(name, kv); break;
                case "hmat-lb": ParseHmatLb(name, kv); break;
                case "hmat-cache": ParseHmatCache(name, kv); break;
                default: throw new QemuParseException(name, $"Parameter 'type' does not accept value '{type}'");
            }
        }

        private static int Int(string name, string key, string v, int max)
        {
            if (!int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > max)
                throw new QemuParseException(name, $"Parameter '{key}' expects {(max == byte.MaxValue ? "uint8_t" : max == ushort.MaxValue ? "uint16_t" : "an integer")}");
            return n;
        }

        /// <summary>Models parse_numa_node().</summary>
        private void ParseNumaNode(string name, List<KeyValuePair<string, string>> kv, SmpSpec smp, Dictionary<string, ulong> backends)
        {
            int? nodeid = null, initiator = null;
            string? memdev = null, mem = null;
            var cpus = new List<int>();
            foreach (var (k, v) in kv.Skip(1))
            {
                switch (k)
                {
                    case "nodeid": nodeid = Int(name, k, v, ushort.MaxValue); break;
                    case "memdev": memdev = v; break;
                    case "mem": mem = v; break;
                    case "cpus": cpus.AddRange(ParseCpuRange(name, v)); break;
                    case "initiator": initiator = Int(name, k, v, ushort.MaxValue); break;
                    default: throw new QemuParseException(name, $"Invalid parameter '{k}'");
                }
            }
            int nodenr = nodeid ?? _numNodes;
            if (nodenr >= MaxNodes) throw new QemuParseException(name, $"Max number of NUMA nodes reached: {nodenr}");
            if (_present[nodenr]) throw new QemuParseException(name, $"Duplicate NUMA nodeid: {nodenr}");
            if (!SetNodeInitiator(name, nodenr, initiator)) return;
            foreach (var c in cpus)
            {
                if (c >= smp.MaxCpus) throw new QemuParseException(name, $"CPU index ({c}) should be smaller than maxcpus ({smp.MaxCpus})");
                var ids = X86Topology.TopoIdsFromIndex(smp, c);
                SetCpuNumaNode(name, smp, nodenr, ids.SocketId, smp.Dies > 1 ? ids.DieId : null, ids.CoreId, ids.ThreadId);
            }
            _haveMemdevs = _haveMemdevs || memdev is not null;
            _haveMem = _haveMem || mem is not null;
            if ((mem is not null && _haveMemdevs) || (memdev is not null && _haveMem))
                throw new QemuParseException(name, "numa configuration should use either mem= or memdev=,mixing both is not allowed");
            if (mem is not null)
                // numa_mem_supported is false for 5.1+ machine types (hw/i386/pc_piix.c compat).
                throw new QemuParseException(name, "Parameter -numa node,mem is not supported by this machine type (Use -numa node,memdev instead)");
            if (memdev is not null)
            {
                if (!backends.TryGetValue(memdev, out var size)) throw new QemuParseException(name, $"memdev={memdev} is ambiguous");
                if (!_usedMemdevs.Add(memdev)) throw new QemuParseException(name, $"can't use already busy memdev: {memdev}");
                _nodeMem[nodenr] = size;
                _nodeMemdev[nodenr] = memdev;
            }
            _present[nodenr] = true;
            _maxNodeId = Math.Max(_maxNodeId, nodenr + 1);
            _numNodes++;
        }

        /// <summary>A uint16 list element as the opts visitor takes it: "N" or "A-B".</summary>
        private static IEnumerable<int> ParseCpuRange(string name, string v)
        {
            var parts = v.Split('-');
            if (parts.Length is < 1 or > 2) throw new QemuParseException(name, "Parameter 'cpus' expects a uint16 value or range");
            int a = Int(name, "cpus", parts[0], ushort.MaxValue);
            int b = parts.Length == 2 ? Int(name, "cpus", parts[1], ushort.MaxValue) : a;
            if (b < a) throw new QemuParseException(name, "Parameter 'cpus' expects a uint16 value or range");
            return Enumerable.Range(a, b - a + 1);
        }

        /// <summary>Models the NUMA_OPTIONS_TYPE_CPU case of set_numa_options().</summary>
        private void ParseNumaCpu(string name, List<KeyValuePair<string, string>> kv, SmpSpec smp)
        {
            int? nodeId = null, socket = null, die = null, core = null, thread = null;
            foreach (var (k, v) in kv.Skip(1))
            {
                switch (k)
                {
                    case "node-id": nodeId = Int(name, k, v, int.MaxValue); break;
                    case "socket-id": socket = Int(name, k, v, int.MaxValue); break;
                    case "die-id": die = Int(name, k, v, int.MaxValue); break;
                    case "core-id": core = Int(name, k, v, int.MaxValue); break;
                    case "thread-id": thread = Int(name, k, v, int.MaxValue); break;
                    case "cluster-id": throw new QemuParseException(name, "cluster-id is not supported");
                    default: throw new QemuParseException(name, $"Invalid parameter '{k}'");
                }
            }
            if (nodeId is null) throw new QemuParseException(name, "Missing mandatory node-id property");
            if (nodeId >= MaxNodes || !_present[nodeId.Value])
                throw new QemuParseException(name, $"Invalid node-id={nodeId}, NUMA node must be defined with -numa node,nodeid=ID before it's used with -numa cpu,node-id=ID");
            SetCpuNumaNode(name, smp, nodeId.Value, socket, die, core, thread);
        }

        /// <summary>Models machine_set_cpu_numa_node(), hw/core/machine.c: every possible CPU matching the given ids.</summary>
        private void SetCpuNumaNode(string name, SmpSpec smp, int node, int? socket, int? die, int? core, int? thread)
        {
            if (die is not null && smp.Dies <= 1) throw new QemuParseException(name, "die-id is not supported");
            bool match = false;
            for (int i = 0; i < smp.MaxCpus; i++)
            {
                var ids = X86Topology.TopoIdsFromIndex(smp, i);
                if ((thread is not null && thread != ids.ThreadId) || (core is not null && core != ids.CoreId) ||
                    (die is not null && die != ids.DieId) || (socket is not null && socket != ids.SocketId))
                    continue;
                if (_cpuNode[i] is int assigned && assigned != node)
                    throw new QemuParseException(name, $"CPU is already assigned to node-id: {assigned}");
                match = true;
                _cpuNode[i] = node;
                MarkCpuNode(name, node);
            }
            if (!match) throw new QemuParseException(name, "no match found");
        }

        /// <summary>Models parse_numa_distance().</summary>
        private void ParseNumaDist(string name, List<KeyValuePair<string, string>> kv)
        {
            int? src = null, dst = null, val = null;
            foreach (var (k, v) in kv.Skip(1))
            {
                switch (k)
                {
                    case "src": src = Int(name, k, v, ushort.MaxValue); break;
                    case "dst": dst = Int(name, k, v, ushort.MaxValue); break;
                    case "val": val = Int(name, k, v, byte.MaxValue); break;
                    default: throw new QemuParseException(name, $"Invalid parameter '{k}'");
                }
            }
            if (src is null) throw new QemuParseException(name, "Parameter 'src' is missing");
            if (dst is null) throw new QemuParseException(name, "Parameter 'dst' is missing");
            if (val is null) throw new QemuParseException(name, "Parameter 'val' is missing");
            if (src >= MaxNodes || dst >= MaxNodes)
                throw new QemuParseException(name, $"Parameter '{(src >= MaxNodes ? "src" : "dst")}' expects an integer between 0 and {MaxNodes - 1}");
            if (!_present[src.Value] || !_present[dst.Value])
                throw new QemuParseException(name, "Source/Destination NUMA node is missing. Please use '-numa node' option to declare it first.");
            if (val < 10) throw new QemuParseException(name, $"NUMA distance ({val}) is invalid, it shouldn't be less than 10.");
            if (src == dst && val != 10) throw new QemuParseException(name, $"Local distance of node {src} should be 10.");
            _dist[(src.Value, dst.Value)] = val.Value;
        }

        /// <summary>Models numa_complete_configuration() with validate_numa_distance() / complete_init_numa_distance().</summary>
        private (List<NodeSpec> nodes, IReadOnlyList<IReadOnlyList<int>>? distances) CompleteNuma(ulong ram, ulong maxram, int slots)
        {
            // pc: auto_enable_numa_with_memhp / auto_enable_numa_with_memdev — memory hotplug without -numa gets node 0.
            if (_numNodes == 0 && (slots > 0 || maxram > ram))
            {
                _present[0] = true;
                _nodeMem[0] = ram;
                _numNodes = 1;
                _maxNodeId = 1;
            }
            for (int i = _maxNodeId - 1; i >= 0; i--)
                if (!_present[i]) throw new QemuParseException("-numa", $"numa: Node ID missing: {i}");
            var nodes = new List<NodeSpec>();
            if (_numNodes == 0) return (nodes, null);

            ulong total = 0;
            for (int i = 0; i < _numNodes; i++) total += _nodeMem[i];
            if (total != ram)
                throw new QemuParseException("-numa", $"total memory for NUMA nodes ({QemuSize.Hex(total)}) should equal RAM size ({QemuSize.Hex(ram)})");
            for (int i = 0; i < _numNodes; i++) nodes.Add(new NodeSpec(i, _nodeMem[i], _nodeMemdev[i]));

            if (_dist.Count == 0) return (nodes, null);
            int n = _numNodes;
            int D(int a, int b) => _dist.TryGetValue((a, b), out var v) ? v : 0;
            bool asym = false;
            for (int s = 0; s < n; s++)
                for (int d = s; d < n; d++)
                {
                    if (D(s, d) == 0 && D(d, s) == 0 && s != d)
                        throw new QemuParseException("-numa dist", $"The distance between node {s} and {d} is missing, at least one distance value between each nodes should be provided.");
                    if (D(s, d) != 0 && D(d, s) != 0 && D(s, d) != D(d, s)) asym = true;
                }
            if (asym)
                for (int s = 0; s < n; s++)
                    for (int d = 0; d < n; d++)
                        if (s != d && D(s, d) == 0)
                            throw new QemuParseException("-numa dist", "At least one asymmetrical pair of distances is given, please provide distances for both directions of all node pairs.");
            var m = new int[n][];
            for (int s = 0; s < n; s++)
            {
                m[s] = new int[n];
                for (int d = 0; d < n; d++)
                    m[s][d] = D(s, d) != 0 ? D(s, d) : s == d ? 10 : D(d, s);
            }
            return (nodes, m);
        }

        /// <summary>Models machine_numa_finish_cpu_init(), hw/core/machine.c.</summary>
        private List<CpuSlotSpec> FinishCpuNuma(SmpSpec smp, int nodeCount)
        {
            if (nodeCount == 0) return X86Topology.PossibleCpus(smp, _ => 0);
            bool defaultMapping = Array.TrueForAll(_cpuNode, n => n is null);
            var unmapped = new List<string>();
            for (int i = 0; i < smp.MaxCpus; i++)
            {
                if (_cpuNode[i] is not null) continue;
                if (defaultMapping) { _cpuNode[i] = X86Topology.DefaultNodeIndex(smp, i, nodeCount); MarkCpuNode(null, _cpuNode[i]!.Value); continue; }
                var ids = X86Topology.TopoIdsFromIndex(smp, i);
                var die = smp.Dies > 1 ? $", die-id: {ids.DieId}" : "";
                unmapped.Add($"CPU {i} [socket-id: {ids.SocketId}{die}, core-id: {ids.CoreId}, thread-id: {ids.ThreadId}]");
                _cpuNode[i] = 0;   // non mapped cpus used to fall back to node 0
                MarkCpuNode(null, 0);
            }
            if (unmapped.Count > 0)
            {
                _warnings.Add("CPU(s) not present in any NUMA nodes: " + string.Join(", ", unmapped));
                _warnings.Add("All CPU(s) up to maxcpus should be described in NUMA config, ability to start up with partial NUMA mappings is obsoleted and will be removed in future");
            }
            return X86Topology.PossibleCpus(smp, i => _cpuNode[i]!.Value);
        }

        /// <summary>The device-memory checks of pc_memory_init(), hw/i386/pc.c.</summary>
        private static void CheckPcMemory(ulong ram, ulong maxram, int slots)
        {
            if (ram < maxram)
            {
                if (slots > MaxRamSlots) throw new QemuParseException(null, $"unsupported amount of memory slots: {slots}");
                if (maxram % 4096 != 0) throw new QemuParseException("-m", "maximum memory size must by aligned to multiple of 4096 bytes");
            }
            // QEMU reports this one without naming an option.
            if (PcAddressSpace.Check(ram, maxram, slots) is { } tooBig) throw new QemuParseException(null, tooBig);
        }
    }
}
