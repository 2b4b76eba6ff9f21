using Numasim.Firmware;
using Numasim.Kernel.Mm;

namespace Numasim.Kernel.Arch;

/// <summary>arch/x86/kernel/e820.c and setup.c: the BIOS map becomes memblock.memory; early reservations.</summary>
internal static class E820Setup
{
    /// <summary>Models e820__memblock_setup() after trim_bios_range() (page 0 is made reserved); returns max_pfn.</summary>
    public static long MemblockSetup(KernelContext k)
    {
        long maxPfn = 0;
        foreach (var e in Init.BootCommandLine.E820(k))
        {
            if (e.Type != E820Type.Ram) continue;
            long start = (long)((e.Start + Page.Size - 1) >> Page.Shift);
            long end = (long)(e.End >> Page.Shift);
            if (start == 0) start = 1; // e820__update_range(0, PAGE_SIZE, E820_TYPE_RAM, E820_TYPE_RESERVED)
            if (end <= start) continue;
            k.Memblock.Add(start, end);
            maxPfn = Math.Max(maxPfn, end);
        }
        return maxPfn;
    }

    /// <summary>Models the fixed early reservations of setup_arch(): the first 1 MiB (reserve_real_mode() and
    /// "x86/setup: Always reserve the first 1M of RAM") and the kernel image at CONFIG_PHYSICAL_START (16 MiB).</summary>
    public static void ReserveEarly(KernelContext k)
    {
        k.Memblock.Reserve(0, (1L << 20) >> Page.Shift);
        long kernelStart = (16L << 20) >> Page.Shift;
        k.Memblock.Reserve(kernelStart, kernelStart + k.Profile.KernelImagePages);
    }

    /// <summary>Models memblock_find_dma_reserve(): memory below MAX_DMA_PFN that is reserved at free_area_init() time.</summary>
    public static long FindDmaReserve(KernelContext k) => k.Memblock.ReservedIn(0, ZoneTypes.MaxDmaPfn);
}
