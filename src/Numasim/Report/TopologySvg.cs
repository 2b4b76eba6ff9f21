using Numasim.Kernel.Drivers;

namespace Numasim.Report;

/// <summary>
/// The machine as a picture in the spirit of lstopo: one box per possible node (state, CPUs by cpu_to_node(),
/// memory blocks coloured by zone and state), a box for CPUs whose cpu_to_node() is NUMA_NO_NODE, the DIMM slots
/// and the distance table. Up to <see cref="MaxDrawnNodes"/> nodes every node is a box and every block a square
/// (runs of like blocks past <see cref="MaxDrawnBlocks"/> in a node); beyond, nodes are tiles and the rest is
/// summarised. Elements carry classes and data-* attributes (numa-node, mem-block, mem-run, cpu, cpu-run,
/// dimm-slot, distance-cell, numa-node-tile) so that a test can count what is drawn.
/// </summary>
public static class TopologySvg
{
    public const int MaxDrawnNodes = 64;
    public const int MaxDrawnBlocks = 128;
    public const int MaxDrawnCpus = 40;

    private const double NodeW = 284, Pad = 8, Gap = 12, BlockSz = 14, BlockStep = 16, CpuW = 24, CpuH = 18, CpuStep = 26;
    private const int BlocksPerRow = 16, CpusPerRow = 10;

    /// <summary>The picture of <paramref name="v"/>; <paramref name="caption"/> heads it.</summary>
    public static string Render(TopologyView v, string caption)
    {
        var w = new SvgWriter();
        double y = 24;
        w.Text(Pad, 17, caption, 14, weight: "bold");
        double width;
        if (v.Nodes.Count <= MaxDrawnNodes)
        {
            int cols = v.Nodes.Count <= 2 ? Math.Max(1, v.Nodes.Count) : v.Nodes.Count <= 9 ? 3 : v.Nodes.Count <= 16 ? 4 : 8;
            width = Pad + cols * (NodeW + Gap);
            y = DrawNodes(w, v, cols, y);
        }
        else
        {
            width = Pad * 2 + 64 * 15;
            y = NodeTiles.Draw(w, v, y);
        }
        if (v.CpusWithoutNode.Count > 0 || v.BlocksWithoutNode.Count > 0) y = DrawNoNode(w, v, y);
        if (v.Slots.Count > 0) y = DrawSlots(w, v, y, width);
        if (v.Distances.Count > 1) y = DrawDistances(w, v, y);
        y = Legend.Draw(w, y);
        return w.Finish(Math.Max(width, 560), y + Pad, "topology", caption);
    }

    private static double DrawNodes(SvgWriter w, TopologyView v, int cols, double top)
    {
        double y = top;
        for (int row = 0; row * cols < v.Nodes.Count; row++)
        {
            var rowNodes = v.Nodes.Skip(row * cols).Take(cols).ToList();
            double h = rowNodes.Max(NodeHeight);
            for (int c = 0; c < rowNodes.Count; c++) DrawNode(w, rowNodes[c], Pad + c * (NodeW + Gap), y, h, v.BlockBytes);
            y += h + Gap;
        }
        return y;
    }

    private static double CpuRows(int n) => n == 0 ? 1 : n > MaxDrawnCpus ? 1 : Math.Ceiling(n / (double)CpusPerRow);

    private static double BlockRows(NodeView n) =>
        n.Blocks.Count == 0 ? 1 : n.Blocks.Count > MaxDrawnBlocks ? Runs(n.Blocks).Count : Math.Ceiling(n.Blocks.Count / (double)BlocksPerRow);

    /// <summary>Rows of runs a node shows at most; past that, one row per zone and state.</summary>
    private const int MaxRuns = 24;

    private static double NodeHeight(NodeView n) =>
        44 + 16 + CpuRows(n.Cpus.Count) * (CpuH + 4) + 20 + BlockRows(n) * BlockStep + Pad;

    private static void DrawNode(SvgWriter w, NodeView n, double x, double y, double h, long blockBytes)
    {
        w.Group("numa-node", ("node", n.Id), ("online", n.Online ? "true" : "false"), ("blocks", n.Blocks.Count), ("cpus", n.Cpus.Count));
        w.Rect(x, y, NodeW, h, n.Online ? "fill:#f4f8ee;stroke:#4d7a2a;stroke-width:1.5" : "fill:#f2f2f2;stroke:#999;stroke-width:1.2;stroke-dasharray:5,3",
            title: $"node {n.Id}: {(n.Online ? "online" : "offline (possible)")}");
        w.Text(x + Pad, y + 18, $"NUMANode P#{n.Id}", 13, weight: "bold", fill: n.Online ? "#2f4f14" : "#777");
        w.Text(x + NodeW - Pad, y + 18, n.PresentPages == 0 ? "no memory" : n.ManagedPages > 0
            ? $"{Size(n.PresentPages * 4096)} ({Size(n.FreePages * 4096)} free)" : Size(n.PresentPages * 4096), 11, "end");
        var states = new List<string> { n.Online ? "online" : "offline (possible)" };
        if (n.HasMemory) states.Add(n.HasNormalMemory ? "N_NORMAL_MEMORY" : "N_MEMORY");
        else if (n.Online) states.Add("memoryless");
        if (n.HasCpu) states.Add("N_CPU");
        w.Text(x + Pad, y + 34, string.Join(" · ", states), 11, fill: "#555");
        double cy = y + 44;
        w.Text(x + Pad, cy + 11, $"CPUs ({n.Cpus.Count})", 11, fill: "#333");
        cy += 16;
        DrawCpus(w, n.Cpus, x + Pad, cy, NodeW - 2 * Pad);
        cy += CpuRows(n.Cpus.Count) * (CpuH + 4) + 4;
        w.Text(x + Pad, cy + 11, $"memory blocks ({n.Blocks.Count} × {Size(blockBytes)})", 11, fill: "#333");
        cy += 16;
        DrawBlocks(w, n.Blocks, x + Pad, cy, NodeW - 2 * Pad);
        w.EndGroup();
    }

    internal static void DrawCpus(SvgWriter w, IReadOnlyList<CpuView> cpus, double x, double y, double width)
    {
        if (cpus.Count == 0)
        {
            w.Text(x, y + 12, "none", 11, fill: "#888");
            return;
        }
        if (cpus.Count > MaxDrawnCpus)
        {
            // One bar split by state, each part a cpu-run carrying its count.
            double cx = x;
            foreach (var state in new[] { CpuShown.Online, CpuShown.Offline, CpuShown.Absent })
            {
                int count = cpus.Count(c => c.State == state);
                if (count == 0) continue;
                double cw = width * count / cpus.Count;
                w.Rect(cx, y, cw, CpuH, Palette.Cpu(state), "cpu-run", $"{count} CPUs {state.ToString().ToLowerInvariant()}",
                    ("count", count), ("state", state.ToString().ToLowerInvariant()));
                if (cw > 60) w.Text(cx + cw / 2, y + 13, $"{count} {state.ToString().ToLowerInvariant()}", 10, "middle", fill: Palette.CpuText(state));
                cx += cw;
            }
            return;
        }
        for (int i = 0; i < cpus.Count; i++)
        {
            var c = cpus[i];
            double cx = x + i % CpusPerRow * CpuStep, cy = y + i / CpusPerRow * (CpuH + 4);
            var state = c.State.ToString().ToLowerInvariant();
            w.Rect(cx, cy, CpuW, CpuH, Palette.Cpu(c.State), "cpu", $"CPU {c.Cpu}: {state}", ("cpu", c.Cpu), ("state", state));
            w.Text(cx + CpuW / 2, cy + 13, c.Cpu.ToString(System.Globalization.CultureInfo.InvariantCulture), 10, "middle", fill: Palette.CpuText(c.State));
        }
    }

    internal static void DrawBlocks(SvgWriter w, IReadOnlyList<BlockShown> blocks, double x, double y, double width)
    {
        if (blocks.Count == 0)
        {
            w.Text(x, y + 11, "none", 11, fill: "#888");
            return;
        }
        if (blocks.Count > MaxDrawnBlocks)
        {
            var runs = Runs(blocks);
            for (int i = 0; i < runs.Count; i++)
            {
                var r = runs[i];
                string desc = $"{r.Label}: {MemoryDevices.StateName(r.Kind.State)}{(r.Kind.Zone is null ? "" : " " + r.Kind.Zone)}";
                w.Rect(x, y + i * BlockStep, width, BlockSz, Palette.Block(r.Kind), "mem-run", desc,
                    ("first", r.First), ("count", r.Count), ("zone", r.Kind.Zone ?? "none"), ("state", MemoryDevices.StateName(r.Kind.State)));
                w.Text(x + 4, y + i * BlockStep + 11, r.Count == 1 || r.Label.EndsWith("blocks", StringComparison.Ordinal) ? desc : $"{desc} ({r.Count})", 10);
            }
            return;
        }
        for (int i = 0; i < blocks.Count; i++)
        {
            var b = blocks[i];
            double bx = x + i % BlocksPerRow * BlockStep, by = y + i / BlocksPerRow * BlockStep;
            var state = MemoryDevices.StateName(b.State);
            w.Rect(bx, by, BlockSz, BlockSz, Palette.Block(b), "mem-block",
                $"memory{b.Id}: {state}{(b.Zone is null ? "" : ", " + b.Zone)}{(b.Dimm is null ? "" : ", " + b.Dimm)}",
                ("block", b.Id), ("zone", b.Zone ?? "none"), ("state", state));
        }
    }

    /// <summary>A row of like blocks: consecutive ones alike in zone, state and DIMM; when a node would need more
    /// than <see cref="MaxRuns"/> rows, one row per zone and state instead.</summary>
    internal readonly record struct BlockRun(string Label, BlockShown Kind, long First, int Count);

    internal static List<BlockRun> Runs(IReadOnlyList<BlockShown> blocks)
    {
        var runs = new List<BlockRun>();
        for (int i = 0; i < blocks.Count;)
        {
            int j = i + 1;
            while (j < blocks.Count && blocks[j].Zone == blocks[i].Zone && blocks[j].State == blocks[i].State
                   && blocks[j].Dimm == blocks[i].Dimm && blocks[j].Id == blocks[j - 1].Id + 1) j++;
            runs.Add(new BlockRun(j - i == 1 ? $"memory{blocks[i].Id}" : $"memory{blocks[i].Id}-{blocks[j - 1].Id}", blocks[i], blocks[i].Id, j - i));
            i = j;
        }
        if (runs.Count <= MaxRuns) return runs;
        return blocks.GroupBy(b => (b.Zone, b.State)).OrderBy(g => g.Key.Zone, StringComparer.Ordinal).ThenBy(g => g.Key.State)
            .Select(g => new BlockRun($"{g.Count()} blocks", g.First(), g.First().Id, g.Count())).ToList();
    }

    private static double DrawNoNode(SvgWriter w, TopologyView v, double y)
    {
        double h = 44 + CpuRows(v.CpusWithoutNode.Count) * (CpuH + 4) + (v.BlocksWithoutNode.Count > 0 ? 20 + BlockStep * Math.Ceiling(v.BlocksWithoutNode.Count / (double)BlocksPerRow) : 0) + Pad;
        w.Group("no-node", ("cpus", v.CpusWithoutNode.Count), ("blocks", v.BlocksWithoutNode.Count));
        w.Rect(Pad, y, NodeW, h, "fill:#fff4f4;stroke:#c62828;stroke-width:1.5;stroke-dasharray:6,3", title: "cpu_to_node() = NUMA_NO_NODE (-1)");
        w.Text(2 * Pad, y + 18, "no node: cpu_to_node() = -1", 13, weight: "bold", fill: "#b71c1c");
        w.Text(2 * Pad, y + 34, "an allocation on such a CPU's node passes nid -1", 11, fill: "#7f1d1d");
        DrawCpus(w, v.CpusWithoutNode, 2 * Pad, y + 44, NodeW - 2 * Pad);
        if (v.BlocksWithoutNode.Count > 0)
        {
            double by = y + 44 + CpuRows(v.CpusWithoutNode.Count) * (CpuH + 4);
            w.Text(2 * Pad, by + 12, "memory blocks across nodes", 11);
            DrawBlocks(w, v.BlocksWithoutNode, 2 * Pad, by + 18, NodeW - 2 * Pad);
        }
        w.EndGroup();
        return y + h + Gap;
    }

    private static double DrawSlots(SvgWriter w, TopologyView v, double y, double width)
    {
        w.Text(Pad, y + 12, $"DIMM slots ({v.Slots.Count}, {v.Slots.Count(s => s.Dimm is not null)} used)", 12, weight: "bold");
        y += 18;
        const double sw = 138, sh = 38;
        int perRow = Math.Max(1, (int)((width - Pad) / (sw + 6)));
        for (int i = 0; i < v.Slots.Count; i++)
        {
            var s = v.Slots[i];
            double sx = Pad + i % perRow * (sw + 6), sy = y + i / perRow * (sh + 6);
            w.Group("dimm-slot", ("slot", s.Slot), ("dimm", s.Dimm ?? ""));
            w.Rect(sx, sy, sw, sh, s.Dimm is null ? "fill:#fff;stroke:#aaa;stroke-dasharray:4,2" : "fill:#fff8e1;stroke:#b8860b;stroke-width:1.2",
                title: s.Dimm is null ? $"slot {s.Slot}: empty" : $"slot {s.Slot}: {s.Dimm} at 0x{s.Address:x}, {Size((long)s.Size)}, node {s.Node}");
            w.Text(sx + 6, sy + 15, s.Dimm is null ? $"slot {s.Slot}: empty" : $"slot {s.Slot}: {s.Dimm}", 11, weight: s.Dimm is null ? "normal" : "bold", fill: s.Dimm is null ? "#999" : "#5d4300");
            if (s.Dimm is not null) w.Text(sx + 6, sy + 30, $"{Size((long)s.Size)} → node {s.Node}", 10, fill: "#5d4300");
            w.EndGroup();
        }
        return y + Math.Ceiling(v.Slots.Count / (double)perRow) * (sh + 6) + Gap;
    }

    private static double DrawDistances(SvgWriter w, TopologyView v, double y)
    {
        int n = v.Distances.Count;
        bool numbers = n <= 16;
        double cell = numbers ? 26 : 10;
        w.Text(Pad, y + 12, "distances (node_distance)", 12, weight: "bold");
        y += 18;
        double x0 = Pad + (numbers ? 26 : 0);
        if (numbers)
            for (int j = 0; j < n; j++) w.Text(x0 + j * cell + cell / 2, y + 12, v.Nodes[j].Id.ToString(System.Globalization.CultureInfo.InvariantCulture), 10, "middle", "bold");
        double y0 = y + (numbers ? 16 : 0);
        int max = v.Distances.SelectMany(r => r).DefaultIfEmpty(10).Max();
        for (int i = 0; i < n; i++)
        {
            if (numbers) w.Text(Pad + 20, y0 + i * cell + 14, v.Nodes[i].Id.ToString(System.Globalization.CultureInfo.InvariantCulture), 10, "end", "bold");
            for (int j = 0; j < n; j++)
            {
                int d = v.Distances[i][j];
                int shade = 245 - (int)(120.0 * (d - 10) / Math.Max(1, max - 10));
                w.Rect(x0 + j * cell, y0 + i * cell, cell - 1, cell - 1, $"fill:rgb({shade},{shade},255);stroke:#ccd", "distance-cell",
                    $"node {v.Nodes[i].Id} → node {v.Nodes[j].Id}: {d}", ("from", v.Nodes[i].Id), ("to", v.Nodes[j].Id), ("distance", d));
                if (numbers) w.Text(x0 + j * cell + cell / 2 - 0.5, y0 + i * cell + 16, d.ToString(System.Globalization.CultureInfo.InvariantCulture), 10, "middle");
            }
        }
        return y0 + n * cell + Gap;
    }

    /// <summary>A size as the kernel's logs round it: KiB, MiB, GiB or TiB.</summary>
    public static string Size(long bytes) => bytes switch
    {
        >= 1L << 40 when bytes % (1L << 40) == 0 => $"{bytes >> 40} TiB",
        >= 1L << 30 when bytes % (1L << 30) == 0 => $"{bytes >> 30} GiB",
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.0} GiB",
        >= 1L << 20 => $"{bytes >> 20} MiB",
        _ => $"{bytes >> 10} KiB",
    };
}
