using System.Numerics;
using Numasim.Kernel.Numa;

namespace Numasim.Kernel.Mm;

/// <summary>
/// mm/percpu.c pcpu_embed_first_chunk() as x86's setup_per_cpu_areas() calls it (atom PMD_SIZE, groups by
/// node distance): the allocation info, one memblock block per group on the group's node, each unit's unused
/// tail freed, then pcpu_setup_first_chunk()'s bookkeeping.
/// </summary>
internal static class PercpuFirstChunk
{
    private const ulong Atom = 2UL << 20, MinUnitSize = 32UL << 10, MaxDmaAddress = 16UL << 20;

    /// <summary>Models pcpu_embed_first_chunk(); returns (pages per unit, units).</summary>
    public static (long UnitPages, int Units) Embed(KernelContext k)
    {
        var r = k.BootReservations;
        var b = k.Profile.Build;
        var (st, res, dyn) = b.Percpu;
        ulong sizeSum = PageAlign(st + res + dyn);
        // pcpu_build_alloc_info(): group CPUs of one node (distance LOCAL_DISTANCE), in order of their first CPU
        var groupOfNode = new Dictionary<int, int>();
        var groups = new List<List<int>>();
        foreach (var cpu in k.Cpus.Possible.Bits())
        {
            int nid = k.Cpus.CpuToNode(cpu);
            if (!groupOfNode.TryGetValue(nid, out int g)) { groupOfNode[nid] = g = groups.Count; groups.Add([]); }
            groups[g].Add(cpu);
        }
        ulong minUnit = Math.Max(sizeSum, MinUnitSize);
        ulong allocSize = (minUnit + Atom - 1) / Atom * Atom;
        int upa = (int)(allocSize / minUnit);
        while (allocSize % (ulong)upa != 0 || (allocSize / (ulong)upa) % (ulong)Page.Size != 0) upa--;
        int possible = k.Cpus.Possible.Weight(), bestUpa = 1, lastAllocs = int.MaxValue;
        for (int u = upa; u > 0; u--)
        {
            if (allocSize % (ulong)u != 0 || (allocSize / (ulong)u) % (ulong)Page.Size != 0) continue;
            int allocs = 0, wasted = 0;
            foreach (var g in groups) { int a = (g.Count + u - 1) / u; allocs += a; wasted += a * u - g.Count; }
            if (wasted > possible / 3) continue;
            if (allocs > lastAllocs) break;
            lastAllocs = allocs;
            bestUpa = u;
        }
        ulong unitSize = allocSize / (ulong)bestUpa;
        int units = groups.Sum(g => (g.Count + bestUpa - 1) / bestUpa * bestUpa);
        ulong aiSize = PageAlign(64 + 24 * (ulong)groups.Count + 4 * (ulong)units);
        ulong ai = r.Alloc("pcpu_build_alloc_info", "percpu allocation info (freed)", aiSize, (ulong)Page.Size);
        ulong areas = r.Alloc("pcpu_embed_first_chunk", "percpu group areas (freed)", PageAlign(8 * (ulong)groups.Count), 64);
        var bases = new List<ulong>();
        var unitPhys = new ulong[k.Cpus.NrCpuIds];
        foreach (var g in groups)
        {
            int nid = k.Cpus.CpuToNode(g[0]);
            int nodeUnits = (g.Count + bestUpa - 1) / bestUpa * bestUpa;
            bool usable = nid >= 0 && k.NodeStates.Has(nid, NodeState.Online) && k.NodeDataOf(nid) is not null;
            // the block is memblock's; the items are the units kept once the unused parts are freed below
            bases.Add(k.Memblock.AllocTryNid((ulong)nodeUnits * unitSize, Atom, MaxDmaAddress, ulong.MaxValue, usable ? nid : -1));
        }
        for (int gi = 0; gi < groups.Count; gi++)
        {
            if (bases[gi] == 0) continue;
            int nodeUnits = (groups[gi].Count + bestUpa - 1) / bestUpa * bestUpa;
            int nid = k.Cpus.CpuToNode(groups[gi][0]);
            for (int u = 0; u < nodeUnits; u++)
            {
                ulong p = bases[gi] + (ulong)u * unitSize;
                if (u >= groups[gi].Count) { k.Memblock.PhysFree(p, unitSize); continue; }
                if (unitSize > sizeSum) k.Memblock.PhysFree(p + sizeSum, unitSize - sizeSum);
                r.Record("pcpu_fc_alloc", $"percpu unit of CPU {groups[gi][u]} (node {nid} group)", p, sizeSum);
                unitPhys[groups[gi][u]] = p;
            }
        }
        k.PercpuUnitPhys = unitPhys;
        k.Log.Printk($"percpu: Embedded {sizeSum >> Page.Shift} pages/cpu s{st} r{res} d{dyn} u{unitSize}");
        SetupFirstChunk(k, groups.Count, unitSize, st, res, dyn);
        r.Free(ai, aiSize);
        r.Free(areas, PageAlign(8 * (ulong)groups.Count));
        return ((long)(sizeSum >> Page.Shift), units);
    }

    /// <summary>Models pcpu_setup_first_chunk()'s memblock allocations: group offsets and sizes, the unit map and
    /// offsets (per nr_cpu_ids), the chunk slot lists, and the reserved and dynamic chunks of pcpu_alloc_first_chunk().</summary>
    private static void SetupFirstChunk(KernelContext k, int nrGroups, ulong unitSize, ulong st, ulong res, ulong dyn)
    {
        var r = k.BootReservations;
        int cpuIds = k.Cpus.NrCpuIds;
        r.Alloc("pcpu_setup_first_chunk", "group offsets", 8 * (ulong)nrGroups, 64);
        r.Alloc("pcpu_setup_first_chunk", "group sizes", 8 * (ulong)nrGroups, 64);
        r.Alloc("pcpu_setup_first_chunk", "unit map", 4 * (ulong)cpuIds, 64);
        r.Alloc("pcpu_setup_first_chunk", "unit offsets", 8 * (ulong)cpuIds, 64);
        int slots = 64 - BitOperations.LeadingZeroCount(unitSize) + 1; // __pcpu_size_to_slot(unit) + sidelined, depopulate, +1
        r.Alloc("pcpu_setup_first_chunk", "chunk slot lists", 16 * (ulong)slots, 64);
        if (res > 0) AllocFirstChunk(k, st, res);
        AllocFirstChunk(k, st + res, dyn);
    }

    /// <summary>Models pcpu_alloc_first_chunk(): the chunk, its allocation and boundary bitmaps, its block metadata.</summary>
    private static void AllocFirstChunk(KernelContext k, ulong offset, ulong mapSize)
    {
        var r = k.BootReservations;
        ulong startOffset = offset % (ulong)Page.Size;
        ulong region = PageAlign(startOffset + mapSize);
        ulong pages = region >> Page.Shift;
        ulong bits = region / 4; // PCPU_MIN_ALLOC_SIZE
        r.Alloc("pcpu_alloc_first_chunk", "percpu chunk", k.Profile.Build.PcpuChunkBytes + 8 * ((pages + 63) / 64), 64);
        r.Alloc("pcpu_alloc_first_chunk", "chunk alloc_map", 8 * ((bits + 63) / 64), 64);
        r.Alloc("pcpu_alloc_first_chunk", "chunk bound_map", 8 * ((bits + 1 + 63) / 64), 64);
        r.Alloc("pcpu_alloc_first_chunk", "chunk md_blocks", 32 * pages, 64);
    }

    private static ulong PageAlign(ulong v) => (v + (ulong)Page.Size - 1) & ~(ulong)(Page.Size - 1);
}
