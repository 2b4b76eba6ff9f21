using Numasim.Firmware;
using static Numasim.Tests.Cli.CliHarness;

namespace Numasim.Tests.Reliability;

/// <summary>QEMU 7.2's bounds of the pc machine, with its messages (each checked with qemu-system-x86_64 7.2.22), and
/// the fuzzing findings in the option parser.</summary>
public class MachineBoundsTests
{
    [Theory]
    [InlineData("-m 1G,slots=4,maxmem=1030G", "Address space limit 0xffffffffff < 0x202bfffffff phys-bits too low (40)")]
    [InlineData("-m 1G,slots=4,maxmem=4096T", "Address space limit 0xffffffffff < 0x1001013fffffff phys-bits too low (40)")]
    [InlineData("-m 1G,slots=257,maxmem=8G", "unsupported amount of memory slots: 257")]
    [InlineData("-m 2G,slots=4,maxmem=1G", "invalid value of maxmem: maximum memory size (0x40000000) must be at least the initial memory size (0x80000000)")]
    [InlineData("-m 1G,slots=2,maxmem=1G", "invalid value of maxmem: memory slots were specified but maximum memory size (0x40000000) is equal to the initial memory size (0x40000000)")]
    [InlineData("-smp 9999", "Invalid SMP CPUs 9999. The max CPUs supported by machine 'pc-i440fx-7.2' is 255")]
    [InlineData("-m 16E", "-m 16E: Value '16E' is out of range for parameter 'size'")]
    [InlineData("-m 511111111111111111111112M", "-m 511111111111111111111112M: Value '511111111111111111111112M' is out of range for parameter 'size'")]
    [InlineData("-m 88888888888888888888888881G", "-m 88888888888888888888888881G: Value '88888888888888888888888881G' is out of range for parameter 'size'")]
    public void Qemu_refuses_the_machine_with_its_own_words(string qemu, string error)
    {
        var r = QemuCommandLine.Parse(qemu);
        Assert.False(r.Ok);
        Assert.Equal(error, r.ErrorText);
    }

    [Theory]
    [InlineData("-m 4096T")]
    [InlineData("-m 1000000T")]
    [InlineData("-m 1010G")]
    public void Ram_beyond_the_40_bit_address_space_is_refused_at_once(string qemu)
    {
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var r = Run("boot", "--qemu", qemu);
        Assert.Equal(2, r.Exit);
        Assert.Contains("phys-bits too low (40)", r.Err);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(20)); // it was 51 s and 6.7 GB for 4096T, and no end for 1000000T
    }

    [Fact]
    public void The_largest_ram_that_fits_below_the_hypertransport_window_boots()
    {
        // 1009 GiB: the 64-bit PCI hole ends just below 1012 GiB; 1010 GiB would move RAM above 1 TiB, past 40 bits.
        Assert.True(QemuCommandLine.Parse("-m 1009G").Ok);
        Assert.Null(PcAddressSpace.Check(1009 * QemuSize.GiB, 1009 * QemuSize.GiB, 0));
        Assert.NotNull(PcAddressSpace.Check(1010 * QemuSize.GiB, 1010 * QemuSize.GiB, 0));
        var r = Run("boot", "--qemu", "-m 1009G", "--cat", "/sys/devices/system/memory/block_size_bytes");
        Assert.Equal(0, r.Exit);
        Assert.Equal("80000000\n", r.Out);
    }
}
