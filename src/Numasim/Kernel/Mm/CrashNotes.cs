using Numasim.Kernel.Numa;
using Numasim.Kernel.Profiles;

namespace Numasim.Kernel.Mm;

/// <summary>
/// Where crash_notes_memory_init() (a subsys_initcall; kernel/kexec_core.c in 6.1, kernel/crash_core.c in 6.12) gets
/// its note_buf_t in every CPU's percpu unit: the boot's percpu allocations before it, replayed in order through the
/// first chunk's dynamic area (<see cref="PercpuChunkMap"/>), with the counts the machine gives the machine-dependent
/// ones. cpuN/crash_notes shows per_cpu_ptr_to_phys() of that area in CPU N's unit.
/// </summary>
internal static class CrashNotes
{
    /// <summary>Models crash_notes_memory_init(): the offset of crash_notes in the dynamic area, or null where the
    /// build's boot allocations are not known (or the area would not fit).</summary>
    public static int? Place(KernelContext k)
    {
        var b = k.Profile.Build;
        if (b.PercpuBootAllocations is not { } steps) return null;
        var map = new PercpuChunkMap((int)b.Percpu.Dynamic);
        foreach (var (start, end) in b.PercpuEarlyUse) map.MarkUsed(start, end);
        foreach (var step in steps)
            switch (step.Kind)
            {
                case PercpuBootStepKind.ZonePagesets: SetupZonePagesets(k, map); break;
                case PercpuBootStepKind.NodeStats: Repeat(map, b.PerCpuNodestat, k.NodeStates[NodeState.Online].Weight()); break;
                case PercpuBootStepKind.MemcgPerNode: Repeat(map, b.LruvecStatsPercpu, k.NodeStates[NodeState.Possible].Weight()); break;
                case PercpuBootStepKind.SecondaryCpus: Repeat(map, b.CallSingleData, k.Cpus.Online.Weight() - 1); break;
                // build_sched_domains() (sched_init_smp()): __sdt_alloc()'s four pointer arrays per topology level and
                // the domain array, all freed by __free_domain_allocs() before the next allocation, so the map is left
                // as it was whatever the number of levels
                case PercpuBootStepKind.SchedDomains: break;
                default: Repeat(map, (step.Size, step.Align), step.Count); break;
            }
        // crash_notes = __alloc_percpu(sizeof(note_buf_t), min(roundup_pow_of_two(sizeof(note_buf_t)), PAGE_SIZE))
        int size = b.CrashNotesBytes;
        int align = (int)Math.Min(System.Numerics.BitOperations.RoundUpToPowerOf2((uint)size), (uint)Page.Size);
        int off = map.Alloc(size, align);
        return off < 0 ? null : off;
    }

    /// <summary>The physical address cpuN/crash_notes shows: CPU N's unit, the static and reserved areas before the
    /// dynamic one, and crash_notes' offset in it (0 where the model has no placement).</summary>
    public static ulong PhysOf(KernelContext k, int cpu)
    {
        if (k.CrashNotesOffset is not { } off || (uint)cpu >= (uint)k.PercpuUnitPhys.Length || k.PercpuUnitPhys[cpu] == 0) return 0;
        var (st, res, _) = k.Profile.Build.Percpu;
        return k.PercpuUnitPhys[cpu] + st + res + (ulong)off;
    }

    /// <summary>Models setup_zone_pageset(), mm/page_alloc.c, for each populated zone (setup_per_cpu_pageset()):
    /// the zone's per_cpu_zonestats, then its per_cpu_pageset.</summary>
    private static void SetupZonePagesets(KernelContext k, PercpuChunkMap map)
    {
        var b = k.Profile.Build;
        foreach (var zone in k.ZoneSpan)
        {
            if (!zone.IsPopulated) continue;
            map.Alloc(b.PerCpuZonestat.Size, b.PerCpuZonestat.Align);
            map.Alloc(b.PerCpuPages.Size, b.PerCpuPages.Align);
        }
    }

    private static void Repeat(PercpuChunkMap map, (int Size, int Align) area, int count)
    {
        for (int i = 0; i < count; i++) map.Alloc(area.Size, area.Align);
    }
}
