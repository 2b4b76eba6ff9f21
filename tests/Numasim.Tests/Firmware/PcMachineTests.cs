using Numasim.Firmware;

namespace Numasim.Tests.Firmware;

public class PcMachineTests
{
    private const ulong G = 1UL << 30, M = 1UL << 20;

    private static MachineSpec Spec(string args) => QemuCommandLine.Parse(args).GetSpecOrThrow();

    [Fact]
    public void Oracle_machine_builds_the_srat_the_guest_printed()
    {
        var t = PcMachine.Build(Spec(QemuCommandLineTests.Oracle));
        Assert.Equal(
        [
            new SratMemoryAffinity(0x0, 0xa0000, 0, false),
            new SratMemoryAffinity(0x100000, 0x3ff00000, 0, false),
            new SratMemoryAffinity(0x100000000, 0x2c0000000, 1, true),
        ], t.SratMemory);
        Assert.Equal(0x3bfffffffUL, t.SratMemory[2].End - 1);
        Assert.Equal([new SratCpuAffinity(0, 0), new SratCpuAffinity(1, 0), new SratCpuAffinity(2, 1), new SratCpuAffinity(3, 1)], t.SratCpus);
        Assert.Equal([true, true, false, false], t.Cpus.Select(c => c.Enabled));
        Assert.Equal(new DeviceMemoryRegion(0x100000000, 11 * G, 4), t.DeviceMemory);
        Assert.NotNull(t.Slit);
        Assert.Equal(21, t.Slit![0][1]);
        Assert.True(t.HasSrat);
    }

    [Fact]
    public void E820_for_1G_matches_the_guests_BIOS_e820_lines()
    {
        var t = PcMachine.Build(Spec(QemuCommandLineTests.Oracle));
        Assert.Equal(
        [
            new E820Entry(0, 0x9fc00, E820Type.Ram),
            new E820Entry(0x9fc00, 0x400, E820Type.Reserved),
            new E820Entry(0xf0000, 0x10000, E820Type.Reserved),
            new E820Entry(0x100000, 0x3fee0000, E820Type.Ram),
            new E820Entry(0x3ffe0000, 0x20000, E820Type.Reserved),
            new E820Entry(0xfffc0000, 0x40000, E820Type.Reserved),
            new E820Entry(0xfd00000000, 0x300000000, E820Type.Reserved), // AMD HyperTransport range (qemu64 is AMD)
        ], t.E820); // the 6.1 guest under QEMU 7.2 TCG printed exactly these BIOS-e820 lines
    }

    [Theory]
    [InlineData(1UL << 30, 1UL << 30, 0UL)]
    [InlineData(0xdff00000UL, 0xdff00000UL, 0UL)]
    [InlineData(0xe0000000UL, 0xc0000000UL, 0x20000000UL)]
    [InlineData(8UL << 30, 3UL << 30, 5UL << 30)]
    public void Ram_splits_at_3G_once_it_reaches_3_5G(ulong ram, ulong below, ulong above)
    {
        Assert.Equal((below, above), PcMachine.SplitRam(ram));
    }

    [Fact]
    public void Srat_splits_nodes_at_the_pci_hole_and_skips_empty_nodes()
    {
        var s = Spec("-m 6G,slots=2,maxmem=10G -smp 3 -object memory-backend-ram,id=a,size=2G -object memory-backend-ram,id=b,size=4G " +
                     "-numa node,memdev=a,cpus=0 -numa node,cpus=1 -numa node,memdev=b,cpus=2");
        var t = PcMachine.Build(s);
        Assert.Equal(
        [
            new SratMemoryAffinity(0, 0xa0000, 0, false),
            new SratMemoryAffinity(0x100000, 2 * G - 0x100000, 0, false),
            new SratMemoryAffinity(2 * G, 1 * G, 2, false),
            new SratMemoryAffinity(4 * G, 3 * G, 2, false),
            new SratMemoryAffinity(7 * G, 4 * G + 2 * G, 2, true),
        ], t.SratMemory);
        Assert.Contains(new E820Entry(4 * G, 3 * G, E820Type.Ram), t.E820);
        Assert.Null(t.Slit);
    }

    [Fact]
    public void Device_memory_base_is_rounded_up_to_a_gigabyte()
    {
        var s = Spec("-m 3584M,slots=1,maxmem=8G");   // 3.5G -> 3G low, 512M high
        var r = PcMachine.DeviceMemoryRegionFor(s);
        Assert.Equal(new DeviceMemoryRegion(5 * G, 8 * G - 3584 * M + 1 * G, 1), r);   // ROUND_UP(4.5G, 1G)
    }

    [Fact]
    public void A_machine_without_numa_has_no_srat()
    {
        var t = PcMachine.Build(Spec("-m 1G -smp 2"));
        Assert.False(t.HasSrat);
        Assert.Null(t.DeviceMemory);
        Assert.Equal(2, t.Cpus.Count);
    }

    [Fact]
    public void A_big_machine_builds_and_round_trips()
    {
        var smp = new SmpSpec(4096, 8192, 1024, 1, 8, 1);
        var nodes = Enumerable.Range(0, 1024).Select(i => new NodeSpec(i, 64UL << 30)).ToList();
        var spec = new MachineSpec
        {
            RamBytes = 64UL << 40,
            MaxMemBytes = 65UL << 40,
            Slots = 64,
            Smp = smp,
            Nodes = nodes,
            CpuSlots = X86Topology.PossibleCpus(smp, i => i / 8),
        };
        var t = PcMachine.Build(spec);
        var text = MachineFile.Write(spec);
        var back = MachineFile.Parse(text, "big.yaml");
        Assert.Equal(8192, t.Cpus.Count);
        Assert.Equal(1023, t.SratMemory[^1].Pxm);
        Assert.True(t.SratMemory[^1].Hotpluggable);
        Assert.Equal(1027, t.SratMemory.Count);   // node 0 split at 640K and at the PCI hole, plus the hotplug entry
        Assert.Null(MachineSpecEquality.Difference(spec with { Name = back.Name }, back));
    }
}
