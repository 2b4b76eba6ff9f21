namespace Numasim.Kernel.Mm;

/// <summary>Models enum migratetype, include/linux/mmzone.h (v6.1, CONFIG_CMA=y, CONFIG_MEMORY_ISOLATION=y).
/// Names are those of migratetype_names[] in mm/page_alloc.c, as /proc/pagetypeinfo prints them.</summary>
public enum MigrateType : byte
{
    Unmovable = 0,
    Movable = 1,
    Reclaimable = 2,
    /// <summary>MIGRATE_HIGHATOMIC == MIGRATE_PCPTYPES.</summary>
    HighAtomic = 3,
    Cma = 4,
    Isolate = 5,
}

/// <summary>Helpers around migratetypes (include/linux/mmzone.h).</summary>
public static class MigrateTypes
{
    /// <summary>MIGRATE_TYPES.</summary>
    public const int Count = 6;

    /// <summary>MIGRATE_PCPTYPES: the number of types with their own pcp list.</summary>
    public const int PcpTypes = 3;

    private static readonly string[] Names = ["Unmovable", "Movable", "Reclaimable", "HighAtomic", "CMA", "Isolate"];

    /// <summary>Models migratetype_names[], mm/page_alloc.c.</summary>
    public static string Name(this MigrateType mt) => Names[(int)mt];

    /// <summary>Models migratetype_is_mergeable(), include/linux/mmzone.h.</summary>
    public static bool IsMergeable(this MigrateType mt) => (int)mt < PcpTypes;
}

/// <summary>Fixed sizes of the v6.1 x86_64 page allocator (include/linux/mmzone.h, pageblock-flags.h, mmzone.h).</summary>
public static class BuddyConstants
{
    /// <summary>MAX_ORDER (v6.1: orders 0..MAX_ORDER-1 exist).</summary>
    public const int MaxOrder = 11;
    /// <summary>MAX_ORDER_NR_PAGES.</summary>
    public const long MaxOrderNrPages = 1L << (MaxOrder - 1);
    /// <summary>pageblock_order (= HUGETLB_PAGE_ORDER = 9 on x86_64).</summary>
    public const int PageblockOrder = 9;
    /// <summary>pageblock_nr_pages.</summary>
    public const long PageblockNrPages = 1L << PageblockOrder;
    /// <summary>PAGE_ALLOC_COSTLY_ORDER.</summary>
    public const int PageAllocCostlyOrder = 3;
    /// <summary>PAGE_SHIFT on x86_64.</summary>
    public const int PageShift = 12;
    /// <summary>MAX_NR_ZONES on Debian 6.1 x86_64: DMA, DMA32, Normal, Movable, Device.</summary>
    public const int MaxNrZones = 5;
    /// <summary>CONFIG_PCP_BATCH_SCALE_MAX default (6.1.y stable).</summary>
    public const int PcpBatchScaleMax = 5;
}

/// <summary>Models the ALLOC_* flags of mm/internal.h (6.1.y names: ALLOC_MIN_RESERVE was ALLOC_HIGH and
/// ALLOC_NON_BLOCK/ALLOC_HIGHATOMIC were ALLOC_HARDER before the 6.1-stable backport).</summary>
[Flags]
public enum AllocFlags
{
    None = 0,
    WmarkMin = 0x00,
    WmarkLow = 0x01,
    WmarkHigh = 0x02,
    NoWatermarks = 0x04,
    Oom = 0x08,
    /// <summary>ALLOC_NON_BLOCK (caller cannot block: GFP_ATOMIC); formerly part of ALLOC_HARDER.</summary>
    NonBlock = 0x10,
    /// <summary>ALLOC_MIN_RESERVE (__GFP_HIGH); formerly ALLOC_HIGH.</summary>
    MinReserve = 0x20,
    Cpuset = 0x40,
    Cma = 0x80,
    NoFragment = 0x100,
    /// <summary>ALLOC_HIGHATOMIC: may use the high-atomic reserve; formerly part of ALLOC_HARDER.</summary>
    HighAtomic = 0x200,
    Kswapd = 0x800,
    /// <summary>ALLOC_RESERVES.</summary>
    Reserves = NonBlock | MinReserve | HighAtomic | Oom,
}
