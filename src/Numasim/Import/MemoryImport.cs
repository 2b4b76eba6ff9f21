using System.Globalization;
using Numasim.Firmware;

namespace Numasim.Import;

/// <summary>One memoryN folder as the tree shows it.</summary>
internal sealed record DumpBlock(int Index, string State, int Node, string? ValidZones, bool? Removable, int? AcpiSlot, string? AcpiDevice)
{
    public bool Online => State != "offline";

    /// <summary>The zone an online block lies in: the first of valid_zones (kernels before 4.13 listed the zones it could
    /// move to after it).</summary>
    public string? Zone => Online && ValidZones is { } v ? v.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault() : null;
}

/// <summary>What the memory blocks tell: the physical layout, which memory was hot-added, the states and zones.</summary>
internal sealed class MemoryFacts
{
    public ulong BlockSize;
    public List<DumpBlock> Blocks = [];
    public List<BootRamRange> Boot = [];
    public List<ColdDimmSpec> Dimms = [];
    public List<BlockStateSpec> DimmStates = [];
    public List<int> OfflineBoot = [];
    public List<int> Unremovable = [];
    public string? AutoOnline;
    public ulong? DeviceMemoryBase;
    public List<E820Entry> FirmwareReserved = [];
    public bool RemovablePerBlock;
}

/// <summary>
/// sys/devices/system/memory: every block at its phys_index, holes kept; boot RAM versus hot-added memory from what the
/// tree shows; hot-added ranges become DIMMs of their node (see docs/conformance.md, "Importing real machines").
/// </summary>
internal static class MemoryImport
{
    private const string Mem = DumpTree.Sys + "/memory";

    // (the folder's listing also tells which links it has: firmware_node and nodeN are then checked without a system call)
    private static readonly string[] BlockFiles = ["phys_index", "state", "removable", "valid_zones"];

    public static MemoryFacts? Read(DumpTree t, NodeFacts nodes, ImportLog log)
    {
        if (!t.IsDir(Mem)) return null;
        var f = new MemoryFacts();
        var bsFile = $"{Mem}/block_size_bytes";
        var bs = t.Read(bsFile).Trim();
        if (!ulong.TryParse(bs, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b) || b < 4096 || (b & (b - 1)) != 0)
            throw new ImportException($"{bsFile}: '{bs}' is not a power-of-two hexadecimal size");
        f.BlockSize = b;
        f.AutoOnline = t.TryRead($"{Mem}/auto_online_blocks")?.Trim();
        var nodeOfBlock = NodeLinks(nodes);
        var dirs = t.Numbered(Mem, "memory");
        int at = 0;
        foreach (var d in t.Folders(dirs.Select(x => x.Path).ToList(), BlockFiles))
            f.Blocks.Add(ReadBlock(d, dirs[at++].Index, nodeOfBlock));
        if (f.Blocks.Count == 0) return null;
        f.RemovablePerBlock = f.Blocks.Any(x => x.Online && x.Removable == false);
        Classify(t, f, log);
        return f;
    }

    /// <summary>node/nodeN/memoryM links: block M on node N (kernels before 4.x had no memoryM/nodeN link).</summary>
    private static Dictionary<int, int> NodeLinks(NodeFacts nodes)
    {
        var map = new Dictionary<int, int>();
        foreach (var (nid, m) in nodes.MemoryLinks)
            if (!map.TryAdd(m, nid) && map[m] != nid)
                throw new ImportException($"{DumpTree.Sys}/node/node{nid}/memory{m}: block {m} is linked from node {map[m]} and node {nid}");
        return map;
    }

    private static DumpBlock ReadBlock(DumpFolder d, int idx, Dictionary<int, int> nodeOfBlock)
    {
        var pi = d.TryRead("phys_index")?.Trim();
        if (pi is not null && (!long.TryParse(pi, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var phys) || phys != idx))
            throw new ImportException($"{d.Path}/phys_index: '{pi}' contradicts the block's name memory{idx} (phys_index is the block's number in hexadecimal)");
        var state = d.Read("state").Trim();
        if (state is not ("online" or "offline" or "going-offline"))
            throw new ImportException($"{d.Path}/state: unknown state '{state}'");
        // the node whose nodeN/memoryM link names it, when memoryM links back; else its own links
        bool known = nodeOfBlock.TryGetValue(idx, out int node);
        if (!known || !d.IsLink($"node{node}"))
        {
            var links = d.Numbered("node").Select(x => x.Index).ToList();
            if (links.Count > 0 && known)
                throw new ImportException($"{d.Path}/node{links[0]}: block {idx} is linked to node {links[0]} but node{node}/memory{idx} says node {node}");
            if (!known) node = links.Count > 0 ? links[0] : -1;
        }
        var removable = d.TryRead("removable")?.Trim() switch { "0" => false, "1" => true, _ => (bool?)null };
        // a DIMM's block points at its ACPI memory device (PNP0C80:SS, one per slot)
        int? slot = null;
        string? device = null;
        if (d.LinkTarget("firmware_node") is { } fw && fw.Split('/')[^1] is var dev && dev.StartsWith("PNP0C80:", StringComparison.Ordinal))
        {
            device = dev;
            if (int.TryParse(dev.AsSpan(8), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var s)) slot = s;
        }
        return new DumpBlock(idx, state, node, d.TryRead("valid_zones")?.Trim(), removable, slot, device);
    }

    /// <summary>Boot RAM or hot-added, per block: a block of an ACPI memory device (firmware_node PNP0C80) is a DIMM's;
    /// a block online in ZONE_MOVABLE, or above the highest block online in a kernel zone, was hot-added (x86 boots
    /// without ZONE_MOVABLE unless told, and a kernel puts boot memory below what it hot-adds); the rest is boot RAM.</summary>
    private static void Classify(DumpTree t, MemoryFacts f, ImportLog log)
    {
        ulong bs = f.BlockSize;
        var kernelOnline = f.Blocks.Where(x => x.AcpiDevice is null && x.Online && x.Zone is not ("Movable" or null)).Select(x => x.Index).DefaultIfEmpty(-1).Max();
        bool HotAdded(DumpBlock x) => x.AcpiDevice is not null || x.Index > kernelOnline || (x.Online && x.Zone == "Movable");
        var hot = f.Blocks.Where(HotAdded).ToList();
        var boot = f.Blocks.Where(x => !HotAdded(x)).ToList();
        if (hot.Any(x => x.AcpiDevice is null))
            log.Infer($"blocks {Runs(hot.Where(x => x.AcpiDevice is null))}: hot-added (online in ZONE_MOVABLE, or above the highest block online in a kernel zone, {kernelOnline}), modelled as DIMMs, one per run of consecutive blocks of a node");
        var ram = FirmwareMap(t, f.FirmwareReserved, log);
        foreach (var x in boot)
        {
            ulong start = (ulong)x.Index * bs, end = start + bs;
            if (x.Node < 0) throw new ImportException($"{Mem}/memory{x.Index}: no node link (memory{x.Index}/nodeN or node/nodeN/memory{x.Index})");
            if (ram is not null)
            {
                foreach (var (rs, re) in ram)
                    if (re > start && rs < end) AddRange(f.Boot, Math.Max(rs, start), Math.Min(re, end), x.Node);
                continue;
            }
            // a block online in one zone that shows "none" had a hole: before 5.13 its hole's struct pages sat in zone 0
            bool hole = x.Online && x.ValidZones == "none" && !SpansX86Zones(start, end);
            if (hole)
            {
                end -= 1UL << 20;
                log.Infer($"memory{x.Index}: online with valid_zones \"none\" inside one zone: a hole, assumed to be its last 1 MiB");
            }
            AddRange(f.Boot, start, end, x.Node);
        }
        if (ram is not null) log.Infer("boot RAM: sys/firmware/memmap's System RAM within the boot blocks");
        foreach (var x in boot.Where(x => !x.Online)) f.OfflineBoot.Add(x.Index);
        foreach (var x in f.Blocks.Where(x => x.Online && x.Removable == false && !HotAdded(x))) f.Unremovable.Add(x.Index);
        Dimms(f, hot, log);
    }

    /// <summary>x86's zone limits (16 MiB, 4 GiB): a block across one spans two zones.</summary>
    private static bool SpansX86Zones(ulong start, ulong end) =>
        (start < 16UL << 20 && end > 16UL << 20) || (start < 4UL << 30 && end > 4UL << 30);

    /// <summary>sys/firmware/memmap's "System RAM" entries, when the tree has them (the firmware's map at boot, then the
    /// entries memory hotplug appended); its other entries go to <paramref name="reserved"/>.</summary>
    private static List<(ulong Start, ulong End)>? FirmwareMap(DumpTree t, List<E820Entry> reserved, ImportLog log)
    {
        const string dir = "sys/firmware/memmap";
        if (!t.IsDir(dir)) return null;
        var list = new List<(ulong, ulong)>();
        foreach (var (_, e) in t.Numbered(dir, ""))
        {
            var type = t.TryRead($"{e}/type")?.Trim() ?? "";
            ulong Hex(string name)
            {
                var s = t.Read($"{e}/{name}").Trim();
                var h = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? s[2..] : s;
                return ulong.TryParse(h, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var v) ? v : throw new ImportException($"{e}/{name}: '{s}' is not an address");
            }
            ulong start = Hex("start"), last = Hex("end");
            if (type != "System RAM")
            {
                if (E820TypeNames.Parse(type) is not { } et) log.Note($"{e}/type: '{type}' is no e820 type the model names: kept as Reserved");
                reserved.Add(new E820Entry(start, last + 1 - start, E820TypeNames.Parse(type) ?? E820Type.Reserved));
                continue;
            }
            if (last >= start) list.Add((start, last + 1));
        }
        return list.Count > 0 ? list : null;
    }

    private static void AddRange(List<BootRamRange> list, ulong start, ulong end, int node)
    {
        if (end <= start) return;
        if (list.Count > 0 && list[^1].End == start && list[^1].Node == node) list[^1] = list[^1] with { Size = end - list[^1].Start };
        else list.Add(new BootRamRange(start, end - start, node));
    }

    /// <summary>Hot-added blocks as DIMMs: the blocks of one ACPI memory device, else a run of consecutive blocks of one
    /// node; each block's state (and zone) is the online type it gets when the DIMM is added at boot.</summary>
    private static void Dimms(MemoryFacts f, List<DumpBlock> hot, ImportLog log)
    {
        int nextSlot = hot.Where(x => x.AcpiSlot is not null).Select(x => x.AcpiSlot!.Value + 1).DefaultIfEmpty(0).Max();
        var groups = new List<List<DumpBlock>>();
        foreach (var x in hot)
        {
            var g = groups.Count > 0 ? groups[^1] : null;
            if (g is not null && g[^1].Index + 1 == x.Index && g[^1].Node == x.Node && g[^1].AcpiDevice == x.AcpiDevice) g.Add(x);
            else groups.Add([x]);
        }
        var usedSlots = new HashSet<int>();
        foreach (var g in groups)
        {
            int node = g[0].Node;
            if (node < 0) throw new ImportException($"{Mem}/memory{g[0].Index}: no node link (memory{g[0].Index}/nodeN or node/nodeN/memory{g[0].Index})");
            int slot = g[0].AcpiSlot is int s && usedSlots.Add(s) ? s : NextFree(usedSlots, ref nextSlot);
            ulong addr = (ulong)g[0].Index * f.BlockSize;
            f.Dimms.Add(new ColdDimmSpec($"dimm{slot}", (ulong)g.Count * f.BlockSize, node, addr, slot));
            foreach (var x in g)
            {
                var state = !x.Online ? "offline" : x.Zone == "Movable" ? "online_movable" : "online_kernel";
                if (x.Online && x.Zone is not ("Movable" or "Normal"))
                    log.Note($"memory{x.Index}: a hot-added block online in zone {x.Zone ?? "?"}: onlined to the kernel zone the model gives it");
                f.DimmStates.Add(new BlockStateSpec(x.Index, state));
            }
        }
        if (f.Dimms.Count > 0) f.DeviceMemoryBase = f.Dimms.Min(d => d.Address!.Value) & ~((1UL << 30) - 1);
    }

    private static int NextFree(HashSet<int> used, ref int next)
    {
        while (!used.Add(next)) next++;
        return next++;
    }

    /// <summary>"3-5,9" for blocks.</summary>
    public static string Runs(IEnumerable<DumpBlock> blocks) => IdList.Format(blocks.Select(x => x.Index));
}
