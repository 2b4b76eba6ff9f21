using Numasim.Firmware;
using Numasim.Kernel.Mm;

namespace Numasim.Kernel.Arch;

/// <summary>arch/x86/kernel/e820.c and setup.c: the BIOS map becomes memblock.memory; early reservations.</summary>
internal static class E820Setup
{
    private const ulong OneMiB = 1UL << 20, Kib64 = 64UL << 10;

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

    /// <summary>The kernel's e820_table: the firmware's entries with page 0 split off as reserved.</summary>
    public static int KernelE820Entries(KernelContext k) =>
        k.Firmware.E820.Count + (k.Firmware.E820.Count > 0 && k.Firmware.E820[0].Start == 0 && k.Firmware.E820[0].Type == E820Type.Ram ? 1 : 0);

    /// <summary>Models early_reserve_memory() and reserve_brk() (setup_arch()): the kernel image from _text to
    /// __end_of_kernel_reserve, the low 64 KiB (CONFIG_X86_RESERVE_LOW), the initrd where QEMU's loader put it, the
    /// BIOS regions (EBDA to 1 MiB), then brk (the early page-table buffer and DMI); later reserve_real_mode() and
    /// "x86/setup: Always reserve the first 1M of RAM".</summary>
    public static void ReserveEarly(KernelContext k)
    {
        var r = k.BootReservations;
        var b = k.Profile.Build;
        ulong kernel = k.KernelPhysAddr;
        r.Reserve("early_reserve_memory", "kernel image (_text..__end_of_kernel_reserve)", kernel, b.KernelReserveBytes);
        r.Reserve("early_reserve_memory", "low memory (CONFIG_X86_RESERVE_LOW)", 0, Kib64);
        if (k.Initrd is { } initrd) r.Reserve("early_reserve_initrd", "initrd", initrd.Start, initrd.End - initrd.Start);
        // reserve_bios_regions(): from the EBDA (SeaBIOS: the reserved e820 entry below 640K) to 1 MiB
        ulong ebda = k.Firmware.E820.Where(e => e.Type != E820Type.Ram && e.Start < Hole640K && e.Start > 0).Select(e => e.Start).DefaultIfEmpty(Hole640K).Min();
        ulong biosStart = ebda & ~(ulong)(Page.Size - 1);
        r.Reserve("reserve_bios_regions", "BIOS regions (EBDA..1M)", biosStart, OneMiB - biosStart);
        r.Reserve("setup_arch", "brk (early page tables, DMI)", kernel + b.KernelReserveBytes, (ulong)(b.PgtBufPages + b.BrkDmiPages) * Page.Size);
    }

    private const ulong Hole640K = 0xa0000;

    /// <summary>Models reserve_real_mode() and the reservation of the first 1 MiB that follows it.</summary>
    public static void ReserveRealModeAndLowMem(KernelContext k)
    {
        k.BootReservations.AllocPhysRange("reserve_real_mode", "real-mode trampoline", k.Profile.Build.RealModeBytes, (ulong)Page.Size, 0, OneMiB);
        k.BootReservations.Reserve("setup_arch", "first 1 MiB (x86/setup)", 0, OneMiB);
    }

    /// <summary>Models memblock_find_dma_reserve(): memory below MAX_DMA_PFN that is reserved at free_area_init() time.</summary>
    public static long FindDmaReserve(KernelContext k) => k.Memblock.ReservedIn(0, ZoneTypes.MaxDmaPfn);

    /// <summary>Models the resource and map copies setup_arch() makes from the e820 tables: e820__reserve_resources()
    /// (a struct resource per kernel e820 entry), firmware_map_add_early() per firmware entry, and
    /// e820__register_nosave_regions() (a nosave region per gap before each RAM entry, and up to max_pfn).</summary>
    public static void ReserveResources(KernelContext k)
    {
        var r = k.BootReservations;
        var b = k.Profile.Build;
        r.Alloc("e820__reserve_resources", "e820 resources", b.ResourceBytes * (ulong)KernelE820Entries(k), 64);
        foreach (var _ in k.Firmware.E820) r.Alloc("firmware_map_add_early", "firmware memmap entry", b.FirmwareMapEntryBytes, 64);
        ulong last = 0;
        var e820 = k.Firmware.E820;
        for (int i = 0; i < e820.Count; i++)
        {
            var e = e820[i];
            ulong start = i == 0 && e.Start == 0 && e.Type == E820Type.Ram ? (ulong)Page.Size : e.Start; // page 0 split off
            if (e.Type != E820Type.Ram) continue;
            if (last < start) RegisterNosave(k, Page.PfnOf(last), (long)((start + Page.Size - 1) >> Page.Shift));
            last = e.End;
        }
        RegisterNosave(k, Page.PfnOf(last), k.MaxPfn);
    }

    /// <summary>Models register_nosave_region() at boot (kernel/power/snapshot.c).</summary>
    private static void RegisterNosave(KernelContext k, long startPfn, long endPfn)
    {
        if (startPfn >= endPfn) return;
        k.BootReservations.Alloc("register_nosave_region", "hibernation nosave region", k.Profile.Build.NosaveRegionBytes, 64);
        k.Log.Printk($"PM: hibernation: Registered nosave memory: [mem {Srat.Hex010(Page.AddrOf(startPfn))}-{Srat.Hex010(Page.AddrOf(endPfn) - 1)}]");
    }
}
