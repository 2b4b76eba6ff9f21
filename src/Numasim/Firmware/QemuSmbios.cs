namespace Numasim.Firmware;

/// <summary>
/// The SMBIOS structure table QEMU 7.2 builds for its pc machine (no -smbios options: the defaults of
/// smbios_set_defaults()) and where SeaBIOS puts it. Its length matters to the memory map: up to
/// BUILD_MAX_SMBIOS_FSEG bytes SeaBIOS copies it into the F-segment, above that into its high zone at the top of low
/// RAM, whose used part the e820 map keeps reserved. Checked on the oracle's guest (QEMU 7.2, SeaBIOS
/// 1.16.2-debian-1.16.2-1; the size of /sys/firmware/dmi/tables/DMI): 1 socket 388 bytes, 2 sockets 456, 5 sockets
/// 660 (top of low RAM 0x3ffdefff instead of 0x3ffdffff), RAM across the PCI hole +33, RAM above 16 GiB +53.
/// </summary>
public static class QemuSmbios
{
    /// <summary>BUILD_MAX_SMBIOS_FSEG, SeaBIOS src/config.h.</summary>
    public const int MaxFsegBytes = 600;

    private const string Manufacturer = "QEMU", Product = "Standard PC (i440FX + PIIX, 1996)", Version = SmpParser.PcMachineName;

    /// <summary>SeaBIOS's BIOS_NAME and VERSION of the Debian seabios package QEMU 7.2 loads (its DMI: line), and
    /// BIOS_DATE, src/fw/biostables.c.</summary>
    private const string BiosName = "SeaBIOS", BiosVersion = "1.16.2-debian-1.16.2-1", BiosDate = "04/01/2014";

    /// <summary>MAX_DIMM_SZ of smbios_get_tables(): one type 17 device per 16 GiB of RAM.</summary>
    private const ulong MaxDimmBytes = 16UL << 30;

    /// <summary>Models smbios_get_tables(), hw/smbios/smbios.c, with the type 0 structure SeaBIOS's
    /// smbios_romfile_setup() adds when QEMU gives none: the structure table's length in bytes. Each structure is its
    /// formatted area, its strings with their NULs and one more NUL (two when it has no string).</summary>
    public static int TableLength(int sockets, ulong ramBytes, int ramRegions)
    {
        static int S(string s) => s.Length + 1;
        int type0 = 24 + S(BiosName) + S(BiosVersion) + S(BiosDate) + 1;
        int type1 = 27 + S(Manufacturer) + S(Product) + S(Version) + 1;
        int type3 = 22 + S(Manufacturer) + S(Version) + 1;
        int len = type0 + type1 + type3;
        for (int i = 0; i < sockets; i++)
            len += 42 + S("CPU" + i.ToString("x").PadLeft(2)) + S(Manufacturer) + S(Version) + 1; // "%s%2x"
        len += 23 + 2; // type 16
        int dimms = (int)((ramBytes + MaxDimmBytes - 1) / MaxDimmBytes);
        for (int i = 0; i < dimms; i++) len += 40 + S($"DIMM {i}") + S(Manufacturer) + 1;
        len += ramRegions * (31 + 2); // type 19 per e820 RAM range QEMU passes: below and above 4 GiB
        len += 11 + 2; // type 32
        len += 4 + 2;  // type 127
        return len;
    }

    /// <summary>Models smbios_romfile_setup()'s placement, SeaBIOS src/fw/biostables.c, with what malloc_prepboot()
    /// gives back of the high zone (whole pages): the bytes at the top of low RAM the table adds to the reservation
    /// (0 when it fits the F-segment).</summary>
    public static ulong HighZoneBytes(int tableLength) =>
        tableLength <= MaxFsegBytes ? 0 : ((ulong)tableLength + 0xfff) & ~0xfffUL;
}
