using System.Globalization;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Arch;

/// <summary>What acpi_numa_init() learnt: proximity domain to node mapping, APIC id to node, memory blocks per node.</summary>
internal sealed class SratResult
{
    public readonly Dictionary<int, int> PxmToNode = [];
    public readonly Dictionary<uint, int> ApicToNode = [];
    /// <summary>numa_meminfo blocks in SRAT order: [start, end) bytes, node, hotpluggable.</summary>
    public readonly List<(ulong Start, ulong End, int Nid, bool Hotplug)> MemBlks = [];
    /// <summary>numa_nodes_parsed.</summary>
    public readonly Bitmap NodesParsed = new(NumaConstants.MaxNumNodes);
    /// <summary>max_possible_pfn raised by hotpluggable ranges.</summary>
    public long MaxPossiblePfn;
}

/// <summary>drivers/acpi/numa/srat.c and arch/x86/mm/srat.c: parsing SRAT and SLIT.</summary>
internal static class Srat
{
    /// <summary>Models acpi_numa_init(): processor entries first, then memory entries, then SLIT.</summary>
    public static SratResult AcpiNumaInit(KernelContext k, long maxPfn)
    {
        var r = new SratResult { MaxPossiblePfn = maxPfn };
        var fw = k.Firmware;
        foreach (var c in fw.SratCpus)
        {
            int node = AcpiMapPxmToNode(k, r, c.Pxm);
            r.ApicToNode[c.ApicId] = node;
            r.NodesParsed.Set(node);
            k.Log.Printk(string.Create(CultureInfo.InvariantCulture, $"SRAT: PXM {c.Pxm} -> APIC 0x{c.ApicId:x2} -> Node {node}"));
        }
        foreach (var pxm in fw.SratGenericInitiators)
        {
            // acpi_parse_gi_affinity(): the node is parsed and an initiator
            int node = AcpiMapPxmToNode(k, r, pxm);
            r.NodesParsed.Set(node);
            k.NodeStates.Set(node, NodeState.GenericInitiator);
            k.Log.Printk($"SRAT: PXM {pxm} -> Generic Initiator -> Node {node}");
        }
        foreach (var m in fw.SratMemory)
        {
            int node = AcpiMapPxmToNode(k, r, m.Pxm);
            r.MemBlks.Add((m.Base, m.End, node, m.Hotpluggable));
            r.NodesParsed.Set(node);
            k.Log.Printk(string.Create(CultureInfo.InvariantCulture,
                $"ACPI: SRAT: Node {node} PXM {m.Pxm} [mem {Hex010(m.Base)}-{Hex010(m.End - 1)}]{(m.Hotpluggable ? " hotplug" : "")}"));
            if (m.Hotpluggable)
                r.MaxPossiblePfn = Math.Max(r.MaxPossiblePfn, (long)(m.End >> 12));
        }
        return r;
    }

    /// <summary>Models acpi_map_pxm_to_node(): a new PXM gets the first unused node id. An imported machine with
    /// MachineSpec.FirmwareNodeIds keeps the PXM as node id (as architectures that take node ids from firmware do).</summary>
    private static int AcpiMapPxmToNode(KernelContext k, SratResult r, int pxm)
    {
        if (r.PxmToNode.TryGetValue(pxm, out var n)) return n;
        if (k.Machine.FirmwareNodeIds) return r.PxmToNode[pxm] = pxm;
        // first_unset_node(nodes_found_map): nodes are numbered in the order PXMs are first seen.
        int node = r.PxmToNode.Count;
        r.PxmToNode[pxm] = node;
        return node;
    }

    /// <summary>"%#010Lx" as the kernel prints physical addresses.</summary>
    public static string Hex010(ulong v) => "0x" + v.ToString("x8", CultureInfo.InvariantCulture);
}
