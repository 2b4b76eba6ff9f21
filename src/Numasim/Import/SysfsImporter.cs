using System.Globalization;
using System.Text.RegularExpressions;
using Numasim.Firmware;

namespace Numasim.Import;

/// <summary>What the importer may fill in. <see cref="FillMissing"/> is for partial dumps (util-linux's lsmem
/// dumps hold only /sys/devices/system/memory, its lscpu dumps no nodeN/meminfo): without it a missing file the
/// model needs is an error naming the file; with it, one online CPU on the first node stands in for a missing
/// cpu/ folder and <see cref="AssumedNodeMemBytes"/> for a missing nodeN/meminfo, each reported as a note.</summary>
public sealed record ImportOptions(bool FillMissing = false, ulong AssumedNodeMemBytes = QemuSize.GiB);

/// <summary>The imported machine and the notes on what was assumed or left out.</summary>
public sealed record ImportResult(MachineSpec Spec, IReadOnlyList<string> Notes);

/// <summary>
/// Reads the sysfs/procfs tree of a real machine into a <see cref="MachineSpec"/> that, booted, shows the same
/// possible/present/online CPUs with their nodes and package/die/core/thread ids, the same nodes (sparse ids
/// kept, see <see cref="MachineSpec.FirmwareNodeIds"/>), distances, node memory sizes and memory blocks.
/// What is read, and how it maps, is described in docs/conformance.md ("Importing real machines").
/// </summary>
public static partial class SysfsImporter
{
    /// <summary>Node memory without memory blocks is rounded up to this (x86's MIN_MEMORY_BLOCK_SIZE, one section).</summary>
    public const ulong SectionBytes = 128 * QemuSize.MiB;

    [GeneratedRegex(@"^cpu(\d+)$")] private static partial Regex CpuDirRx();
    [GeneratedRegex(@"^node(\d+)$")] private static partial Regex NodeDirRx();
    [GeneratedRegex(@"^memory(\d+)$")] private static partial Regex MemDirRx();

    /// <summary>Imports a directory or a .tar.gz/.tar.bz2 holding one.</summary>
    public static ImportResult Import(string path, ImportOptions? options = null)
    {
        using var src = TreeSource.Open(path);
        return ImportTree(src.Root, src.Name, options ?? new ImportOptions());
    }

    /// <summary>Imports the tree under <paramref name="root"/> (which holds sys/ and, where present, proc/).</summary>
    public static ImportResult ImportTree(string root, string name, ImportOptions options)
    {
        var t = new Tree(root);
        var notes = new List<string>();
        var sys = "sys/devices/system";
        if (!t.IsDir(sys)) throw t.Missing(sys);

        // ---- memory blocks (where the tree has them)
        ulong? blockSize = null;
        var blocks = new List<(int Index, bool Online, int Node)>();
        if (t.IsDir($"{sys}/memory"))
        {
            var bsFile = $"{sys}/memory/block_size_bytes";
            var bs = t.Read(bsFile);
            if (!ulong.TryParse(bs.Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b) || b == 0 || (b & (b - 1)) != 0)
                throw new ImportException($"{t.Rel(bsFile)}: '{bs.Trim()}' is not a power-of-two hexadecimal size");
            blockSize = b;
            foreach (var (idx, dir) in t.Numbered($"{sys}/memory", MemDirRx()))
            {
                var state = t.Read($"{dir}/state").Trim();
                if (state is not ("online" or "offline" or "going-offline"))
                    throw new ImportException($"{t.Rel($"{dir}/state")}: unknown state '{state}'");
                int node = t.Numbered(dir, NodeDirRx()).Select(x => x.Index).DefaultIfEmpty(-1).First();
                blocks.Add((idx, state == "online", node));
            }
        }

        // ---- nodes
        var nodeDirs = t.IsDir($"{sys}/node") ? t.Numbered($"{sys}/node", NodeDirRx()).ToList() : [];
        var nodeIds = nodeDirs.Select(n => n.Index).ToList();
        if (nodeIds.Count == 0)
        {
            nodeIds = blocks.Where(b => b.Node >= 0).Select(b => b.Node).Distinct().Order().ToList();
            if (nodeIds.Count == 0) nodeIds.Add(0);
            notes.Add($"no node folders under {sys}/node: nodes {string.Join(",", nodeIds)} taken from the memory blocks");
        }
        int firstNode = nodeIds[0];
        if (t.Exists($"{sys}/node/possible"))
        {
            var possibleNodes = SysfsLists.ParseList(t.Read($"{sys}/node/possible"), t.Rel($"{sys}/node/possible"));
            var without = possibleNodes.Where(n => !nodeIds.Contains(n)).ToList();
            if (without.Count > 0)
                notes.Add($"possible nodes without a folder (offline) are not modelled: {string.Join(",", without)}");
        }

        // ---- CPUs
        var cpuDir = $"{sys}/cpu";
        var cpuInfo = ReadCpuInfo(t);
        SortedSet<int> possible, present, online;
        var cpuDirs = t.IsDir(cpuDir) ? t.Numbered(cpuDir, CpuDirRx()).Select(x => x.Index).ToHashSet() : [];
        if (cpuDirs.Count == 0 && !t.Exists($"{cpuDir}/possible"))
        {
            if (!options.FillMissing) throw t.Missing(t.IsDir(cpuDir) ? $"{cpuDir}/possible" : cpuDir);
            possible = [0]; present = [0]; online = [0];
            notes.Add($"{cpuDir} missing: one online CPU on node {firstNode} assumed");
        }
        else
        {
            possible = t.Exists($"{cpuDir}/possible") ? t.List($"{cpuDir}/possible") : new SortedSet<int>(cpuDirs);
            present = t.Exists($"{cpuDir}/present") ? t.List($"{cpuDir}/present") : new SortedSet<int>(cpuDirs);
            if (t.Exists($"{cpuDir}/online")) online = t.List($"{cpuDir}/online");
            else
            {
                // an empty cpuN/online is a dump that kept the file but not its text (hwloc's 128ia64): the CPU is online
                online = new SortedSet<int>(present.Where(c => !t.Exists($"{cpuDir}/cpu{c}/online") || t.Read($"{cpuDir}/cpu{c}/online").Trim() is "1" or ""));
            }
            possible.UnionWith(present);
            present.UnionWith(online);
            possible.UnionWith(present);
            if (present.Count == 0) throw new ImportException($"{t.Rel($"{cpuDir}/present")}: no CPU is present");
        }

        // CPU -> node: nodeN/cpulist (or cpumap), else a cpuN/nodeM link
        var cpuNode = new Dictionary<int, int>();
        foreach (var (nid, dir) in nodeDirs)
        {
            SortedSet<int> cpus;
            if (t.Exists($"{dir}/cpulist")) cpus = t.List($"{dir}/cpulist");
            else if (t.Exists($"{dir}/cpumap")) cpus = SysfsLists.ParseMask(t.Read($"{dir}/cpumap"), t.Rel($"{dir}/cpumap"));
            else throw t.Missing($"{dir}/cpulist");
            foreach (var c in cpus) cpuNode.TryAdd(c, nid);
        }
        foreach (var c in possible)
            if (!cpuNode.ContainsKey(c) && t.IsDir($"{cpuDir}/cpu{c}"))
                foreach (var (nid, _) in t.Numbered($"{cpuDir}/cpu{c}", NodeDirRx()))
                    if (nodeIds.Contains(nid)) { cpuNode[c] = nid; break; }

        // topology ids
        int maxCpu = possible.Max;
        var ids = new Dictionary<int, (int Socket, int Die, int Core, int Thread)>();
        var siblings = new Dictionary<int, int>(); // CPU -> first CPU of its thread_siblings
        var unknownPackage = new Dictionary<int, int>(); // CPU without a package id -> first CPU of its core_siblings
        var own = new List<int>();
        foreach (var c in present)
        {
            var topo = $"{cpuDir}/cpu{c}/topology";
            if (t.Exists($"{topo}/core_id"))
            {
                int rawPackage = t.Int($"{topo}/physical_package_id", 0);
                int socket = Math.Max(0, rawPackage);
                // physical_package_id -1 (old powerpc kernels): the package is what core_siblings says
                SortedSet<int>? pkgSib = rawPackage >= 0 ? null
                    : t.Exists($"{topo}/core_siblings_list") ? t.List($"{topo}/core_siblings_list")
                    : t.Exists($"{topo}/core_siblings") ? SysfsLists.ParseMask(t.Read($"{topo}/core_siblings"), t.Rel($"{topo}/core_siblings")) : null;
                if (pkgSib is { Count: > 0 }) unknownPackage[c] = pkgSib.Min;
                int die = Math.Max(0, t.Int($"{topo}/die_id", 0));
                int core = Math.Max(0, t.Int($"{topo}/core_id", 0));
                SortedSet<int>? sib = t.Exists($"{topo}/thread_siblings_list") ? t.List($"{topo}/thread_siblings_list")
                    : t.Exists($"{topo}/thread_siblings") ? SysfsLists.ParseMask(t.Read($"{topo}/thread_siblings"), t.Rel($"{topo}/thread_siblings")) : null;
                int thread = sib is null ? 0 : Math.Max(0, sib.Count(x => x < c));
                ids[c] = (socket, die, core, thread);
                if (sib is { Count: > 0 }) siblings[c] = sib.Min;
            }
            else if (cpuInfo.TryGetValue(c, out var ci) && ci.Core is int cc)
                ids[c] = (Math.Max(0, ci.Socket ?? 0), 0, Math.Max(0, cc), 0);
            else own.Add(c);
        }
        if (unknownPackage.Count > 0)
        {
            var firsts = unknownPackage.Values.Distinct().Order().ToList();
            foreach (var (c, first) in unknownPackage) ids[c] = ids[c] with { Socket = firsts.IndexOf(first) };
            notes.Add($"physical_package_id is -1: packages numbered from core_siblings (in order of their first CPU) for {unknownPackage.Count} CPUs");
        }
        if (own.Count > 0)
        {
            int next = ids.Count == 0 ? 0 : ids.Values.Max(v => v.Core) + 1;
            foreach (var c in own) ids[c] = (0, 0, next++, 0);
            notes.Add($"CPUs without topology/ or /proc/cpuinfo ids are each their own core in package 0: {string.Join(",", own)}");
        }
        // A core is what thread_siblings says (the model makes the CPUs of one (package, die, core_id) siblings, as
        // x86 does from the APIC ids): the threads of an AMD compute unit (own core_id each, siblings of each other)
        // take the unit's first core_id; two sibling groups with one core_id in a package (core_id counted per node on
        // multi-node packages) get distinct core ids, the later ones numbered after the package's highest.
        if (siblings.Count > 0)
        {
            foreach (var c in siblings.Keys.Order().ToList())
                if (siblings[c] != c && ids.TryGetValue(siblings[c], out var first) && (first.Socket, first.Die) == (ids[c].Socket, ids[c].Die))
                    ids[c] = ids[c] with { Core = first.Core };
            foreach (var pkg in ids.Where(kv => siblings.ContainsKey(kv.Key)).GroupBy(kv => (kv.Value.Socket, kv.Value.Die)))
            {
                int next = ids.Where(kv => (kv.Value.Socket, kv.Value.Die) == pkg.Key).Max(kv => kv.Value.Core) + 1;
                var owner = new Dictionary<int, int>(); // core id -> first CPU of the sibling group holding it
                var renumbered = new Dictionary<int, int>(); // first CPU of a group -> its new core id
                foreach (var kv in pkg.OrderBy(kv => kv.Key).ToList())
                {
                    int group = siblings[kv.Key];
                    if (renumbered.TryGetValue(group, out var nc)) { ids[kv.Key] = kv.Value with { Core = nc }; continue; }
                    if (owner.TryAdd(kv.Value.Core, group) || owner[kv.Value.Core] == group) continue;
                    renumbered[group] = next;
                    ids[kv.Key] = kv.Value with { Core = next++ };
                }
            }
            var moved = ids.Where(kv => siblings.ContainsKey(kv.Key) && kv.Value.Core != Math.Max(0, t.Int($"{cpuDir}/cpu{kv.Key}/topology/core_id", 0))).Select(kv => kv.Key).ToList();
            if (moved.Count > 0)
                notes.Add($"core ids taken from thread_siblings, not core_id (the model makes a core's threads share one core_id, as x86 does): CPUs {string.Join(",", moved)}");
        }
        // threads of one core must have distinct thread ids
        foreach (var g in ids.GroupBy(kv => (kv.Value.Socket, kv.Value.Die, kv.Value.Core)))
        {
            var threads = g.Select(kv => kv.Value.Thread).ToList();
            if (threads.Distinct().Count() != threads.Count)
            {
                int k = 0;
                foreach (var kv in g.OrderBy(kv => kv.Key).ToList()) ids[kv.Key] = kv.Value with { Thread = k++ };
            }
        }

        var slots = new List<CpuSlotSpec>();
        for (int c = 0; c <= maxCpu; c++)
        {
            bool isPresent = present.Contains(c);
            int node = cpuNode.TryGetValue(c, out var n) ? n : firstNode;
            var (s, d, co, th) = ids.TryGetValue(c, out var v) ? v : (0, 0, 0, 0);
            slots.Add(new CpuSlotSpec(c, s, d, co, th, (uint)c, node, isPresent, !isPresent || online.Contains(c)));
        }
        if (slots.Count > possible.Count)
            notes.Add($"CPU numbers missing from cpu/possible ({string.Join(",", Enumerable.Range(0, maxCpu + 1).Where(c => !possible.Contains(c)))}) are modelled as possible, not present");
        var presentNums = present.ToList();
        if (presentNums[^1] != presentNums.Count - 1)
            notes.Add("present CPUs are not numbered 0..N-1: x86 numbers present CPUs densely in MADT order, so the model's numbers differ");

        // ---- distances
        IReadOnlyList<IReadOnlyList<int>>? distances = null;
        if (nodeDirs.Count > 1)
        {
            var withFile = nodeDirs.Where(nd => t.Exists($"{nd.Dir}/distance")).ToList();
            if (withFile.Count == 0) notes.Add("no nodeN/distance files: the kernel's defaults (10 local, 20 remote) apply");
            else
            {
                var rows = new List<IReadOnlyList<int>>();
                foreach (var (nid, dir) in nodeDirs)
                {
                    var f = $"{dir}/distance";
                    if (!t.Exists(f)) throw t.Missing(f);
                    var parts = t.Read(f).Split((char[])[' ', '\t', '\n'], StringSplitOptions.RemoveEmptyEntries);
                    var row = new List<int>();
                    foreach (var p in parts)
                        row.Add(int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var dv)
                            ? dv : throw new ImportException($"{t.Rel(f)}: '{p}' is not a distance"));
                    if (row.Count != nodeDirs.Count)
                        throw new ImportException($"{t.Rel(f)}: {row.Count} distances but {nodeDirs.Count} nodes (the distance matrix must be square)");
                    rows.Add(row);
                }
                bool valid = true;
                for (int i = 0; i < rows.Count; i++)
                    for (int j = 0; j < rows.Count; j++)
                        if (i == j ? rows[i][j] != 10 : rows[i][j] is <= 10 or > 255) valid = false;
                if (valid) distances = rows;
                else notes.Add("the distance matrix has a local distance other than 10 or a remote one outside 11..255: x86's slit_valid() rejects such a SLIT, so the kernel's defaults (10/20) apply");
            }
        }

        // ---- node memory
        var mem = new Dictionary<int, ulong>();
        if (blocks.Count > 0)
        {
            foreach (var nid in nodeIds) mem[nid] = 0;
            foreach (var b in blocks)
            {
                int nid = b.Node >= 0 && mem.ContainsKey(b.Node) ? b.Node : firstNode;
                mem[nid] += blockSize!.Value;
            }
        }
        else
        {
            var missing = nodeDirs.Where(nd => !t.Exists($"{nd.Dir}/meminfo")).ToList();
            if (missing.Count > 0 && !options.FillMissing) throw t.Missing($"{missing[0].Dir}/meminfo");
            if (missing.Count > 0)
                notes.Add($"nodeN/meminfo missing: {QemuSize.Format(options.AssumedNodeMemBytes)} assumed for nodes {string.Join(",", missing.Select(m => m.Index))}");
            foreach (var nid in nodeIds)
            {
                var f = $"{sys}/node/node{nid}/meminfo";
                if (!t.Exists(f)) { mem[nid] = nodeDirs.Count == 0 ? options.AssumedNodeMemBytes : options.AssumedNodeMemBytes; continue; }
                mem[nid] = NodeBytesFor(MemTotalKb(t, f) * 1024UL);
            }
        }
        ulong ram = mem.Values.Aggregate(0UL, (a, b) => a + b);
        if (ram == 0) throw new ImportException($"{name}: no node has memory (nodeN/meminfo MemTotal all 0)");

        // offline blocks: the model lays RAM out as QEMU's pc does (from 0, split at the PCI hole); the k-th real
        // block in address order is the k-th block of that layout.
        var offline = new List<int>();
        if (blocks.Count > 0)
        {
            var modelBlocks = ModelBlockIndexes(ram, blockSize!.Value);
            var sorted = blocks.OrderBy(b => b.Index).ToList();
            for (int k = 0; k < sorted.Count && k < modelBlocks.Count; k++)
                if (!sorted[k].Online) offline.Add(modelBlocks[k]);
            if (!sorted.Select(b => b.Index).SequenceEqual(modelBlocks))
                notes.Add("memory block numbers differ: the model lays RAM out as QEMU's pc does (from address 0, 3 or 3.5 GiB below the PCI hole, the rest from 4 GiB)");
        }

        // A tree without memory blocks came from a real machine: x86's probe_memory_block_size() gives bare metal
        // with 64 GiB or more 2 GiB blocks (MAX_BLOCK_SIZE); the model would otherwise take the VM rule (128 MiB).
        if (blockSize is null && ram >= 64 * QemuSize.GiB)
        {
            blockSize = 2 * QemuSize.GiB;
            notes.Add("no memory blocks in the tree: 2G blocks, as x86 gives bare metal with 64 GiB or more");
        }

        // ---- node numbering
        var nodes = nodeIds.Select(nid => new NodeSpec(nid, mem[nid])).ToList();
        bool firmwareIds = !X86NumberingKeepsIds(slots, nodes, out var unparsed);
        if (unparsed.Count > 0)
            notes.Add($"nodes with neither CPUs nor memory are not in the SRAT, so neither possible nor online in the model: {string.Join(",", unparsed)}");

        var spec = new MachineSpec
        {
            Name = name,
            RamBytes = ram,
            MaxMemBytes = ram,
            Slots = 0,
            Smp = new SmpSpec(present.Count, slots.Count, slots.Count, 1, 1, 1),
            Nodes = nodes,
            CpuSlots = slots,
            Distances = distances,
            MemoryBlockSizeBytes = blockSize,
            OfflineBlocksAtBoot = offline,
            FirmwareNodeIds = firmwareIds,
            CpuidReportsSmt = true,
        };
        return new ImportResult(spec, notes);
    }

    /// <summary>The bytes a node is given for a real MemTotal: MemTotal plus the struct page array the kernel takes
    /// out of it (64 bytes per 4 KiB page, 1/64 of the node) and up to 1/256 for the boot hash tables
    /// (alloc_large_system_hash(): dentry and inode, 3 bytes per 2 KiB at most), rounded up to a section (128 MiB).</summary>
    public static ulong NodeBytesFor(ulong memTotalBytes)
    {
        if (memTotalBytes == 0) return 0;
        ulong withMemmap = memTotalBytes + memTotalBytes / 63 + memTotalBytes / 256;
        return (withMemmap + SectionBytes - 1) / SectionBytes * SectionBytes;
    }

    /// <summary>Block indexes of the pc layout for <paramref name="ram"/> bytes: [0, below 4G) and [4G, 4G + above).</summary>
    public static List<int> ModelBlockIndexes(ulong ram, ulong blockSize)
    {
        var (below, above) = PcMachine.SplitRam(ram);
        var list = new List<int>();
        for (ulong a = 0; a + blockSize <= below; a += blockSize) list.Add((int)(a / blockSize));
        for (ulong a = PcMachine.FourGiB; a + blockSize <= PcMachine.FourGiB + above; a += blockSize) list.Add((int)(a / blockSize));
        return list;
    }

    /// <summary>Whether x86's numbering (acpi_map_pxm_to_node: nodes in the order PXMs are first seen in the SRAT,
    /// CPU entries first, then memory) gives each node its own id. Nodes never seen are returned in
    /// <paramref name="unparsed"/>.</summary>
    private static bool X86NumberingKeepsIds(List<CpuSlotSpec> slots, List<NodeSpec> nodes, out List<int> unparsed)
    {
        var order = new List<int>();
        foreach (var c in slots) if (!order.Contains(c.NodeId)) order.Add(c.NodeId);
        foreach (var n in nodes) if (n.MemBytes > 0 && !order.Contains(n.NodeId)) order.Add(n.NodeId);
        unparsed = nodes.Select(n => n.NodeId).Where(id => !order.Contains(id)).ToList();
        for (int i = 0; i < order.Count; i++) if (order[i] != i) return false;
        return true;
    }

    private static ulong MemTotalKb(Tree t, string file)
    {
        foreach (var line in t.Read(file).Split('\n'))
        {
            int at = line.IndexOf("MemTotal:", StringComparison.Ordinal);
            if (at < 0) continue;
            var rest = line[(at + 9)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (rest.Length > 0 && ulong.TryParse(rest[0], NumberStyles.None, CultureInfo.InvariantCulture, out var kb)) return kb;
            throw new ImportException($"{t.Rel(file)}: malformed MemTotal line '{line.Trim()}'");
        }
        throw new ImportException($"{t.Rel(file)}: no MemTotal line");
    }

    /// <summary>/proc/cpuinfo's "processor", "physical id" and "core id" (x86 prints them; other architectures do not).</summary>
    private static Dictionary<int, (int? Socket, int? Core)> ReadCpuInfo(Tree t)
    {
        var r = new Dictionary<int, (int? Socket, int? Core)>();
        if (!t.Exists("proc/cpuinfo")) return r;
        int? proc = null, socket = null, core = null;
        void Flush() { if (proc is int p) r[p] = (socket, core); proc = socket = core = null; }
        foreach (var raw in t.Read("proc/cpuinfo").Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0) { Flush(); continue; }
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0) continue;
            var key = line[..colon].Trim();
            bool ok = int.TryParse(line[(colon + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v);
            if (!ok) continue;
            if (key == "processor") { Flush(); proc = v; }
            else if (key == "physical id") socket = v;
            else if (key == "core id") core = v;
        }
        Flush();
        return r;
    }

    /// <summary>File access relative to the tree's root, confined to it (<see cref="ConfinedTree"/>); errors name
    /// the path inside the tree.</summary>
    private sealed class Tree(string root)
    {
        private readonly ConfinedTree _t = new(root);
        public string Rel(string rel) => rel;
        public bool IsDir(string rel) => _t.IsDirectory(rel);
        /// <summary>Present and not a folder: a FIFO or device counts, so that reading it refuses it by name.</summary>
        public bool Exists(string rel) => _t.Kind(rel) is not (FileKind.Missing or FileKind.Directory);
        public ImportException Missing(string rel) => new($"{rel}: missing (the model needs it)");

        /// <summary>Some dumps pad attribute files with NUL bytes after the text; sysfs itself never prints them.</summary>
        public string Read(string rel) => (_t.ReadText(rel) ?? throw Missing(rel)).Replace("\0", "", StringComparison.Ordinal);

        public SortedSet<int> List(string rel) => SysfsLists.ParseList(Read(rel), rel);

        public int Int(string rel, int fallback)
        {
            if (!Exists(rel)) return fallback;
            var s = Read(rel).Trim();
            return int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
                ? v : throw new ImportException($"{rel}: '{s}' is not an integer");
        }

        /// <summary>Entries name+number under <paramref name="dir"/> (folders or links), in number order.</summary>
        public IEnumerable<(int Index, string Dir)> Numbered(string dir, Regex rx)
        {
            return _t.List(dir)
                .Select(name => (Name: name, M: rx.Match(name)))
                .Where(x => x.M.Success && int.TryParse(x.M.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                .Select(x => (int.Parse(x.M.Groups[1].Value, CultureInfo.InvariantCulture), $"{dir}/{x.Name}"))
                .OrderBy(x => x.Item1)
                .ToList();
        }
    }
}
