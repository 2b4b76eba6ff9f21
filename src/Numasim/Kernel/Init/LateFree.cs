using System.Globalization;
using Numasim.Kernel.Mm;

namespace Numasim.Kernel.Init;

/// <summary>
/// What boot gives back after memblock_free_all(): the "Memory:" line (mm_init()'s mem_init_print_info()), and the
/// reserved pages freed late into their zones, which is what MemTotal gains over the memblock accounting: the
/// initrd once unpacked (free_initrd_mem()), and the parts of the kernel image not needed after boot (SMP
/// alternatives, unused decrypted bss, initmem, the text/rodata and rodata/data gaps).
/// </summary>
internal static class LateFree
{
    /// <summary>Models mem_init_print_info(). On 6.1 (DEFERRED_STRUCT_PAGE_INIT) "available" is what mem_init() has
    /// freed by then: each node's free pages below its first_deferred_pfn, less the page tables
    /// preallocate_vmalloc_pages() took; 6.12 prints it after the deferred pages are initialised and the boot's early
    /// allocations are made, where the model shows its own free count.</summary>
    public static void MemInitPrintInfo(KernelContext k)
    {
        var b = k.Profile.Build;
        long physpages = k.AllZones().Sum(z => z.PresentPages);
        long available;
        if (!b.MemoryLineAfterDeferredInit)
        {
            available = -b.VmallocPreallocPages;
            var deferredOf = new Dictionary<int, long>();
            foreach (var r in k.Memblock.FreeRanges())
            {
                if (!deferredOf.TryGetValue(r.Nid, out long deferred)) deferredOf[r.Nid] = deferred = FirstDeferredPfn(k, r.Nid);
                available += Math.Max(0, Math.Min(r.End, deferred) - r.Start);
            }
        }
        else available = k.AllZones().Sum(z => z.FreePages);
        var (code, rw, ro, init, bss) = b.ImageSectionsKb;
        k.Log.Printk(string.Create(CultureInfo.InvariantCulture,
            $"Memory: {Page.Kb(available)}K/{Page.Kb(physpages)}K available ({code}K kernel code, {rw}K rwdata, {ro}K rodata, {init}K init, {bss}K bss, {Page.Kb(k.ReservedAtFreeAll)}K reserved, 0K cma-reserved)"));
    }

    /// <summary>Models defer_init(): in a node's last zone, struct pages past the first PAGES_PER_SECTION present ones
    /// are initialised later, from the next section boundary on; long.MaxValue when nothing is deferred.</summary>
    private static long FirstDeferredPfn(KernelContext k, int nid)
    {
        var pgdat = k.NodeDataOf(nid);
        if (pgdat is null) return long.MaxValue;
        Zone? last = null;
        foreach (var z in pgdat.Zones)
            if (z.IsPopulated && z.ZoneEndPfn == pgdat.NodeEndPfn) last = z;
        if (last is null) return long.MaxValue;
        long seen = 0;
        foreach (var m in k.Memblock.Memory)
        {
            if (m.Nid != nid) continue;
            long s = Math.Max(m.Start, last.ZoneStartPfn), e = Math.Min(m.End, last.ZoneEndPfn);
            if (s >= e) continue;
            // the first pfn p in [s, e) with seen + (p - s) >= PAGES_PER_SECTION that is section-aligned
            long need = Math.Max(s, s + (Page.PagesPerSection - seen));
            long p = (need + Page.PagesPerSection - 1) / Page.PagesPerSection * Page.PagesPerSection;
            if (p < e) return p;
            seen += e - s;
        }
        return long.MaxValue;
    }

    /// <summary>Models free_initrd_mem(), alternatives_smp_module_del()'s free of __smp_locks, mem_encrypt_free_decrypted_mem(),
    /// free_initmem() and mark_rodata_ro()'s free of the gaps: each page goes to its zone's buddy and into MemTotal.</summary>
    public static void FreeImageAndInitrd(KernelContext k)
    {
        var frees = k.Profile.Build.ImageFrees;
        for (int i = 0; i < frees.Count; i++)
        {
            if (i == 1) SwiotlbAndInitrd(k);
            if (frees[i].SmpLocks) continue; // freed earlier, by AlternativeInstructions()
            Free(k, frees[i].What, k.KernelPhysAddr + frees[i].Offset, frees[i].Size);
        }
        if (frees.Count < 2) SwiotlbAndInitrd(k);
    }

    /// <summary>Models alternative_instructions()'s free of __smp_locks ("Freeing SMP alternatives memory"): it runs in
    /// start_kernel() (arch_cpu_finalize_init()), after mem_init() and before any initcall, so the pages are managed
    /// when init_per_zone_wmark_min() and khugepaged size the watermarks.</summary>
    public static void AlternativeInstructions(KernelContext k)
    {
        if (!FreesSmpLocks(k)) return;
        foreach (var f in k.Profile.Build.ImageFrees)
            if (f.SmpLocks) Free(k, f.What, k.KernelPhysAddr + f.Offset, f.Size);
    }

    /// <summary>Models alternative_instructions()'s choice, arch/x86/kernel/alternative.c: with one present CPU (or
    /// maxcpus=0/1) and no noreplace-smp it patches the kernel for UP and keeps __smp_locks to patch it back when a CPU
    /// comes; it frees them otherwise, or when no other CPU is possible.</summary>
    private static bool FreesSmpLocks(KernelContext k)
    {
        bool uniprocPatched = !k.Boot.NoReplaceSmp && (k.Cpus.Present.Weight() == 1 || k.Boot.SetupMaxCpus <= 1);
        return !uniprocPatched || k.Cpus.Possible.Weight() == 1;
    }

    /// <summary>swiotlb_print_info() from the late swiotlb init, then populate_rootfs() frees the initrd.</summary>
    private static void SwiotlbAndInitrd(KernelContext k)
    {
        if (k.SwiotlbPool != 0)
        {
            ulong end = k.SwiotlbPool + k.Profile.Build.SwiotlbBytes;
            k.Log.Printk($"software IO TLB: mapped [mem {Arch.X86Numa.Hex018(k.SwiotlbPool)}-{Arch.X86Numa.Hex018(end)}] ({k.Profile.Build.SwiotlbBytes >> 20}MB)");
        }
        if (k.Initrd is { } rd) Free(k, "initrd memory", rd.Start, rd.End - rd.Start);
    }

    private static void Free(KernelContext k, string what, ulong start, ulong size)
    {
        long s = (long)(start >> Page.Shift), e = (long)((start + size) >> Page.Shift);
        k.Log.Printk($"Freeing {what}: {Page.Kb(e - s)}K");
        int nid = k.Memblock.NidOf(start);
        var pgdat = k.NodeDataOf(nid);
        if (pgdat is null || ImportedReservations.Overrides(k, nid)) return; // the observed MemTotal has it already
        foreach (var z in pgdat.Zones)
        {
            long zs = Math.Max(s, z.ZoneStartPfn), ze = Math.Min(e, z.ZoneEndPfn);
            if (!z.IsPopulated || zs >= ze) continue;
            z.ManagedPages += ze - zs;
            z.ReleaseRange(zs, ze);
        }
    }
}
