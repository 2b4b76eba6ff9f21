namespace Numasim.Kernel.Mm;

/// <summary>gfp_t bits and the usual combinations, include/linux/gfp_types.h (v6.1 values).</summary>
[Flags]
public enum Gfp : uint
{
    None = 0,
    Dma = 0x01,
    HighMem = 0x02,
    Dma32 = 0x04,
    Movable = 0x08,
    Reclaimable = 0x10,
    High = 0x20,
    Io = 0x40,
    Fs = 0x80,
    Zero = 0x100,
    Atomic = 0x200,
    DirectReclaim = 0x400,
    KswapdReclaim = 0x800,
    Write = 0x1000,
    NoWarn = 0x2000,
    RetryMayfail = 0x4000,
    NoFail = 0x8000,
    NoRetry = 0x10000,
    Memalloc = 0x20000,
    Comp = 0x40000,
    NoMemalloc = 0x80000,
    Hardwall = 0x100000,
    ThisNode = 0x200000,
    Account = 0x400000,

    Reclaim = DirectReclaim | KswapdReclaim,
    GfpKernel = Reclaim | Io | Fs,
    GfpAtomic = High | Atomic | KswapdReclaim,
    GfpNoWait = KswapdReclaim,
    GfpUser = GfpKernel | Hardwall,
    GfpHighUser = GfpUser | HighMem,
    GfpHighUserMovable = GfpHighUser | Movable,
    GfpDma = Dma,
    GfpDma32 = Dma32,
}

public static class GfpFlags
{
    /// <summary>Parses "GFP_KERNEL|__GFP_THISNODE|__GFP_NOWARN" (names as the kernel spells them) or a number.</summary>
    public static bool TryParse(string text, out Gfp gfp, out string error)
    {
        gfp = Gfp.None;
        error = "";
        foreach (var raw in text.Split('|', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (raw.StartsWith("0x", StringComparison.OrdinalIgnoreCase) &&
                uint.TryParse(raw.AsSpan(2), System.Globalization.NumberStyles.HexNumber, null, out var hex))
            {
                gfp |= (Gfp)hex;
                continue;
            }
            var f = Lookup(raw);
            if (f is null)
            {
                error = $"unknown gfp flag '{raw}'";
                return false;
            }
            gfp |= f.Value;
        }
        return true;
    }

    /// <summary>The flags as the kernel source names them: a GFP_* set when it is one exactly, else the hex mask.</summary>
    public static string Format(Gfp gfp)
    {
        foreach (var name in (string[])["GFP_KERNEL", "GFP_ATOMIC", "GFP_NOWAIT", "GFP_USER", "GFP_HIGHUSER", "GFP_HIGHUSER_MOVABLE", "GFP_DMA", "GFP_DMA32"])
            if (Lookup(name) == gfp) return name;
        return "0x" + ((uint)gfp).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static Gfp? Lookup(string name) => name switch
    {
        "GFP_KERNEL" => Gfp.GfpKernel,
        "GFP_ATOMIC" => Gfp.GfpAtomic,
        "GFP_NOWAIT" => Gfp.GfpNoWait,
        "GFP_USER" => Gfp.GfpUser,
        "GFP_HIGHUSER" => Gfp.GfpHighUser,
        "GFP_HIGHUSER_MOVABLE" => Gfp.GfpHighUserMovable,
        "GFP_DMA" => Gfp.GfpDma,
        "GFP_DMA32" => Gfp.GfpDma32,
        _ when name.StartsWith("__GFP_", StringComparison.Ordinal) => Enum.GetValues<Gfp>()
            .Where(v => System.Numerics.BitOperations.PopCount((uint)v) == 1)
            .Select(v => (Gfp?)v)
            .FirstOrDefault(v => Name(v!.Value) == name),
        _ => null,
    };

    private static string Name(Gfp single) => single switch
    {
        Gfp.HighMem => "__GFP_HIGHMEM",
        Gfp.Dma32 => "__GFP_DMA32",
        Gfp.DirectReclaim => "__GFP_DIRECT_RECLAIM",
        Gfp.KswapdReclaim => "__GFP_KSWAPD_RECLAIM",
        Gfp.NoWarn => "__GFP_NOWARN",
        Gfp.RetryMayfail => "__GFP_RETRY_MAYFAIL",
        Gfp.NoFail => "__GFP_NOFAIL",
        Gfp.NoRetry => "__GFP_NORETRY",
        Gfp.NoMemalloc => "__GFP_NOMEMALLOC",
        Gfp.ThisNode => "__GFP_THISNODE",
        _ => "__GFP_" + single.ToString().ToUpperInvariant(),
    };

    /// <summary>Models gfp_zone(): the highest zone an allocation may use (x86_64: no highmem zone).</summary>
    public static ZoneType GfpZone(Gfp gfp)
    {
        if ((gfp & Gfp.Dma) != 0) return ZoneType.Dma;
        if ((gfp & Gfp.Dma32) != 0) return ZoneType.Dma32;
        if ((gfp & (Gfp.Movable | Gfp.HighMem)) == (Gfp.Movable | Gfp.HighMem)) return ZoneType.Movable;
        return ZoneType.Normal;
    }

    /// <summary>Models gfp_migratetype().</summary>
    public static MigrateType GfpMigratetype(Gfp gfp) =>
        (gfp & Gfp.Movable) != 0 ? MigrateType.Movable :
        (gfp & Gfp.Reclaimable) != 0 ? MigrateType.Reclaimable : MigrateType.Unmovable;
}
