using Numasim.Firmware;
using Numasim.Kernel.Mm;

namespace Numasim.Kernel.Arch;

/// <summary>arch/x86/kernel/setup.c's reserve_initrd(), after init_mem_mapping(): an initrd that QEMU's loader put
/// outside the direct map (above a mem= limit) is copied into mapped memory and its old range freed.</summary>
internal static class ReserveInitrd
{
    /// <summary>Models reserve_initrd() and relocate_initrd() (inlined into setup_arch(), which memblock=debug names).</summary>
    public static void Run(KernelContext k)
    {
        if (k.Initrd is not { } rd || k.Machine.InitrdBytes is not { } size) return;
        k.Log.Printk($"RAMDISK: [mem {Srat.Hex010(rd.Start)}-{Srat.Hex010(rd.End - 1)}]");
        if (IsMapped(k, rd)) return;
        // memblock_phys_alloc_range(PAGE_ALIGN(size), PAGE_SIZE, 0, PFN_PHYS(max_pfn_mapped))
        ulong area = rd.End - rd.Start;
        ulong moved = k.BootReservations.AllocPhysRange("setup_arch", "initrd relocated into the direct map", area, (ulong)Page.Size, 0, Page.AddrOf(k.MaxPfn));
        if (moved == 0)
        {
            // the kernel panics ("Cannot find place for new RAMDISK"); the model keeps the initrd where it is and says so
            k.Log.Printk($"Cannot find place for new RAMDISK of size {size}");
            return;
        }
        k.Log.Printk($"Allocated new RAMDISK: [mem {Srat.Hex010(moved)}-{Srat.Hex010(moved + size - 1)}]");
        k.Log.Printk($"Move RAMDISK from [mem {Srat.Hex010(rd.Start)}-{Srat.Hex010(rd.Start + size - 1)}] to [mem {Srat.Hex010(moved)}-{Srat.Hex010(moved + size - 1)}]");
        k.BootReservations.Free(rd.Start, area);
        k.Initrd = new PhysRange(moved, moved + area);
    }

    /// <summary>pfn_range_is_mapped(): the direct map covers memblock.memory (after mem=), so the initrd is mapped
    /// when one memory range holds all of it.</summary>
    private static bool IsMapped(KernelContext k, PhysRange rd)
    {
        long s = (long)(rd.Start >> Page.Shift), e = (long)((rd.End + (ulong)Page.Size - 1) >> Page.Shift);
        foreach (var m in k.Memblock.Memory)
            if (m.Start <= s && e <= m.End) return true;
        return false;
    }
}
