using System.Text;
using Numasim.Firmware;

namespace Numasim.Import;

/// <summary>How the importer treats a partial tree. By default a fact the tree lacks is filled in by a stated rule
/// (one online CPU when cpu/ is missing, <see cref="AssumedNodeMemBytes"/> for a node without meminfo or memory
/// blocks); <see cref="Strict"/> refuses such a tree, naming the missing file.</summary>
public sealed record ImportOptions(bool Strict = false, ulong AssumedNodeMemBytes = QemuSize.GiB)
{
    /// <summary>Whether folders are read in batches through io_uring where the kernel offers it (tests compare both ways).</summary>
    internal bool Batched { get; init; } = true;
}

/// <summary>The imported machine; what was not carried (<see cref="Notes"/>, one per dropped fact); the rules used for
/// what the tree does not show (<see cref="Inferred"/>); and the kernel profile closest to the tree's kernel.</summary>
public sealed record ImportResult(MachineSpec Spec, IReadOnlyList<string> Notes)
{
    public IReadOnlyList<string> Inferred { get; init; } = [];

    /// <summary>The modelled kernel closest to the one the tree came from (v6.1 unless the tree tells otherwise).</summary>
    public string Profile { get; init; } = "v6.1";

    /// <summary>Why <see cref="Profile"/> (null for the default).</summary>
    public string? ProfileReason { get; init; }

    /// <summary>The machine file: the rules used, as comments, then the fields.</summary>
    public string MachineFileText()
    {
        var sb = new StringBuilder();
        sb.Append("# numasim import of ").Append(Spec.Name.ReplaceLineEndings(" ")).Append('\n');
        if (ProfileReason is not null) sb.Append("# kernel: ").Append(ProfileReason).Append('\n');
        foreach (var i in Inferred) sb.Append("# inferred: ").Append(i.ReplaceLineEndings(" ")).Append('\n');
        foreach (var n in Notes) sb.Append("# not carried: ").Append(n.ReplaceLineEndings(" ")).Append('\n');
        return sb.Append(MachineFile.Write(Spec)).ToString();
    }
}

/// <summary>
/// Reads the sysfs/procfs tree of a real machine into a <see cref="MachineSpec"/> that, booted, shows the same CPUs
/// (numbers, topology, caches, identity), nodes (sparse ids kept), distances, memory blocks at their physical
/// addresses with their states and zones, DIMMs, and each node's MemTotal. What is read, and how it maps, is described
/// in docs/conformance.md ("Importing real machines").
/// </summary>
public static class SysfsImporter
{
    /// <summary>Node memory without memory blocks is a whole number of these (x86's MIN_MEMORY_BLOCK_SIZE, one section).</summary>
    public const ulong SectionBytes = 128 * QemuSize.MiB;

    /// <summary>Imports a directory (a root holding sys/, or a sysfs mount such as /sys itself) or a .tar.gz/.tar.bz2.</summary>
    public static ImportResult Import(string path, ImportOptions? options = null)
    {
        using var src = TreeSource.Open(path);
        return ImportTree(src.Root, src.Name, options ?? new ImportOptions());
    }

    /// <summary>Imports the tree under <paramref name="root"/> (which holds sys/ and, where present, proc/).</summary>
    public static ImportResult ImportTree(string root, string name, ImportOptions options)
    {
        var t = new DumpTree(root, options.Batched);
        var log = new ImportLog();
        if (!t.IsDir(DumpTree.Sys)) throw DumpTree.Missing(DumpTree.Sys);
        var (nodes, mem, info, cpus, caches) = NodesMemoryAndCpus(t, options, log);
        var kernelPhysAddr = KernelImageImport.Read(t, log);

        var ids = NodeIds(nodes, mem, log);
        var nodeMem = NodeMemory(ids, nodes, mem, options, log);
        ulong ram = nodeMem.Values.Aggregate(0UL, (a, b) => a + b);
        if (ram == 0) throw new ImportException($"{name}: no node has memory (nodeN/meminfo MemTotal all 0, no memory block online)");
        var nodeSpecs = ids.Select(n => new NodeSpec(n, nodeMem[n])).ToList();
        var hotplugOnly = nodes.Possible.Where(n => !ids.Contains(n)).ToList();
        if (hotplugOnly.Count > 0)
            log.Infer($"possible nodes {IdList.Format(hotplugOnly)} have no folder (offline): named by the firmware in a hotpluggable range only (hotplug_only_nodes)");

        ulong? blockSize = mem?.BlockSize;
        if (blockSize is null && ram >= 64 * QemuSize.GiB)
        {
            blockSize = 2 * QemuSize.GiB;
            log.Infer("no memory blocks in the tree: 2G blocks, as x86's probe_memory_block_size() gives bare metal with 64 GiB or more");
        }
        var dimms = mem?.Dimms ?? [];
        ulong maxmem = ram;
        int slots = 0;
        if (dimms.Count > 0)
        {
            ulong end = dimms.Max(d => d.Address!.Value + d.SizeBytes);
            maxmem = ram + (end - mem!.DeviceMemoryBase!.Value);
            slots = dimms.Max(d => d.Slot!.Value) + 1;
            log.Infer($"the hotplug capacity is not in sysfs: maxmem = boot RAM + the DIMM region up to the last DIMM, slots = {slots} (the DIMMs' slots); raise both to add DIMMs");
        }
        var memTotals = nodes.MemTotalKb.Count > 0 && ids.All(nodes.MemTotalKb.ContainsKey)
            ? ids.Select(n => new NodeMemTotalSpec(n, nodes.MemTotalKb[n])).ToList() : [];
        var slotsSpec = cpus.Slots;
        var spec = new MachineSpec
        {
            Name = name,
            RamBytes = ram,
            MaxMemBytes = maxmem,
            Slots = slots,
            Smp = new SmpSpec(cpus.Present.Count, slotsSpec.Count, slotsSpec.Count, 1, 1, 1),
            Nodes = nodeSpecs,
            CpuSlots = slotsSpec,
            Distances = nodes.Distances,
            MemoryBlockSizeBytes = blockSize,
            OfflineBlocksAtBoot = mem?.OfflineBoot ?? [],
            FirmwareNodeIds = !X86NumberingKeepsIds(slotsSpec, nodeSpecs, nodes.GenericInitiators, hotplugOnly),
            CpuidReportsSmt = true,
            MemhpDefaultState = mem?.AutoOnline is { } ao && ao != "offline" ? ao : null,
            BootMemory = mem?.Boot,
            FirmwareReserved = mem?.Boot is not null ? mem.FirmwareReserved : [],
            Dimms = dimms,
            DeviceMemoryBase = mem?.DeviceMemoryBase,
            BlockStates = mem?.DimmStates ?? [],
            MemTotals = memTotals,
            UnremovableBlocks = mem?.Unremovable ?? [],
            KernelPhysAddr = kernelPhysAddr,
            FirmwareCpuIds = cpus.FirmwareCpuIds,
            CpuInfo = info.Groups,
            Caches = caches ?? [],
            Vulnerabilities = info.Vulnerabilities,
            CpuFreq = info.CpuFreq,
            CpuFreqBoost = info.Boost,
            MemorySideCaches = nodes.SideCaches.Where(c => ids.Contains(c.Node)).ToList(),
            NodeAccess = nodes.Access.Where(a => ids.Contains(a.Node)).Select(a => a with { Initiators = a.Initiators.Where(ids.Contains).ToList() }).ToList(),
            GenericInitiatorNodes = nodes.GenericInitiators,
            HotplugOnlyNodes = hotplugOnly,
        };
        OutsideTheModel.Note(t, log);
        var old = mem?.RemovablePerBlock == true ? "memory blocks not all removable: a kernel before 5.7 (53cdc1cb29e8 made every block read 1)"
            : cpus.HasTopology && !cpus.HasDieId ? "cpuN/topology has no die_id: a kernel before 5.2" : null;
        return new ImportResult(spec, log.Notes)
        {
            Inferred = log.Inferred,
            Profile = old is null ? "v6.1" : "v4.20",
            ProfileReason = old is null ? null : old + "; closest modelled: v4.20",
        };
    }

    /// <summary>The nodes, the memory blocks, then /proc/cpuinfo, the CPUs and their caches. The CPU side is read on
    /// another thread meanwhile: /proc/cpuinfo needs nothing else, so it is read while the nodes are (whose reading
    /// leaves a core idle: the parser waits for its folders), and the CPUs and caches need only the nodes (a big
    /// machine's blocks and its CPUs' folders are about equal halves of the reading). Its log is appended after the
    /// memory's, and an error of the nodes or the memory blocks wins, so the notes, the rules and the error reported are
    /// those of reading one after the other.</summary>
    private static (NodeFacts, MemoryFacts?, CpuInfoFacts, CpuFacts, List<CacheSpec>?) NodesMemoryAndCpus(DumpTree t, ImportOptions options, ImportLog log)
    {
        var cpuLog = new ImportLog();
        var nodesRead = new TaskCompletionSource<NodeFacts>(TaskCreationOptions.RunContinuationsAsynchronously);
        var cpuSide = Task.Factory.StartNew(() =>
        {
            var info = CpuInfoImport.Read(t, cpuLog);
            var nodes = nodesRead.Task.GetAwaiter().GetResult();
            var cpus = CpuImport.Read(t, nodes, info, options.Strict, cpuLog);
            return (info, cpus, CacheImport.Read(t, cpus, cpuLog));
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        NodeFacts nodes;
        MemoryFacts? mem;
        try
        {
            nodes = NodeImport.Read(t, log);
            nodesRead.SetResult(nodes);
            mem = MemoryImport.Read(t, nodes, log);
        }
        catch
        {
            // read one after the other, the CPU side would not have run: its outcome is dropped, once it no longer reads
            nodesRead.TrySetCanceled();
            try { cpuSide.Wait(); }
            catch (AggregateException) { }
            throw;
        }
        var (info, cpus, caches) = cpuSide.GetAwaiter().GetResult();
        log.Append(cpuLog);
        return (nodes, mem, info, cpus, caches);
    }

    /// <summary>The nodes: the node folders; without any, the nodes the memory blocks name, else node 0.</summary>
    private static List<int> NodeIds(NodeFacts nodes, MemoryFacts? mem, ImportLog log)
    {
        if (nodes.Ids.Count > 0) return nodes.Ids;
        var ids = mem?.Blocks.Where(b => b.Node >= 0).Select(b => b.Node).Distinct().Order().ToList() ?? [];
        if (ids.Count == 0) ids.Add(0);
        log.Infer($"no node folders under {DumpTree.Sys}/node: nodes {IdList.Format(ids)} taken from the memory blocks' links");
        return ids;
    }

    /// <summary>Each node's boot RAM: its boot memory blocks; without blocks, its MemTotal plus 1 MiB (room for the
    /// first node's firmware holes in pc's layout) rounded up to a 128 MiB section, the rest being reserved as the
    /// machine's own.</summary>
    private static Dictionary<int, ulong> NodeMemory(List<int> ids, NodeFacts nodes, MemoryFacts? mem, ImportOptions options, ImportLog log)
    {
        var m = ids.ToDictionary(n => n, _ => 0UL);
        if (mem is not null)
        {
            foreach (var r in mem.Boot)
                if (!m.ContainsKey(r.Node)) throw new ImportException($"{DumpTree.Sys}/memory: a block names node {r.Node}, which has no node folder");
                else m[r.Node] += r.Size;
            return m;
        }
        var missing = ids.Where(n => !nodes.MemTotalKb.ContainsKey(n)).ToList();
        if (missing.Count > 0)
        {
            if (options.Strict) throw DumpTree.Missing($"{DumpTree.Sys}/node/node{missing[0]}/meminfo");
            log.Infer($"no nodeN/meminfo and no memory blocks for nodes {IdList.Format(missing)}: {QemuSize.Format(options.AssumedNodeMemBytes)} each assumed");
        }
        foreach (var n in ids)
        {
            if (!nodes.MemTotalKb.TryGetValue(n, out var kb)) { m[n] = options.AssumedNodeMemBytes; continue; }
            m[n] = kb == 0 ? 0 : (kb * 1024 + QemuSize.MiB + SectionBytes - 1) / SectionBytes * SectionBytes;
        }
        return m;
    }

    /// <summary>Whether x86's numbering (acpi_map_pxm_to_node: nodes in the order PXMs are first seen in the SRAT, CPU
    /// entries first, then generic initiators, memory and hotplug ranges) gives each node its own id.</summary>
    private static bool X86NumberingKeepsIds(List<CpuSlotSpec> slots, List<NodeSpec> nodes, List<int> gi, List<int> hotplugOnly)
    {
        var order = new List<int>();
        void See(int n) { if (!order.Contains(n)) order.Add(n); }
        foreach (var c in slots) See(c.NodeId);
        foreach (var n in gi) See(n);
        foreach (var n in nodes) if (n.MemBytes > 0) See(n.NodeId);
        foreach (var n in hotplugOnly) See(n);
        foreach (var n in nodes) See(n.NodeId);
        for (int i = 0; i < order.Count; i++) if (order[i] != i) return false;
        return true;
    }
}
