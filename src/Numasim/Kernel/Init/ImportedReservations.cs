using Numasim.Kernel.Mm;

namespace Numasim.Kernel.Init;

/// <summary>
/// The boot reservations of an imported machine, as an override of the modelled mechanism. Every machine's boot
/// reservations are first made as the kernel makes them (<see cref="BootReservations"/>: kernel image, page tables,
/// NODE_DATA, struct pages, per-CPU areas, SWIOTLB...). For a machine the model did not see boot, the mechanism
/// stands for a different kernel build on different firmware; where the machine showed what it kept (each node's
/// MemTotal, or which blocks hold reservations: `removable` before 5.7), the observed figures win: each node's
/// modelled reservations are let go just before memblock_free_all() and it reserves its present boot pages minus
/// its MemTotal (plus its offline boot blocks, less the online memory of its DIMMs); without a MemTotal, the
/// mechanism's amount, bounded by the blocks it showed not removable. The figure already has the late frees
/// (initrd, init sections) in it, so they give nothing back (<see cref="Overrides"/>). The pages go where the
/// machine showed them: into the blocks it showed not removable, else top-down as memblock allocates, never into a
/// block it showed offline. No kernel counterpart: it stands for that machine's own memblock_reserve()s.
/// </summary>
internal static class ImportedReservations
{
    private const string Caller = "imported machine";

    /// <summary>Whether the machine brings observed figures (an imported machine that showed MemTotal or removable).</summary>
    public static bool Replace(KernelContext k) => k.Machine.MemTotals.Count > 0 || k.Machine.UnremovableBlocks.Count > 0;

    /// <summary>Whether node <paramref name="nid"/>'s reservations are the machine's observed figures (every node of a
    /// machine that brings them), not the mechanism's.</summary>
    public static bool Overrides(KernelContext k, int nid) => nid >= 0 && Replace(k);

    /// <summary>Reserves each node's share; what cannot be reproduced is noted in <see cref="KernelContext.StateNotes"/>.</summary>
    public static void Reserve(KernelContext k)
    {
        if (!Replace(k)) return;
        long ppb = (long)((k.Machine.MemoryBlockSizeBytes ?? StartKernel.ProbeMemoryBlockSize(k)) >> Page.Shift);
        var offline = new HashSet<long>(k.Machine.OfflineBlocksAtBoot.Select(b => (long)b));
        var unremovable = new SortedSet<long>(k.Machine.UnremovableBlocks.Select(b => (long)b));
        var memTotal = k.Machine.MemTotals.ToDictionary(m => m.Node, m => (long)(m.MemTotalKb / (Page.Size / 1024)));
        foreach (var nid in k.Memblock.Memory.Select(r => r.Nid).Distinct().Order().ToList())
        {
            long present = k.Memblock.PresentIn(0, long.MaxValue, nid);
            long offlinePages = offline.Sum(b => k.Memblock.PresentIn(b * ppb, (b + 1) * ppb, nid));
            var mine = unremovable.Where(b => k.Memblock.PresentIn(b * ppb, (b + 1) * ppb, nid) > 0).ToList();
            long modelled = ReleaseModelled(k, nid);
            bool hasTotal = memTotal.TryGetValue(nid, out long total);
            long want = hasTotal ? present - offlinePages - (total - OnlineDimmPages(k, nid, ppb)) : modelled;
            if (want < 0)
            {
                k.StateNotes.Add($"node {nid}: MemTotal {Page.Kb(total)} kB is more than its boot memory gives ({Page.Kb(present - offlinePages)} kB): nothing reserved");
                want = 0;
            }
            long left = want;
            // one page in each block shown not removable, then the rest top-down in those blocks, then elsewhere
            foreach (var b in mine)
                if (left > 0 && TakeTopDown(k, nid, b * ppb, (b + 1) * ppb, 1, offline, ppb) == 1) left--;
            for (int i = mine.Count - 1; i >= 0 && left > 0; i--)
                left -= TakeTopDown(k, nid, mine[i] * ppb, (mine[i] + 1) * ppb, left, offline, ppb);
            if (!hasTotal) continue; // no MemTotal shown: the blocks shown not removable bound the reservations
            if (left > 0 && mine.Count > 0)
                k.StateNotes.Add($"node {nid}: its reservations ({Page.Kb(want)} kB) do not fit in the blocks it showed not removable; {Page.Kb(left)} kB go elsewhere");
            if (left > 0) left -= TakeTopDown(k, nid, 0, long.MaxValue, left, offline, ppb);
            if (left > 0) k.StateNotes.Add($"node {nid}: {Page.Kb(left)} kB of its reservations found no room outside its offline blocks");
        }
    }

    /// <summary>Lets go of what the mechanism reserved in the node's memory (its items leave the reservation list too);
    /// returns how many pages that was.</summary>
    private static long ReleaseModelled(KernelContext k, int nid)
    {
        var cuts = new List<(ulong Start, ulong End)>();
        foreach (var m in k.Memblock.Memory.Where(m => m.Nid == nid))
        {
            ulong ms = Page.AddrOf(m.Start), me = Page.AddrOf(m.End);
            foreach (var r in k.Memblock.Reserved)
                if (r.End > ms && r.Start < me) cuts.Add((Math.Max(r.Start, ms), Math.Min(r.End, me)));
        }
        long pages = 0;
        foreach (var (s, e) in cuts)
        {
            pages += (long)((e + (ulong)Page.Size - 1) >> Page.Shift) - (long)(s >> Page.Shift);
            k.BootReservations.Free(s, e - s);
        }
        return pages;
    }

    /// <summary>Pages of the node's cold-plugged DIMMs that come online at boot (they count in MemTotal, unreserved).</summary>
    private static long OnlineDimmPages(KernelContext k, int nid, long ppb)
    {
        var states = k.Machine.BlockStates.ToDictionary(b => (long)b.Block, b => b.State);
        bool autoOnline = k.Machine.MemhpDefaultState is not (null or "offline");
        long pages = 0;
        foreach (var d in k.Firmware.ColdPlugged.Where(d => d.Node == nid))
            for (long pfn = Page.PfnOf(d.Address); pfn < Page.PfnOf(d.End); pfn += ppb)
                if (states.TryGetValue(pfn / ppb, out var st) ? st != "offline" : autoOnline) pages += ppb;
        return pages;
    }

    /// <summary>Reserves up to <paramref name="pages"/> free pages of the node within [start, end), highest first,
    /// skipping offline blocks; returns how many.</summary>
    private static long TakeTopDown(KernelContext k, int nid, long start, long end, long pages, HashSet<long> offline, long ppb)
    {
        long taken = 0;
        var free = k.Memblock.FreeRanges().Where(r => r.Nid == nid && r.End > start && r.Start < end).ToList();
        for (int i = free.Count - 1; i >= 0 && taken < pages; i--)
        {
            long hi = Math.Min(free[i].End, end), lo = Math.Max(free[i].Start, start);
            while (hi > lo && taken < pages)
            {
                long block = (hi - 1) / ppb;
                long blockStart = Math.Max(lo, block * ppb);
                if (offline.Contains(block)) { hi = blockStart; continue; }
                long n = Math.Min(pages - taken, hi - blockStart);
                k.BootReservations.Reserve(Caller, $"node {nid}: the machine's own reservations", Page.AddrOf(hi - n), (ulong)n << Page.Shift);
                taken += n;
                hi -= n;
            }
        }
        return taken;
    }
}
