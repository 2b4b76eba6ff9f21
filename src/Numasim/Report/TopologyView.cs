using Numasim.Kernel.Drivers;
using Numasim.Kernel.Numa;

namespace Numasim.Report;

/// <summary>What a CPU is in the picture: online, present but offline, or only possible (an empty socket).</summary>
public enum CpuShown : byte { Online, Offline, Absent }

/// <summary>A memory block as drawn: its id, zone (null: offline, or online across zones) and state.</summary>
public readonly record struct BlockShown(long Id, string? Zone, MemoryBlockState State, string? Dimm);

/// <summary>A CPU as drawn: its number and state.</summary>
public readonly record struct CpuView(int Cpu, CpuShown State);

/// <summary>A possible node as drawn: its states, CPUs (by cpu_to_node), memory blocks and managed memory.</summary>
public sealed record NodeView(int Id, bool Online, bool HasMemory, bool HasNormalMemory, bool HasCpu,
    IReadOnlyList<CpuView> Cpus, IReadOnlyList<BlockShown> Blocks, long PresentPages, long ManagedPages, long FreePages);

/// <summary>A DIMM slot: empty, or the DIMM in it.</summary>
public sealed record SlotView(int Slot, string? Dimm, ulong Address, ulong Size, int Node);

/// <summary>
/// A picture's worth of machine state, read through the facade at one moment (after boot, after a step): the
/// possible nodes with their CPUs and memory blocks, the CPUs whose cpu_to_node() is NUMA_NO_NODE, the DIMM
/// slots, the distance table. Immutable: a report keeps one per step.
/// </summary>
public sealed record TopologyView(
    string Profile,
    IReadOnlyList<NodeView> Nodes,
    IReadOnlyList<CpuView> CpusWithoutNode,
    IReadOnlyList<BlockShown> BlocksWithoutNode,
    IReadOnlyList<SlotView> Slots,
    IReadOnlyList<IReadOnlyList<int>> Distances,
    long BlockBytes,
    bool Oopsed)
{
    public int BlockCount => Nodes.Sum(n => n.Blocks.Count) + BlocksWithoutNode.Count;

    /// <summary>Reads the state of <paramref name="m"/>.</summary>
    public static TopologyView Of(Machine m)
    {
        var k = m.Kernel;
        using var pause = k.Trace.Pause();
        var byNode = new SortedDictionary<int, (List<CpuView> Cpus, List<BlockShown> Blocks)>();
        var possibleNodes = k.NodeStates[NodeState.Possible].Bits().ToList();
        foreach (var nid in possibleNodes) byNode[nid] = ([], []);
        var noNodeCpus = new List<CpuView>();
        foreach (var cpu in k.Cpus.Possible.Bits())
        {
            var view = new CpuView(cpu, k.Cpus.Online[cpu] ? CpuShown.Online : k.Cpus.Present[cpu] ? CpuShown.Offline : CpuShown.Absent);
            int nid = k.Cpus.CpuToNode(cpu);
            if (nid >= 0 && byNode.TryGetValue(nid, out var n)) n.Cpus.Add(view);
            else noNodeCpus.Add(view);
        }
        var noNodeBlocks = new List<BlockShown>();
        foreach (var mb in k.AllMemoryBlocks)
        {
            var view = new BlockShown(mb.Id, mb.State == MemoryBlockState.Online ? mb.Zone?.Name : null, mb.State, mb.DeviceId);
            if (mb.Nid >= 0 && byNode.TryGetValue(mb.Nid, out var n)) n.Blocks.Add(view);
            else noNodeBlocks.Add(view);
        }
        var nodes = byNode.Select(kv =>
        {
            var p = k.NodeDataOf(kv.Key);
            return new NodeView(kv.Key, k.NodeStates.Has(kv.Key, NodeState.Online), k.NodeStates.Has(kv.Key, NodeState.Memory),
                k.NodeStates.Has(kv.Key, NodeState.NormalMemory), k.NodeStates.Has(kv.Key, NodeState.Cpu),
                kv.Value.Cpus, kv.Value.Blocks, p?.NodePresentPages ?? 0, p?.Zones.Sum(z => z.ManagedPages) ?? 0, p?.Zones.Sum(z => z.FreePages) ?? 0);
        }).ToList();
        var dm = m.Qmp.DeviceMemory;
        var slots = new List<SlotView>();
        for (int s = 0; s < dm.Slots; s++)
        {
            var d = dm.Dimms.FirstOrDefault(x => x.Slot == s);
            slots.Add(d is null ? new SlotView(s, null, 0, 0, -1) : new SlotView(s, d.Id, d.Address, d.Size, d.Node));
        }
        // The distance table is drawn only where it is readable (a summary covers bigger machines).
        var distances = possibleNodes.Count <= TopologySvg.MaxDrawnNodes
            ? possibleNodes.Select(a => (IReadOnlyList<int>)possibleNodes.Select(b => k.Distance.Get(a, b)).ToList()).ToList()
            : [];
        return new TopologyView(m.Profile.Name, nodes, noNodeCpus, noNodeBlocks, slots, distances, (long)k.MemoryBlockSize, m.Oops is not null);
    }
}
