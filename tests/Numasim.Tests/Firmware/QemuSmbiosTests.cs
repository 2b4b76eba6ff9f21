using Numasim.Firmware;

namespace Numasim.Tests.Firmware;

/// <summary>QEMU 7.2's SMBIOS table for the pc machine and SeaBIOS's placement of it, against the oracle's guest
/// (6.1.176 under QEMU 7.2 TCG, 2026-12-07: the size of /sys/firmware/dmi/tables/DMI and the BIOS-e820 lines).</summary>
public class QemuSmbiosTests
{
    [Theory]
    [InlineData("-m 1G -smp 1", 388)]
    [InlineData("-m 1G -smp 4,sockets=2,cores=2,threads=1", 456)]
    [InlineData("-m 1G -smp 2,maxcpus=8,sockets=2,cores=2,threads=2", 456)]
    [InlineData("-m 1G -smp 1,maxcpus=5,sockets=5,cores=1,threads=1", 660)]
    [InlineData("-m 4G -smp 1", 421)]
    [InlineData("-m 17G -smp 1", 474)]
    public void The_table_has_the_length_the_guest_reads(string qemu, int bytes)
    {
        var spec = QemuCommandLine.Parse(qemu).Spec!;
        var (_, above) = PcMachine.SplitRam(spec.RamBytes);
        Assert.Equal(bytes, QemuSmbios.TableLength(spec.Smp.Sockets, spec.RamBytes, above > 0 ? 2 : 1));
    }

    [Theory]
    [InlineData("-m 1G -smp 4,sockets=4", 0x3ffdffffUL)]
    [InlineData("-m 1G -smp 1,maxcpus=5,sockets=5,cores=1,threads=1", 0x3ffdefffUL)]
    public void A_table_past_the_f_segment_takes_a_page_from_the_top_of_low_ram(string qemu, ulong lastUsable)
    {
        var fw = PcMachine.Build(QemuCommandLine.Parse(qemu).Spec!);
        var low = fw.E820.Single(e => e.Type == E820Type.Ram && e.Start == PcMachine.Hole640KEnd);
        Assert.Equal(lastUsable, low.End - 1);
    }
}
