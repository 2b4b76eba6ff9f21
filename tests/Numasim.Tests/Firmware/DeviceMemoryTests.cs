using Numasim.Firmware;

namespace Numasim.Tests.Firmware;

public class DeviceMemoryTests
{
    private const ulong G = 1UL << 30, M = 1UL << 20;

    private static DeviceMemory Oracle() => DeviceMemory.For(QemuCommandLine.Parse(QemuCommandLineTests.Oracle).GetSpecOrThrow());

    [Fact]
    public void Dimms_are_placed_first_fit_from_the_region_base()
    {
        var dm = Oracle();
        var a = dm.Plug("dimm1", 512 * M, 1);
        Assert.True(a.Ok);
        Assert.Equal(0x100000000UL, a.Address);
        Assert.Equal(0, a.Dimm!.Slot);
        var b = dm.Plug("dimm2", 2 * M, 0);
        Assert.Equal(0x100000000UL + 512 * M, b.Address);
        Assert.Null(dm.Unplug("dimm1"));
        var c = dm.Plug("dimm3", 256 * M, 1);
        Assert.Equal(0x100000000UL, c.Address);   // the hole left by dimm1
        Assert.Equal(0, c.Dimm!.Slot);
        var d = dm.Plug("dimm4", 512 * M, 1);
        Assert.Equal(0x100000000UL + 514 * M, d.Address);   // does not fit between dimm3 and dimm2
    }

    [Fact]
    public void Plug_fails_when_no_slot_is_free()
    {
        var dm = Oracle();
        for (int i = 0; i < 4; i++) Assert.True(dm.Plug($"d{i}", 128 * M, 0).Ok);
        Assert.Equal("device_add: no free slots available", dm.Plug("d4", 128 * M, 0).Error!.ToString());
    }

    [Fact]
    public void Plug_fails_when_maxmem_would_be_exceeded()
    {
        var dm = Oracle();
        Assert.True(dm.Plug("a", 6 * G, 0).Ok);
        var r = dm.Plug("b", 2 * G, 0);
        Assert.Equal("not enough space, currently 0x180000000 in use of total space for memory devices 0x1c0000000", r.Error!.Message);
    }

    [Fact]
    public void Plug_fails_for_a_node_beyond_the_machine()
    {
        var r = Oracle().Plug("a", 128 * M, 2);
        Assert.Equal("'DIMM property node has value 2' which exceeds the number of numa nodes: 2", r.Error!.Message);
    }

    [Fact]
    public void Plug_fails_for_an_unaligned_size()
    {
        var r = Oracle().Plug("a", 3 * M, 0);
        Assert.Equal("backend memory size must be multiple of 0x200000", r.Error!.Message);
    }

    [Fact]
    public void Plug_checks_given_slot_and_address()
    {
        var dm = Oracle();
        Assert.Equal(2, dm.Plug("a", 128 * M, 0, slot: 2).Dimm!.Slot);
        Assert.Equal("slot 2 is busy", dm.Plug("b", 128 * M, 0, slot: 2).Error!.Message);
        Assert.Equal("invalid slot number, valid range is [0-3]", dm.Plug("b", 128 * M, 0, slot: 4).Error!.Message);
        Assert.Equal("address range conflicts with memory device id='a'", dm.Plug("b", 128 * M, 0, addr: 0x100000000).Error!.Message);
        Assert.Equal("Duplicate device ID 'a'", dm.Plug("a", 128 * M, 0).Error!.Message);
        Assert.Equal(0x200000000UL, dm.Plug("c", 128 * M, 0, addr: 0x200000000).Address);
    }

    [Fact]
    public void Plug_fails_without_slots()
    {
        var dm = DeviceMemory.For(QemuCommandLine.Parse("-m 1G").GetSpecOrThrow());
        Assert.Equal("no slots where allocated, please specify the 'slots' option", dm.Plug("a", 128 * M, 0).Error!.Message);
        Assert.NotNull(dm.Unplug("a"));
    }
}
