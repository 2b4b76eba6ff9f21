namespace Numasim.Firmware;

/// <summary>HmatLBMemoryHierarchy (qapi/machine.json): the memory hierarchy a latency/bandwidth entry describes
/// (the SLLBI structure's Flags bits 3:0).</summary>
public enum HmatHierarchy { Memory, FirstLevel, SecondLevel, ThirdLevel }

/// <summary>HmatLBDataType (qapi/machine.json), the SLLBI structure's Data Type (ACPI 6.3 table 5-146).</summary>
public enum HmatDataType { AccessLatency, ReadLatency, WriteLatency, AccessBandwidth, ReadBandwidth, WriteBandwidth }

/// <summary>HmatCacheAssociativity: none, direct (direct mapped), complex (complex cache indexing).</summary>
public enum HmatCacheAssociativity { None, Direct, Complex }

/// <summary>HmatCacheWritePolicy: none, write-back, write-through.</summary>
public enum HmatCachePolicy { None, WriteBack, WriteThrough }

/// <summary>One -numa hmat-lb: Value is the latency in ns or the bandwidth in bytes/s, as given.</summary>
public sealed record HmatLbSpec(int Initiator, int Target, HmatHierarchy Hierarchy, HmatDataType DataType, ulong Value)
{
    public bool IsLatency => DataType <= HmatDataType.WriteLatency;
}

/// <summary>One -numa hmat-cache: a memory-side cache of node Node at Level (1-3); Line is the line size in bytes.</summary>
public sealed record HmatCacheSpec(int Node, int Level, ulong Size, HmatCacheAssociativity Associativity, HmatCachePolicy Policy, int Line);

/// <summary>
/// What QEMU's <c>-machine hmat=on</c> with <c>-numa node,initiator=</c>, <c>-numa hmat-lb</c> and <c>-numa hmat-cache</c>
/// put in the ACPI HMAT (hw/acpi/hmat.c): each node's initiator, the latency/bandwidth entries in the order given,
/// the memory-side caches. <see cref="AcpiHmatBuilder"/> turns it into the table.
/// </summary>
public sealed record HmatSpec
{
    /// <summary>Node id -> its "Proximity Domain for the Attached Initiator": itself for a node with CPUs, the
    /// initiator= of a CPU-less node (NodeInfo::initiator; QEMU refuses a node without one).</summary>
    public IReadOnlyDictionary<int, int> Initiators { get; init; } = new Dictionary<int, int>();

    /// <summary>Nodes with a CPU (NodeInfo::has_cpu): the initiator list of every SLLBI structure.</summary>
    public IReadOnlyList<int> CpuNodes { get; init; } = [];

    public IReadOnlyList<HmatLbSpec> Lb { get; init; } = [];

    public IReadOnlyList<HmatCacheSpec> Caches { get; init; } = [];

    /// <summary>The first difference from <paramref name="o"/> (records compare lists by reference), or null.</summary>
    public string? Difference(HmatSpec o)
    {
        if (!Initiators.OrderBy(kv => kv.Key).SequenceEqual(o.Initiators.OrderBy(kv => kv.Key))) return "hmat initiators differ";
        if (!CpuNodes.SequenceEqual(o.CpuNodes)) return "hmat CPU nodes differ";
        if (!Lb.SequenceEqual(o.Lb)) return "hmat lb entries differ";
        if (!Caches.SequenceEqual(o.Caches)) return "hmat caches differ";
        return null;
    }
}
