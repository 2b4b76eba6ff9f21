using Numasim.Kernel.Drivers;

namespace Numasim.Report;

/// <summary>Machines beyond <see cref="TopologySvg.MaxDrawnNodes"/> nodes: one small tile per node coloured by its
/// state (64 a row) and summary lines for the CPUs, blocks and distances.</summary>
internal static class NodeTiles
{
    private const double Tile = 13, Step = 15, Pad = 8;

    public static double Draw(SvgWriter w, TopologyView v, double y)
    {
        int online = v.Nodes.Count(n => n.Online), withMemory = v.Nodes.Count(n => n.HasMemory), withCpu = v.Nodes.Count(n => n.HasCpu);
        w.Text(Pad, y + 12, $"{v.Nodes.Count} possible nodes (too many to draw one by one): {online} online, {withMemory} with memory, {withCpu} with CPUs", 12);
        y += 20;
        for (int i = 0; i < v.Nodes.Count; i++)
        {
            var n = v.Nodes[i];
            string fill = !n.Online ? "#eeeeee" : n.HasMemory ? "#7cc47f" : "#c8e6c9";
            string stroke = n.HasCpu ? "#1f4e79" : "#999";
            w.Rect(Pad + i % 64 * Step, y + i / 64 * Step, Tile, Tile, $"fill:{fill};stroke:{stroke};stroke-width:1", "numa-node-tile",
                $"node {n.Id}: {(n.Online ? "online" : "offline")}, {n.Cpus.Count} CPUs, {n.Blocks.Count} blocks, {TopologySvg.Size(n.PresentPages * 4096)}",
                ("node", n.Id), ("online", n.Online ? "true" : "false"), ("blocks", n.Blocks.Count), ("cpus", n.Cpus.Count));
        }
        y += Math.Ceiling(v.Nodes.Count / 64.0) * Step + 8;
        var cpus = v.Nodes.SelectMany(n => n.Cpus).Concat(v.CpusWithoutNode).ToList();
        w.Text(Pad, y + 12, $"{cpus.Count} possible CPUs: {cpus.Count(c => c.State == CpuShown.Online)} online, {cpus.Count(c => c.State == CpuShown.Offline)} offline, {cpus.Count(c => c.State == CpuShown.Absent)} not present", 12);
        y += 18;
        var blocks = v.Nodes.SelectMany(n => n.Blocks).Concat(v.BlocksWithoutNode).ToList();
        var kinds = blocks.GroupBy(b => b.State == MemoryBlockState.Online ? b.Zone ?? "mixed" : MemoryDevices.StateName(b.State))
            .OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}");
        w.Text(Pad, y + 12, $"{blocks.Count} memory blocks of {TopologySvg.Size(v.BlockBytes)}: {string.Join(", ", kinds)}", 12);
        y += 18;
        // Groups of nodes that look alike, so that a regular machine reads as one line.
        var groups = v.Nodes.GroupBy(n => (n.Online, n.HasMemory, Cpus: n.Cpus.Count, Blocks: n.Blocks.Count, n.PresentPages)).Take(8).ToList();
        foreach (var g in groups)
        {
            var ids = g.Select(n => n.Id).ToList();
            w.Text(Pad, y + 12, $"nodes {Ranges(ids)}: {(g.Key.Online ? "online" : "offline")}, {g.Key.Cpus} CPUs, {g.Key.Blocks} blocks, {TopologySvg.Size(g.Key.PresentPages * 4096)} each", 11, fill: "#444");
            y += 16;
        }
        return y + 8;
    }

    /// <summary>"0-3,8" for a sorted id list.</summary>
    public static string Ranges(IReadOnlyList<int> ids)
    {
        var parts = new List<string>();
        for (int i = 0; i < ids.Count;)
        {
            int j = i;
            while (j + 1 < ids.Count && ids[j + 1] == ids[j] + 1) j++;
            parts.Add(i == j ? $"{ids[i]}" : $"{ids[i]}-{ids[j]}");
            i = j + 1;
        }
        return string.Join(",", parts);
    }
}

/// <summary>The key under every picture.</summary>
internal static class Legend
{
    public static double Draw(SvgWriter w, double y)
    {
        double x = 8;
        y += 4;
        foreach (var zone in new[] { "DMA", "DMA32", "Normal", "Movable" })
        {
            w.Rect(x, y, 12, 12, Palette.Block(new BlockShown(0, zone, MemoryBlockState.Online, null)));
            w.Text(x + 16, y + 10, zone, 11);
            x += 28 + zone.Length * 7;
        }
        foreach (var (label, block) in new[] {
            ("online across zones", new BlockShown(0, null, MemoryBlockState.Online, null)),
            ("offline", new BlockShown(0, null, MemoryBlockState.Offline, null)),
            ("going-offline", new BlockShown(0, null, MemoryBlockState.GoingOffline, null)) })
        {
            w.Rect(x, y, 12, 12, Palette.Block(block));
            w.Text(x + 16, y + 10, label, 11);
            x += 28 + label.Length * 6.2;
        }
        y += 18;
        x = 8;
        foreach (var (label, state) in new[] { ("CPU online", CpuShown.Online), ("present, offline", CpuShown.Offline), ("possible, not present", CpuShown.Absent) })
        {
            w.Rect(x, y, 16, 12, Palette.Cpu(state));
            w.Text(x + 20, y + 10, label, 11);
            x += 32 + label.Length * 6.2;
        }
        return y + 16;
    }
}
