using System.Globalization;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Numasim.Firmware;

/// <summary>
/// YAML machine files (CONTRACT §3, machines/*.yaml). Either <c>qemu: "-m 1G ..."</c> (parsed by
/// <see cref="QemuCommandLine"/>) or the explicit form: name, ram, slots, maxmem, smp, nodes, cpus, distances,
/// backends, memhp_default_state, cmdline (the kernel command line), memory_block_size, offline_blocks, firmware_node_ids, kernel_allocations. Sizes are "1G",
/// "512M" or integers (bytes). Errors are <see cref="MachineFormatException"/>s naming file, line and field.
/// </summary>
public static partial class MachineFile
{
    /// <summary>MIN_MEMORY_BLOCK_SIZE and MAX_BLOCK_SIZE of arch/x86/mm/init_64.c.</summary>
    public const ulong MinMemoryBlockSize = 128UL << 20, MaxMemoryBlockSize = 2UL << 30;

    private static readonly string[] MemhpStates = ["offline", "online", "online_kernel", "online_movable"];
    private static readonly HashSet<string> QemuOnlyForbidden = ["ram", "slots", "maxmem", "smp", "nodes", "cpus", "distances", "backends"];
    private static readonly HashSet<string> TopKeys = ["name", "qemu", "ram", "slots", "maxmem", "smp", "nodes", "cpus", "distances", "backends",
        "memhp_default_state", "cmdline", "memory_block_size", "offline_blocks", "kernel_allocations", "firmware_node_ids", "cpuid_reports_smt", "kernel_phys_addr", "initrd_size"];

    /// <summary>Reads and parses a machine file.</summary>
    public static MachineSpec Load(string path)
    {
        string text;
        try { text = Input.InputFile.ReadText(path); }
        catch (Input.InputFileException e) { throw new MachineFormatException(path, 0, e.Message[(path.Length + 2)..]); }
        return Parse(text, path);
    }

    /// <summary>Parses machine-file text; <paramref name="fileName"/> is used in error messages.</summary>
    public static MachineSpec Parse(string text, string fileName)
    {
        YamlNode? node;
        try { node = Input.BoundedYaml.LoadRoot(text); }
        catch (Input.YamlInputException e) { throw new MachineFormatException(fileName, Math.Max(e.Line, 1), e.Message); }
        if (node is not YamlMappingNode root)
            throw new MachineFormatException(fileName, 1, "a machine file must be a YAML mapping");
        return new Reader(fileName).Read(root);
    }

    /// <summary>Writes <paramref name="spec"/> in the explicit form; Parse gives back an equal spec.</summary>
    public static string Write(MachineSpec spec)
    {
        var sb = new StringBuilder();
        var inv = CultureInfo.InvariantCulture;
        sb.Append("name: ").Append(Quote(spec.Name)).Append('\n');
        sb.Append("ram: ").Append(QemuSize.Format(spec.RamBytes)).Append('\n');
        sb.Append("slots: ").Append(spec.Slots.ToString(inv)).Append('\n');
        sb.Append("maxmem: ").Append(QemuSize.Format(spec.MaxMemBytes)).Append('\n');
        var s = spec.Smp;
        sb.Append(inv, $"smp: {{cpus: {s.Cpus}, maxcpus: {s.MaxCpus}, sockets: {s.Sockets}, dies: {s.Dies}, cores: {s.Cores}, threads: {s.Threads}}}\n");
        if (spec.Backends.Count > 0)
        {
            sb.Append("backends:\n");
            foreach (var b in spec.Backends) sb.Append("  - {id: ").Append(Quote(b.Id)).Append(", size: ").Append(QemuSize.Format(b.SizeBytes)).Append("}\n");
        }
        sb.Append(spec.Nodes.Count == 0 ? "nodes: []\n" : "nodes:\n");
        foreach (var n in spec.Nodes)
        {
            sb.Append(inv, $"  - {{id: {n.NodeId}, mem: {QemuSize.Format(n.MemBytes)}");
            if (n.MemDev is not null) sb.Append(", memdev: ").Append(Quote(n.MemDev));
            sb.Append("}\n");
        }
        sb.Append("cpus:\n");
        foreach (var c in spec.CpuSlots)
        {
            sb.Append(inv, $"  - {{index: {c.Index}, socket: {c.SocketId}, die: {c.DieId}, core: {c.CoreId}, thread: {c.ThreadId}, apic: {c.ApicId}, node: {c.NodeId}, present: {Bool(c.Present)}, online: {Bool(c.Present && c.OnlineAtBoot)}");
            if (c.ClusterId >= 0) sb.Append(inv, $", cluster: {c.ClusterId}");
            if (c.ComputeUnitId >= 0) sb.Append(inv, $", compute_unit: {c.ComputeUnitId}");
            sb.Append("}\n");
        }
        if (spec.Distances is not null) WriteDistances(sb, spec.Distances);
        if (spec.MemhpDefaultState is not null) sb.Append("memhp_default_state: ").Append(Quote(spec.MemhpDefaultState)).Append('\n');
        if (spec.CommandLine is not null) sb.Append("cmdline: ").Append(Quote(spec.CommandLine)).Append('\n');
        if (spec.MemoryBlockSizeBytes is ulong mbs) sb.Append("memory_block_size: ").Append(QemuSize.Format(mbs)).Append('\n');
        if (spec.KernelPhysAddr is ulong kpa) sb.Append("kernel_phys_addr: 0x").Append(kpa.ToString("x", System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        if (spec.InitrdBytes is ulong ird) sb.Append("initrd_size: ").Append(ird.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        if (spec.OfflineBlocksAtBoot.Count > 0)
            sb.Append("offline_blocks: [").Append(string.Join(", ", spec.OfflineBlocksAtBoot.Select(b => b.ToString(inv)))).Append("]\n");
        if (spec.FirmwareNodeIds) sb.Append("firmware_node_ids: true\n");
        if (spec.CpuidReportsSmt) sb.Append("cpuid_reports_smt: true\n");
        sb.Append("kernel_allocations: ").Append(Bool(spec.ModelKernelAllocations)).Append('\n');
        WriteReal(sb, spec);
        return sb.ToString();
    }

    private static string Bool(bool b) => b ? "true" : "false";

    private static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var ch in s)
        {
            switch (ch)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (ch < 0x20) sb.Append("\\x").Append(((int)ch).ToString("x2", CultureInfo.InvariantCulture));
                    else sb.Append(ch);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    private sealed partial class Reader(string file)
    {
        private string DefaultName()
        {
            var stem = Path.GetFileNameWithoutExtension(file);
            return string.IsNullOrEmpty(stem) ? "machine" : stem;
        }

        private MachineFormatException Err(YamlNode node, string message) => new(file, (int)node.Start.Line, message);

        public MachineSpec Read(YamlMappingNode root)
        {
            var fields = new Dictionary<string, (YamlNode key, YamlNode value)>();
            foreach (var (k, v) in root.Children)
            {
                var key = Scalar(k, "field name");
                if (!TopKeys.Contains(key) && !RealKeys.Contains(key)) throw Err(k, $"unknown field '{key}'");
                if (!fields.TryAdd(key, (k, v))) throw Err(k, $"field '{key}' given twice");
            }
            MachineSpec spec = fields.TryGetValue("qemu", out var q) ? FromQemu(q.value, fields) : Explicit(root, fields);

            spec = spec with { Name = fields.TryGetValue("name", out var name) ? Scalar(name.value, "name") : DefaultName() };
            if (fields.TryGetValue("memhp_default_state", out var mh))
            {
                var st = Scalar(mh.value, "memhp_default_state");
                if (!MemhpStates.Contains(st)) throw Err(mh.value, $"memhp_default_state: '{st}' is not one of {string.Join(", ", MemhpStates)}");
                spec = spec with { MemhpDefaultState = st };
            }
            if (fields.TryGetValue("cmdline", out var cl))
            {
                // A machine file given as qemu: may carry -append too; cmdline: then replaces it, as a later -append would.
                spec = spec with { CommandLine = Scalar(cl.value, "cmdline") };
            }
            if (fields.TryGetValue("memory_block_size", out var mbs))
            {
                var v = Size(mbs.value, "memory_block_size");
                if (v == 0 || (v & (v - 1)) != 0) throw Err(mbs.value, "memory_block_size: must be a power of two");
                // x86_64's memory_block_size_bytes() lies between MIN_MEMORY_BLOCK_SIZE (one 128 MiB section) and
                // MAX_BLOCK_SIZE (2 GiB), arch/x86/mm/init_64.c.
                if (v < MinMemoryBlockSize || v > MaxMemoryBlockSize)
                    throw Err(mbs.value, $"memory_block_size: {QemuSize.Format(v)} is outside x86_64's 128M..2G (MIN_MEMORY_BLOCK_SIZE..MAX_BLOCK_SIZE)");
                spec = spec with { MemoryBlockSizeBytes = v };
            }
            if (fields.TryGetValue("kernel_phys_addr", out var kpa))
            {
                // /proc/iomem's "Kernel code" start of one randomised boot; the decompressor aligns to CONFIG_PHYSICAL_ALIGN (2 MiB)
                var t = Scalar(kpa.value, "kernel_phys_addr");
                bool hex = t.StartsWith("0x", StringComparison.OrdinalIgnoreCase);
                if (!ulong.TryParse(hex ? t[2..] : t, hex ? System.Globalization.NumberStyles.HexNumber : System.Globalization.NumberStyles.None,
                        System.Globalization.CultureInfo.InvariantCulture, out var addr))
                    throw Err(kpa.value, $"kernel_phys_addr: '{t}' is not an address (0x1000000 or 16777216)");
                if (addr % (2UL << 20) != 0 || addr < (1UL << 20))
                    throw Err(kpa.value, $"kernel_phys_addr: 0x{addr:x} must be 2 MiB aligned (CONFIG_PHYSICAL_ALIGN) and above 1 MiB");
                spec = spec with { KernelPhysAddr = addr };
            }
            if (fields.TryGetValue("initrd_size", out var ird))
            {
                var t = Scalar(ird.value, "initrd_size");
                if (!ulong.TryParse(t, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var bytes))
                    throw Err(ird.value, $"initrd_size: '{t}' is not a number of bytes");
                spec = spec with { InitrdBytes = bytes };
            }
            if (fields.TryGetValue("offline_blocks", out var ob))
            {
                if (ob.value is not YamlSequenceNode seq) throw Err(ob.value, "offline_blocks: expected a list of block numbers");
                spec = spec with { OfflineBlocksAtBoot = seq.Children.Select(n => Int(n, "offline_blocks", 0)).ToList() };
            }
            if (fields.TryGetValue("firmware_node_ids", out var fni)) spec = spec with { FirmwareNodeIds = Bool(fni.value, "firmware_node_ids") };
            if (fields.TryGetValue("cpuid_reports_smt", out var smtF)) spec = spec with { CpuidReportsSmt = Bool(smtF.value, "cpuid_reports_smt") };
            if (fields.TryGetValue("kernel_allocations", out var ka)) spec = spec with { ModelKernelAllocations = Bool(ka.value, "kernel_allocations") };
            return ReadReal(spec, fields);
        }

        private MachineSpec FromQemu(YamlNode value, Dictionary<string, (YamlNode key, YamlNode value)> fields)
        {
            foreach (var (k, (keyNode, _)) in fields)
                if (QemuOnlyForbidden.Contains(k)) throw Err(keyNode, $"'{k}' cannot be combined with 'qemu' (give the machine one way)");
            var args = Scalar(value, "qemu");
            var r = QemuCommandLine.Parse(args);
            if (!r.Ok) throw Err(value, "qemu: " + r.ErrorText);
            return r.Spec! with { Name = "machine" };
        }

        private MachineSpec Explicit(YamlMappingNode root, Dictionary<string, (YamlNode key, YamlNode value)> f)
        {
            if (!f.TryGetValue("ram", out var ramF)) throw Err(root, "missing field 'ram' (or 'qemu')");
            ulong ram = Size(ramF.value, "ram");
            if (ram == 0) throw Err(ramF.value, "ram: must be greater than zero");
            ulong maxmem = f.TryGetValue("maxmem", out var mmF) ? Size(mmF.value, "maxmem") : ram;
            int slots = f.TryGetValue("slots", out var slF) ? Int(slF.value, "slots", 0) : 0;
            if (maxmem < ram)
                throw Err(mmF.value, $"maxmem: maximum memory size ({QemuSize.Hex(maxmem)}) must be at least the initial memory size ({QemuSize.Hex(ram)})");
            if (slots > 0 && maxmem == ram)
                throw Err(slF.value, $"slots: memory slots were specified but maximum memory size ({QemuSize.Hex(maxmem)}) is equal to the initial memory size ({QemuSize.Hex(ram)})");
            if (slots > QemuCommandLine.MaxRamSlots) throw Err(slF.value, $"slots: unsupported amount of memory slots: {slots}");

            var smp = f.TryGetValue("smp", out var smpF) ? Smp(smpF.value) : new SmpSpec(1, 1, 1, 1, 1, 1);

            var backends = new List<MemoryBackendSpec>();
            if (f.TryGetValue("backends", out var bF))
            {
                foreach (var item in Seq(bF.value, "backends"))
                {
                    var m = Map(item, "backends entry", ["id", "size"]);
                    var id = m.TryGetValue("id", out var idN) ? Scalar(idN, "backends.id") : throw Err(item, "backends: entry lacks 'id'");
                    var size = m.TryGetValue("size", out var szN) ? Size(szN, "backends.size") : throw Err(item, "backends: entry lacks 'size'");
                    if (backends.Any(b => b.Id == id)) throw Err(item, $"backends: duplicate id '{id}'");
                    backends.Add(new MemoryBackendSpec(id, size));
                }
            }

            var nodes = new List<NodeSpec>();
            YamlNode nodesAt = f.TryGetValue("nodes", out var nF) ? nF.key : root;
            if (nF.value is not null)
            {
                foreach (var item in Seq(nF.value, "nodes"))
                {
                    var m = Map(item, "nodes entry", ["id", "mem", "memdev"]);
                    int id = m.TryGetValue("id", out var idN) ? Int(idN, "nodes.id", 0) : (nodes.Count == 0 ? 0 : nodes[^1].NodeId + 1);
                    if (id >= 1 << 10) throw Err(idN ?? item, $"nodes.id: {id} is beyond MAX_NUMNODES (1024)");
                    if (nodes.Count > 0 && id <= nodes[^1].NodeId) throw Err(idN ?? item, $"nodes.id: {id} is not above the previous node's id {nodes[^1].NodeId} (ids are unique and ascending)");
                    ulong mem = m.TryGetValue("mem", out var memN) ? Size(memN, "nodes.mem") : 0;
                    string? memdev = m.TryGetValue("memdev", out var mdN) ? Scalar(mdN, "nodes.memdev") : null;
                    if (memdev is not null)
                    {
                        var b = backends.Find(x => x.Id == memdev) ?? throw Err(mdN!, $"nodes.memdev: no backend '{memdev}' in 'backends'");
                        if (memN is null) mem = b.SizeBytes;
                        else if (mem != b.SizeBytes) throw Err(memN, $"nodes.mem: {QemuSize.Hex(mem)} differs from backend '{memdev}' size {QemuSize.Hex(b.SizeBytes)}");
                    }
                    nodes.Add(new NodeSpec(id, mem, memdev));
                }
            }
            // QEMU's pc enables NUMA implicitly when memory hotplug is configured (auto_enable_numa_with_memhp).
            if (nodes.Count == 0 && maxmem > ram) nodes.Add(new NodeSpec(0, ram));
            if (nodes.Count > 0)
            {
                ulong total = nodes.Aggregate(0UL, (s, n) => s + n.MemBytes);
                if (total != ram)
                    throw Err(nodesAt, $"nodes: total memory for NUMA nodes ({QemuSize.Hex(total)}) should equal RAM size ({QemuSize.Hex(ram)})");
            }

            var cpus = f.TryGetValue("cpus", out var cF) ? Cpus(cF.value, smp, nodes) : DefaultCpus(smp, nodes);

            IReadOnlyList<IReadOnlyList<int>>? distances = null;
            if (f.TryGetValue("distances", out var dF)) distances = Distances(dF.value, nodes);

            return new MachineSpec
            {
                Name = "machine",
                RamBytes = ram,
                MaxMemBytes = maxmem,
                Slots = slots,
                Smp = smp,
                Nodes = nodes,
                CpuSlots = cpus,
                Distances = distances,
                Backends = backends,
            };
        }

        private SmpSpec Smp(YamlNode node)
        {
            var m = Map(node, "smp", ["cpus", "maxcpus", "sockets", "dies", "cores", "threads"]);
            int? Get(string k) => m.TryGetValue(k, out var n) ? Int(n, "smp." + k, 1) : null;
            var warnings = new List<string>();
            var smp = SmpParser.Resolve(new SmpConfig(Get("cpus"), Get("maxcpus"), Get("sockets"), Get("dies"), null, Get("cores"), Get("threads")),
                int.MaxValue, warnings, out var err);
            return smp ?? throw Err(node, "smp: " + err);
        }

        private static List<CpuSlotSpec> DefaultCpus(SmpSpec smp, List<NodeSpec> nodes) =>
            X86Topology.PossibleCpus(smp, i => nodes.Count == 0 ? 0 : nodes[X86Topology.DefaultNodeIndex(smp, i, nodes.Count)].NodeId);

        private List<CpuSlotSpec> Cpus(YamlNode value, SmpSpec smp, List<NodeSpec> nodes)
        {
            var seq = Seq(value, "cpus");
            if (seq.Children.Count != smp.MaxCpus)
                throw Err(value, $"cpus: {seq.Children.Count} entries but smp.maxcpus is {smp.MaxCpus} (one entry per possible CPU)");
            var list = new List<CpuSlotSpec>(seq.Children.Count);
            var apics = new HashSet<uint>();
            int present = 0;
            foreach (var item in seq.Children)
            {
                int pos = list.Count;
                var m = Map(item, "cpus entry", ["index", "socket", "die", "core", "thread", "apic", "node", "present", "online", "cluster", "compute_unit"]);
                int index = m.TryGetValue("index", out var ixN) ? Int(ixN, "cpus.index", 0) : pos;
                if (index != pos) throw Err(ixN!, $"cpus.index: {index} out of order (expected {pos}; list CPUs in index order)");
                var ids = X86Topology.TopoIdsFromIndex(smp, index);
                int socket = m.TryGetValue("socket", out var n1) ? Int(n1, "cpus.socket", 0) : ids.SocketId;
                int die = m.TryGetValue("die", out var n2) ? Int(n2, "cpus.die", 0) : ids.DieId;
                int core = m.TryGetValue("core", out var n3) ? Int(n3, "cpus.core", 0) : ids.CoreId;
                int thread = m.TryGetValue("thread", out var n4) ? Int(n4, "cpus.thread", 0) : ids.ThreadId;
                uint apic = m.TryGetValue("apic", out var apN) ? (uint)Int(apN, "cpus.apic", 0)
                    : X86Topology.ApicIdFromTopoIds(smp, new X86TopoIds(socket, die, core, thread));
                if (!apics.Add(apic)) throw Err(apN ?? item, $"cpus.apic: APIC id {apic} used twice");
                int node;
                if (m.TryGetValue("node", out var ndN))
                {
                    node = Int(ndN, "cpus.node", 0);
                    bool known = nodes.Count == 0 ? node == 0 : nodes.Any(x => x.NodeId == node);
                    if (!known) throw Err(ndN, $"cpus.node: node {node} is not in 'nodes'");
                }
                else node = nodes.Count == 0 ? 0 : nodes[X86Topology.DefaultNodeIndex(smp, index, nodes.Count)].NodeId;
                bool isPresent = m.TryGetValue("present", out var prN) ? Bool(prN, "cpus.present") : index < smp.Cpus;
                bool online = m.TryGetValue("online", out var onN) ? Bool(onN, "cpus.online") : isPresent;
                if (online && !isPresent) throw Err(onN!, "cpus.online: a CPU that is not present cannot be online");
                if (isPresent) present++;
                int cluster = m.TryGetValue("cluster", out var clN) ? Int(clN, "cpus.cluster", 0) : -1;
                int cu = m.TryGetValue("compute_unit", out var cuN) ? Int(cuN, "cpus.compute_unit", 0) : -1;
                list.Add(new CpuSlotSpec(index, socket, die, core, thread, apic, node, isPresent, online || !isPresent, cluster, cu));
            }
            if (present != smp.Cpus) throw Err(value, $"cpus: {present} CPUs present but smp.cpus is {smp.Cpus}");
            return list;
        }

        private string Scalar(YamlNode node, string field) =>
            node is YamlScalarNode { Value: { } v } ? v : throw Err(node, $"{field}: expected a single value");

        private int Int(YamlNode node, string field, int min)
        {
            var s = Scalar(node, field);
            if (!int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)) throw Err(node, $"{field}: '{s}' is not an integer");
            if (v < min) throw Err(node, $"{field}: {v} is below {min}");
            return v;
        }

        private bool Bool(YamlNode node, string field)
        {
            var s = Scalar(node, field);
            return s switch
            {
                "true" or "True" or "yes" or "on" => true,
                "false" or "False" or "no" or "off" => false,
                _ => throw Err(node, $"{field}: '{s}' is not true or false"),
            };
        }

        private ulong Size(YamlNode node, string field)
        {
            var s = Scalar(node, field);
            return QemuSize.TryParse(s, 1, out var v) ? v : throw Err(node, $"{field}: '{s}' is not a size (bytes, or a number with K, M, G or T)");
        }

        private YamlSequenceNode Seq(YamlNode node, string field) =>
            node as YamlSequenceNode ?? throw Err(node, $"{field}: expected a list");

        private Dictionary<string, YamlNode> Map(YamlNode node, string field, string[] allowed)
        {
            if (node is not YamlMappingNode m) throw Err(node, $"{field}: expected a mapping");
            var d = new Dictionary<string, YamlNode>();
            foreach (var (k, v) in m.Children)
            {
                var key = Scalar(k, field);
                if (!allowed.Contains(key)) throw Err(k, $"{field}: unknown field '{key}' (allowed: {string.Join(", ", allowed)})");
                if (!d.TryAdd(key, v)) throw Err(k, $"{field}: field '{key}' given twice");
            }
            return d;
        }
    }
}
