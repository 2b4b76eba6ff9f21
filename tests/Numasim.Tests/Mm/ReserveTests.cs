using Numasim.Kernel.Mm;

namespace Numasim.Tests.Mm;

public class ReserveTests
{
    [Fact]
    public void Min_free_kbytes_is_sqrt_of_16_times_lowmem_kbytes()
    {
        // 229000 pages = 916000 kB; sqrt(14,656,000) = 3828.3
        Assert.Equal(3828, Watermarks.CalculateMinFreeKbytes(229000));
        Assert.Equal(128, Watermarks.CalculateMinFreeKbytes(100));
        Assert.Equal(262144, Watermarks.CalculateMinFreeKbytes(1L << 34));
        Assert.Equal(4096, Watermarks.CalculateMinFreeKbytes(262144)); // 1 GiB: the table in the kernel comment
        Assert.Equal(5000, Watermarks.CalculateMinFreeKbytes(229000, userMinFreeKbytes: 5000, currentMinFreeKbytes: 5000));
    }

    [Fact]
    public void Watermarks_of_a_1_GiB_machine()
    {
        var zones = new[] { new ZoneReserveInput(0, 3840), new ZoneReserveInput(1, 225160) };
        var w = Watermarks.SetupPerZoneWmarks(3828, zones);
        // pages_min = 957; DMA 957*3840/229000 = 16; DMA32 = 940
        Assert.Equal(new ZoneWatermarks(16, 20, 24, 28), w[0]);
        Assert.Equal(new ZoneWatermarks(940, 1175, 1410, 1645), w[1]);
    }

    [Fact]
    public void Lowmem_reserve_gives_the_zoneinfo_protection_arrays()
    {
        var r = Watermarks.SetupPerZoneLowmemReserve(new long[] { 3840, 225160, 0, 0, 0 });
        Assert.Equal(new long[] { 0, 879, 879, 879, 879 }, r[0]);
        Assert.Equal(new long[] { 0, 0, 0, 0, 0 }, r[1]);
        var r2 = Watermarks.SetupPerZoneLowmemReserve(new long[] { 3840, 745000, 1280000, 0, 0 });
        Assert.Equal(new long[] { 0, 2910, 7910, 7910, 7910 }, r2[0]);
        Assert.Equal(new long[] { 0, 0, 5000, 5000, 5000 }, r2[1]);
        Assert.Equal(new long[] { 0, 0, 0, 0, 0 }, r2[2]);
    }

    [Fact]
    public void Pcp_batch_and_high_for_a_known_zone()
    {
        Assert.Equal(63, Watermarks.ZoneBatchsize(225160));
        Assert.Equal(1, Watermarks.ZoneBatchsize(3840)); // 3 / 4 = 0 -> 1 -> rounddown_pow_of_two(1) - 1 = 0 -> max(1, 0)
        Assert.Equal(587, Watermarks.ZoneHighsize(1175, 225160, 63, cpusOnNode: 2, cpuOnline: 0, numOnlineCpus: 2));
        Assert.Equal(252, Watermarks.ZoneHighsize(100, 225160, 63, 2, 0, 2));
        Assert.Equal(1175 / 4, Watermarks.ZoneHighsize(1175, 225160, 1, 0, 0, 4)); // memoryless-CPU node: all CPUs
    }

    [Fact]
    public void Zone_watermark_ok_applies_reserves_and_needs_a_high_order_block()
    {
        var z = new ZonePageAllocator(0, 4096);
        z.OnlineRange(0, 4096);
        var reserve = new long[] { 0, 0, 100, 100, 100 };
        Assert.True(z.ZoneWatermarkOk(0, 3000, 0, AllocFlags.None, reserve));
        Assert.False(z.ZoneWatermarkOk(0, 4000, 2, AllocFlags.None, reserve));
        Assert.True(z.ZoneWatermarkOk(0, 4000, 2, AllocFlags.MinReserve, reserve));
        Assert.True(z.ZoneWatermarkOk(10, 100, 0, AllocFlags.None, reserve));
        for (int i = 0; i < 4; i++) z.Allocate(10, MigrateType.Movable, 0);
        Assert.False(z.ZoneWatermarkOk(0, 0, 0, AllocFlags.None, reserve, freePages: 0));
        Assert.False(z.ZoneWatermarkOk(3, 0, 0, AllocFlags.None, reserve, freePages: 5000));
    }
}
