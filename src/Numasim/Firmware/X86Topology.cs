using System.Numerics;

namespace Numasim.Firmware;

/// <summary>Topology ids of one x86 CPU (package = socket).</summary>
public readonly record struct X86TopoIds(int SocketId, int DieId, int CoreId, int ThreadId);

/// <summary>x86 CPU index ↔ topology ids ↔ APIC id. Models include/hw/i386/topology.h (7.2) and
/// x86_possible_cpu_arch_ids() / x86_get_default_cpu_node_id(), hw/i386/x86.c.</summary>
public static class X86Topology
{
    /// <summary>Bits needed to hold ids 0..count-1. Models apicid_bitwidth_for_count().</summary>
    public static int ApicIdBitWidthForCount(int count) =>
        count <= 1 ? 0 : 32 - BitOperations.LeadingZeroCount((uint)(count - 1));

    /// <summary>The APIC id bits below the socket id (thread, core and die fields). Models apicid_pkg_offset().</summary>
    public static int ApicIdPkgOffset(SmpSpec smp) =>
        ApicIdBitWidthForCount(smp.Threads) + ApicIdBitWidthForCount(smp.Cores) + ApicIdBitWidthForCount(smp.Dies);

    /// <summary>Topology ids of CPU index <paramref name="index"/>. Models x86_topo_ids_from_idx().</summary>
    public static X86TopoIds TopoIdsFromIndex(SmpSpec smp, int index) => new(
        index / (smp.Dies * smp.Cores * smp.Threads),
        index / (smp.Cores * smp.Threads) % smp.Dies,
        index / smp.Threads % smp.Cores,
        index % smp.Threads);

    /// <summary>The APIC id: thread bits, then core, then die, socket on top. Models apicid_from_topo_ids().</summary>
    public static uint ApicIdFromTopoIds(SmpSpec smp, X86TopoIds ids)
    {
        int smtWidth = ApicIdBitWidthForCount(smp.Threads);
        int coreWidth = ApicIdBitWidthForCount(smp.Cores);
        return ((uint)ids.SocketId << ApicIdPkgOffset(smp))
             | ((uint)ids.DieId << (smtWidth + coreWidth))
             | ((uint)ids.CoreId << smtWidth)
             | (uint)ids.ThreadId;
    }

    /// <summary>The APIC id of CPU index <paramref name="index"/>. Models x86_cpu_apic_id_from_index().</summary>
    public static uint ApicIdFromIndex(SmpSpec smp, int index) => ApicIdFromTopoIds(smp, TopoIdsFromIndex(smp, index));

    /// <summary>CPU index of topology ids, or -1 when an id is out of range.</summary>
    public static int IndexFromTopoIds(SmpSpec smp, int socket, int die, int core, int thread)
    {
        if ((uint)socket >= (uint)smp.Sockets || (uint)die >= (uint)smp.Dies || (uint)core >= (uint)smp.Cores || (uint)thread >= (uint)smp.Threads)
            return -1;
        return ((socket * smp.Dies + die) * smp.Cores + core) * smp.Threads + thread;
    }

    /// <summary>The node QEMU gives a CPU when no CPU was mapped at all: socket % nodes. Models x86_get_default_cpu_node_id().</summary>
    public static int DefaultNodeIndex(SmpSpec smp, int index, int nodeCount) => TopoIdsFromIndex(smp, index).SocketId % nodeCount;

    /// <summary>Every possible CPU in index order with its APIC id; present = index &lt; cpus.</summary>
    public static List<CpuSlotSpec> PossibleCpus(SmpSpec smp, Func<int, int> nodeOfIndex)
    {
        var list = new List<CpuSlotSpec>(smp.MaxCpus);
        for (int i = 0; i < smp.MaxCpus; i++)
        {
            var ids = TopoIdsFromIndex(smp, i);
            list.Add(new CpuSlotSpec(i, ids.SocketId, ids.DieId, ids.CoreId, ids.ThreadId, ApicIdFromTopoIds(smp, ids), nodeOfIndex(i), i < smp.Cpus));
        }
        return list;
    }

    /// <summary>The possible CPU with these topology ids (for CPU device_add), or null when there is none.</summary>
    public static CpuSlotSpec? FindSlot(MachineSpec spec, int socket, int die, int core, int thread)
    {
        int idx = IndexFromTopoIds(spec.Smp, socket, die, core, thread);
        if (idx >= 0 && idx < spec.CpuSlots.Count)
        {
            var s = spec.CpuSlots[idx];
            if (s.SocketId == socket && s.DieId == die && s.CoreId == core && s.ThreadId == thread) return s;
        }
        foreach (var s in spec.CpuSlots)
            if (s.SocketId == socket && s.DieId == die && s.CoreId == core && s.ThreadId == thread) return s;
        return null;
    }
}
