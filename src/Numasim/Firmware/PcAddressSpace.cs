namespace Numasim.Firmware;

/// <summary>
/// The address-space check of QEMU 7.2's pc_memory_init() (hw/i386/pc.c) for the oracle's vCPU: qemu64 is an AMD
/// CPU ("AuthenticAMD") with TCG's 40 physical address bits. The highest guest-physical address the machine uses is
/// the end of the 64-bit PCI hole, which starts above RAM and the device-memory region (pc_max_used_gpa() with
/// pc_pci_hole64_start()); when that crosses the AMD HyperTransport window at 1012 GiB, RAM above 4 GiB is moved
/// to 1 TiB first (enforce_amd_1tb_hole, 7.1+ machine types). A machine that does not fit the 40 bits is refused
/// before anything is allocated, with QEMU's words. Checked with qemu-system-x86_64 7.2.22:
/// "-m 1G,slots=4,maxmem=1030G" → "Address space limit 0xffffffffff &lt; 0x202bfffffff phys-bits too low (40)".
/// </summary>
public static class PcAddressSpace
{
    /// <summary>TCG_PHYS_ADDR_BITS, target/i386/cpu.h: the phys-bits of qemu64 under TCG.</summary>
    public const int PhysBits = 40;

    /// <summary>AMD_HT_START (1012 GiB) and AMD_ABOVE_1TB_START (1 TiB), hw/i386/pc.c.</summary>
    public const ulong AmdHtStart = 0xfd00000000, AmdAbove1TbStart = 1UL << 40;

    /// <summary>The i440fx host bridge's default pci-hole64-size (DEFAULT_PCI_HOLE64_SIZE, 2 GiB).</summary>
    public const ulong PciHole64Size = 2 * QemuSize.GiB;

    /// <summary>Models pc_max_used_gpa() for a machine whose RAM above 4 GiB starts at <paramref name="above4GStart"/>.</summary>
    public static ulong MaxUsedGpa(ulong ram, ulong maxram, int slots, ulong above4GStart)
    {
        var (_, above) = PcMachine.SplitRam(ram);
        // pc_above_4g_end(): above_4g_mem_start + above_4g_mem_size, also when no RAM lies above 4 GiB.
        ulong above4GEnd = checked(above4GStart + above);
        ulong hole64Start;
        if (ram < maxram)
        {
            // pc_get_device_memory_range(): ROUND_UP(above-4G end, 1 GiB), maxram - ram + 1 GiB per slot (enforce_aligned_dimm)
            ulong devBase = RoundUp(above4GEnd, QemuSize.GiB);
            hole64Start = devBase + (maxram - ram) + QemuSize.GiB * (ulong)slots;
        }
        else hole64Start = above4GEnd;
        return RoundUp(hole64Start, QemuSize.GiB) + PciHole64Size - 1;
    }

    /// <summary>Null when the machine fits, else QEMU's error_report() text.</summary>
    public static string? Check(ulong ram, ulong maxram, int slots)
    {
        // Every term is below 2^64 for sizes QEMU accepts (RAM and maxmem are at most 2^63 once aligned): use
        // checked arithmetic anyway, an overflow being a machine far beyond any phys-bits.
        ulong used;
        try
        {
            used = checked(MaxUsedGpa(ram, maxram, slots, PcMachine.FourGiB));
            if (used >= AmdHtStart) used = checked(MaxUsedGpa(ram, maxram, slots, AmdAbove1TbStart));
        }
        catch (OverflowException) { used = ulong.MaxValue; }
        ulong maxPhys = (1UL << PhysBits) - 1;
        return used > maxPhys ? $"Address space limit {QemuSize.Hex(maxPhys)} < {QemuSize.Hex(used)} phys-bits too low ({PhysBits})" : null;
    }

    private static ulong RoundUp(ulong v, ulong a) => checked((v + a - 1) / a * a);
}
