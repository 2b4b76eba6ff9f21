namespace Numasim.Firmware;

/// <summary>Memory Proximity Domain Attributes Structure (ACPI 6.3 table 5-145): Flags bit 0 "initiator valid".</summary>
public readonly record struct HmatProximity(ushort Flags, uint ProcessorPd, uint MemoryPd);

/// <summary>System Locality Latency and Bandwidth Information Structure (table 5-146): Flags bits 3:0 the memory
/// hierarchy, the data type, the initiator and target domain lists and the entries, row-major per initiator.</summary>
public sealed record HmatLocality(byte Flags, byte DataType, IReadOnlyList<uint> Initiators, IReadOnlyList<uint> Targets, ulong EntryBaseUnit,
    IReadOnlyList<ushort> Entries);

/// <summary>Memory Side Cache Information Structure (table 5-147): Attributes bits 3:0 total levels, 7:4 level,
/// 11:8 associativity, 15:12 write policy, 31:16 line size.</summary>
public readonly record struct HmatCacheInfo(uint MemoryPd, ulong Size, uint Attributes);

/// <summary>The HMAT as QEMU lays it out: revision 2, the proximity structures, then the localities, then the caches.</summary>
public sealed record HmatTable(byte Revision, IReadOnlyList<HmatProximity> Proximity, IReadOnlyList<HmatLocality> Localities, IReadOnlyList<HmatCacheInfo> Caches);

/// <summary>
/// One HMAT_LB_Info of QEMU (hw/core/numa.c): the entries of one hierarchy and data type, with the common base the
/// entries are compressed against. <see cref="Add"/> models the compression and checks of parse_numa_hmat_lb().
/// </summary>
public sealed class HmatLbInfo
{
    private readonly List<HmatLbSpec> _list = [];

    /// <summary>hmat_lb->base: ns for latency, bytes/s for bandwidth.</summary>
    public ulong Base { get; private set; }

    /// <summary>hmat_lb->range_bitmap: the largest compressed latency, or the OR of the bandwidths.</summary>
    public ulong RangeBitmap { get; private set; }

    public IReadOnlyList<HmatLbSpec> List => _list;

    /// <summary>Models the latency/bandwidth part of parse_numa_hmat_lb(): QEMU's error, or null when added.</summary>
    public string? Add(HmatLbSpec e)
    {
        foreach (var t in _list)
            if (t.Initiator == e.Initiator && t.Target == e.Target)
                return $"Duplicate configuration of the {(e.IsLatency ? "latency" : "bandwidth")} for initiator={e.Initiator} and target={e.Target}";
        if (e.IsLatency)
        {
            Base = Base != 0 ? Base : ulong.MaxValue;
            if (e.Value != 0)
            {
                ulong maxEntry = e.Value, tempBase = 1;
                while (maxEntry % 10 == 0) { maxEntry /= 10; tempBase *= 10; }
                tempBase = Math.Min(Base, tempBase);
                // QEMU divides by the base before this entry updates it (the previous entries' base).
                maxEntry = Math.Max(RangeBitmap, e.Value / Base);
                if (maxEntry >= ushort.MaxValue)
                    return $"Latency {e.Value} between initiator={e.Initiator} and target={e.Target} should not differ from previously entered min or max values on more than {ushort.MaxValue - 1}";
                Base = tempBase;
                RangeBitmap = maxEntry;
            }
        }
        else
        {
            if (e.Value % QemuSize.MiB != 0)
                return $"Bandwidth {e.Value} between initiator={e.Initiator} and target={e.Target} should be 1MB aligned";
            Base = Base != 0 ? Base : 1;
            if (e.Value != 0)
            {
                ulong bitmap = RangeBitmap | e.Value;
                int firstBit = System.Numerics.BitOperations.TrailingZeroCount(bitmap);
                ulong tempBase = 1UL << firstBit;
                ulong maxEntry = e.Value / tempBase;
                int lastBit = 64 - System.Numerics.BitOperations.LeadingZeroCount(bitmap);
                if (lastBit - firstBit > 16 || maxEntry >= ushort.MaxValue)
                    return $"Bandwidth {e.Value} between initiator={e.Initiator} and target={e.Target} should not differ from previously entered values on more than {ushort.MaxValue - 1}";
                Base = tempBase;
                RangeBitmap = bitmap;
            }
        }
        _list.Add(e);
        return null;
    }
}

/// <summary>Builds the HMAT from a machine's <see cref="HmatSpec"/>. Models hmat_build_table_structs(), build_hmat_mpda(),
/// build_hmat_lb() and build_hmat_cache(), hw/acpi/hmat.c (QEMU 7.2).</summary>
public static class AcpiHmatBuilder
{
    /// <summary>HMAT_LB_LEVELS: memory plus three cache levels.</summary>
    public const int Levels = 4;

    /// <summary>The table for a machine with <paramref name="nodeCount"/> nodes, or null without hmat=on.</summary>
    public static HmatTable? Build(MachineSpec spec)
    {
        if (spec.Hmat is not { } h) return null;
        int nodes = spec.Nodes.Count;
        var prox = new List<HmatProximity>(nodes);
        for (int i = 0; i < nodes; i++)
        {
            bool valid = h.Initiators.TryGetValue(i, out var init);
            prox.Add(new HmatProximity((ushort)(valid ? 1 : 0), valid ? (uint)init : QemuCommandLine.MaxNodes, (uint)i));
        }
        var initiators = h.CpuNodes.Order().Select(n => (uint)n).ToArray();
        var targets = Enumerable.Range(0, nodes).Select(n => (uint)n).ToArray();
        var infos = new Dictionary<(HmatHierarchy, HmatDataType), HmatLbInfo>();
        foreach (var e in h.Lb)
        {
            if (!infos.TryGetValue((e.Hierarchy, e.DataType), out var info)) infos[(e.Hierarchy, e.DataType)] = info = new HmatLbInfo();
            info.Add(e);
        }
        var localities = new List<HmatLocality>();
        foreach (var hier in Enum.GetValues<HmatHierarchy>())
            foreach (var type in Enum.GetValues<HmatDataType>())
            {
                if (!infos.TryGetValue((hier, type), out var info) || info.List.Count == 0) continue;
                // Entry Base Unit: ns -> ps for latency, bytes -> MB for bandwidth, in a uint32_t.
                uint baseUnit = type <= HmatDataType.WriteLatency ? unchecked((uint)(info.Base * 1000)) : (uint)(info.Base / QemuSize.MiB);
                var entries = new ushort[initiators.Length * nodes];
                foreach (var e in info.List)
                {
                    int row = Array.IndexOf(initiators, (uint)e.Initiator);
                    entries[Math.Max(row, 0) * nodes + e.Target] = unchecked((ushort)(e.Value / info.Base));
                }
                localities.Add(new HmatLocality((byte)hier, (byte)type, initiators, targets, baseUnit, entries));
            }
        var caches = new List<HmatCacheInfo>();
        for (int i = 0; i < nodes; i++)
        {
            var levels = h.Caches.Where(c => c.Node == i).ToList();
            foreach (var c in levels.OrderBy(c => c.Level).Where(c => c.Level <= levels.Count))
            {
                uint attrs = (uint)levels.Count | (uint)c.Level << 4 | (uint)c.Associativity << 8 | (uint)c.Policy << 12 | (uint)c.Line << 16;
                caches.Add(new HmatCacheInfo((uint)i, c.Size, attrs));
            }
        }
        return new HmatTable(2, prox, localities, caches);
    }
}
