using Numasim.Kernel.Mm;

namespace Numasim.Kernel.Arch;

/// <summary>
/// arch/x86/mm/init.c init_mem_mapping(): the direct map of all RAM, built top-down (memory_map_top_down(); bottom-up
/// from the kernel's end with movable_node, memory_map_bottom_up()) with
/// 2 MiB pages, 1 GiB pages with GBPAGES ("pdpe1gb"; QEMU's qemu64 has none) and 4 KiB pages at unaligned edges.
/// Its page-table pages come from the brk buffer (INIT_PGT_BUF_SIZE) while it lasts and the range being mapped does
/// not hold that buffer, else from memblock inside what is already mapped (alloc_low_pages()). 4-level paging: a PUD
/// page per 512 GiB, a PMD page per 1 GiB not mapped by one 1 GiB page, a PTE page per partly mapped 2 MiB.
/// </summary>
internal sealed class InitMemMapping
{
    private const ulong Pmd = 2UL << 20, Pud = 1UL << 30, Pgd = 512UL << 30, IsaEnd = 1UL << 20;

    private readonly KernelContext _k;
    private readonly HashSet<ulong> _puds = [], _pmds = [], _ptes = [], _gigPages = [];
    private readonly bool _gbpages;
    private readonly ulong _bufStart, _bufTop;
    private ulong _bufEnd;
    private ulong _minMapped, _maxMapped;
    private bool _canUseBrk = true;

    private InitMemMapping(KernelContext k)
    {
        _k = k;
        _bufStart = k.KernelPhysAddr + k.Profile.Build.KernelReserveBytes;
        _bufEnd = _bufStart;
        _bufTop = _bufStart + (ulong)k.Profile.Build.PgtBufPages * (ulong)Page.Size;
        _gbpages = X86Capabilities.BootCpuHas(k, "pdpe1gb"); // probe_page_size_mask(): PG_LEVEL_1G
    }

    /// <summary>Models init_mem_mapping(): the ISA range, then memory_map_top_down(ISA_END_ADDRESS, max_pfn), or
    /// with memblock bottom-up [_end, max_pfn) and then [ISA_END_ADDRESS, _end); sets memblock's limit.</summary>
    public static void Run(KernelContext k)
    {
        var m = new InitMemMapping(k);
        ulong end = Page.AddrOf(k.MaxPfn);
        m.Map(0, IsaEnd);
        if (k.Memblock.BottomUp)
        {
            ulong kernelEnd = m._bufStart + k.Profile.Build.BrkSectionBytes; // __pa_symbol(_end)
            m.MapBottomUp(kernelEnd, end);
            m.MapBottomUp(IsaEnd, kernelEnd);
            k.Memblock.CurrentLimit = end;
            return;
        }
        // the first probe: the highest free 2 MiB, freed again at once
        ulong probe = k.Memblock.FindInRange(Pmd, Pmd, IsaEnd, end, -1);
        ulong realEnd = probe == 0 ? end : probe + Pmd;
        ulong step = Pmd, mapped = 0, lastStart = realEnd;
        m._minMapped = realEnd;
        while (lastStart > IsaEnd)
        {
            ulong start = lastStart > step ? Math.Max((lastStart - 1) / step * step, IsaEnd) : IsaEnd;
            mapped += m.MapRange(start, lastStart);
            lastStart = start;
            m._minMapped = lastStart;
            if (mapped >= step) step = NewStepSize(step);
        }
        if (realEnd < end) m.MapRange(realEnd, end);
        k.Memblock.CurrentLimit = end;
    }

    /// <summary>Models get_new_step_size(): step_size &lt;&lt; (PMD_SHIFT - PAGE_SHIFT - 1), 0 once it overflows.</summary>
    private static ulong NewStepSize(ulong step) => step << (Page.PageblockOrder - 1);

    /// <summary>Models memory_map_bottom_up(): [start, end) upwards in steps growing as in the top-down walk; the
    /// page tables come from what is mapped above <paramref name="start"/> (min_pfn_mapped).</summary>
    private void MapBottomUp(ulong start, ulong end)
    {
        ulong step = Pmd, mapped = 0;
        _minMapped = start;
        while (start < end)
        {
            ulong next = step != 0 && end - start > step ? Math.Min((start + step) / step * step, end) : end; // round_up(start + 1, step)
            mapped += MapRange(start, next);
            start = next;
            if (mapped >= step) step = NewStepSize(step);
        }
    }

    /// <summary>Models init_range_memory_mapping(): each memory range's part of [start, end).</summary>
    private ulong MapRange(ulong start, ulong end)
    {
        ulong mapped = 0;
        foreach (var r in _k.Memblock.Memory)
        {
            ulong s = Math.Clamp(Page.AddrOf(r.Start), start, end), e = Math.Clamp(Page.AddrOf(r.End), start, end);
            if (s >= e) continue;
            _canUseBrk = Math.Max(s, _bufEnd) >= Math.Min(e, _bufTop);
            Map(s, e);
            mapped += e - s;
            _canUseBrk = true;
        }
        return mapped;
    }

    /// <summary>Models init_memory_mapping(): the tables [start, end) needs that do not exist yet. A GiB that is all
    /// one memory region gets a 1 GiB page with GBPAGES (split_mem_range()'s 1G part, or adjust_range_page_size_mask()
    /// for a piece of it) unless a PMD table already holds part of it (phys_pud_init() keeps using that table).</summary>
    private void Map(ulong start, ulong end)
    {
        ulong n = 0;
        for (ulong a = start / Pgd; a <= (end - 1) / Pgd; a++) if (_puds.Add(a)) n++;
        for (ulong a = start / Pud; a <= (end - 1) / Pud; a++)
        {
            if (_pmds.Contains(a) || _gigPages.Contains(a)) continue;
            if (_gbpages && _k.Memblock.IsRegionMemory(a * Pud, Pud)) _gigPages.Add(a);
            else { _pmds.Add(a); n++; }
        }
        // split_mem_range(): 4 KiB pages for the unaligned head and tail, unless adjust_range_page_size_mask() finds
        // their whole 2 MiB (or GiB) in memory and maps it with a big page
        if (start % Pmd != 0 && NeedsPte(start / Pmd)) n++;
        if (end % Pmd != 0 && NeedsPte((end - 1) / Pmd)) n++;
        if (start % Pmd == 0 && end - start < Pmd && NeedsPte(start / Pmd)) n++;
        AllocLowPages(n);
        _maxMapped = Math.Max(_maxMapped, end);
    }

    /// <summary>Whether the 4 KiB part in 2 MiB number <paramref name="pmd"/> takes a new PTE page.</summary>
    private bool NeedsPte(ulong pmd)
    {
        if (_gigPages.Contains(pmd * Pmd / Pud) || _ptes.Contains(pmd)) return false;
        if (_k.Memblock.IsRegionMemory(pmd * Pmd, Pmd)) return false;
        _ptes.Add(pmd);
        return true;
    }

    /// <summary>Models <paramref name="n"/> calls of alloc_low_pages(1): the brk buffer while it lasts and may be
    /// used, then memblock; each memblock page lands just below the previous one, so they are taken as one block.</summary>
    private void AllocLowPages(ulong n)
    {
        const ulong page = (ulong)Page.Size;
        if (n == 0) return;
        if (_canUseBrk)
        {
            ulong fromBuf = Math.Min(n, (_bufTop - _bufEnd) / page);
            _bufEnd += fromBuf * page;
            n -= fromBuf;
        }
        if (n == 0) return;
        if (_minMapped < _maxMapped
            && _k.BootReservations.AllocPhysRange("alloc_low_pages", "direct-map page tables", n * page, page, _minMapped, _maxMapped) != 0)
            return;
        if (_canUseBrk) _bufEnd += n * page; // extend_brk()
    }
}
