namespace Numasim.Kernel.Mm;

/// <summary>enum zone_type for x86_64 (include/linux/mmzone.h): MAX_NR_ZONES is 5 with CONFIG_ZONE_DEVICE.</summary>
public enum ZoneType
{
    Dma = 0,
    Dma32 = 1,
    Normal = 2,
    Movable = 3,
    Device = 4,
}

public static class ZoneTypes
{
    public const int MaxNrZones = 5;

    /// <summary>zone_names[], as /proc/zoneinfo, buddyinfo and valid_zones print them.</summary>
    public static string Name(this ZoneType z) => z switch
    {
        ZoneType.Dma => "DMA",
        ZoneType.Dma32 => "DMA32",
        ZoneType.Normal => "Normal",
        ZoneType.Movable => "Movable",
        ZoneType.Device => "Device",
        _ => throw new ArgumentOutOfRangeException(nameof(z)),
    };

    /// <summary>MAX_DMA_PFN (16 MiB) and MAX_DMA32_PFN (4 GiB) in 4 KiB pages, arch/x86/include/asm/dma.h.</summary>
    public const long MaxDmaPfn = (16L << 20) >> Page.Shift;
    public const long MaxDma32Pfn = (4L << 30) >> Page.Shift;
}

/// <summary>Page and section geometry of x86_64 (PAGE_SHIFT 12, SECTION_SIZE_BITS 27).</summary>
public static class Page
{
    public const int Shift = 12;
    public const long Size = 1L << Shift;
    public const int SectionSizeBits = 27;
    public const long PagesPerSection = 1L << (SectionSizeBits - Shift);
    /// <summary>pageblock_order: 2 MiB pageblocks.</summary>
    public const int PageblockOrder = 9;
    public const long PageblockNrPages = 1L << PageblockOrder;
    /// <summary>sizeof(struct page).</summary>
    public const int StructPageSize = 64;

    public static long PfnOf(ulong addr) => (long)(addr >> Shift);
    public static ulong AddrOf(long pfn) => (ulong)pfn << Shift;
    public static long Kb(long pages) => pages << (Shift - 10);
}
