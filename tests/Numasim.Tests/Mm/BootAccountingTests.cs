using Numasim.Firmware;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Profiles;

namespace Numasim.Tests.Mm;

/// <summary>
/// Boot memory accounting against the real kernels: every expected figure is what Debian's 6.1.176 and 6.12.111
/// showed under QEMU 7.2 TCG booted with "nokaslr memblock=debug" and the oracle's 1,058,620-byte initramfs
/// (node N MemTotal of /sys/devices/system/node/nodeN/meminfo, and the boot log lines), recorded 2026-12-06.
/// </summary>
public class BootAccountingTests
{
    private const ulong OracleInitrd = 1058620;

    private const string Three = "-m 1536M -smp 6,sockets=3,cores=2,threads=1 -object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M -object memory-backend-ram,id=m2,size=512M -numa node,nodeid=0,memdev=m0,cpus=0-1 -numa node,nodeid=1,memdev=m1,cpus=2-3 -numa node,nodeid=2,memdev=m2,cpus=4-5 -numa dist,src=0,dst=1,val=20 -numa dist,src=0,dst=2,val=30 -numa dist,src=1,dst=2,val=25";
    private const string Four = "-m 2G -smp 6,sockets=3,cores=2,threads=1 -object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M -object memory-backend-ram,id=m2,size=512M -object memory-backend-ram,id=m3,size=512M -numa node,nodeid=0,memdev=m0,cpus=0-1 -numa node,nodeid=1,memdev=m1,cpus=2-3 -numa node,nodeid=2,memdev=m2,cpus=4-5 -numa node,nodeid=3,memdev=m3 -numa dist,src=0,dst=1,val=16 -numa dist,src=0,dst=2,val=22 -numa dist,src=0,dst=3,val=28 -numa dist,src=1,dst=2,val=16 -numa dist,src=1,dst=3,val=22 -numa dist,src=2,dst=3,val=16";
    private const string CpulessOneGig = "-m 2G -smp 2 -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G -numa node,nodeid=0,memdev=m0,cpus=0-1 -numa node,nodeid=1,memdev=m1 -numa dist,src=0,dst=1,val=21";
    private const string Hole4G = "-m 4G,slots=2,maxmem=8G -smp 4,sockets=2,cores=2 -object memory-backend-ram,id=m0,size=2G -object memory-backend-ram,id=m1,size=2G -numa node,nodeid=0,memdev=m0,cpus=0-1 -numa node,nodeid=1,memdev=m1,cpus=2-3";
    private const string NoNuma = "-m 512M -smp 8,sockets=2,cores=4,threads=1";
    private const string Memoryless = "-m 1G -smp 2,sockets=2,cores=1,threads=1 -object memory-backend-ram,id=m0,size=1G -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=1,socket-id=1 -numa dist,src=0,dst=1,val=21";

    private static Machine Boot(string qemu, string profile) =>
        Machine.Boot(QemuCommandLine.Parse(qemu).Spec! with { InitrdBytes = OracleInitrd }, KernelProfile.Find(profile));

    private static long MemTotalKb(Machine m, int nid)
    {
        var text = m.Read($"/sys/devices/system/node/node{nid}/meminfo").Text;
        var line = text.Split('\n')[0];
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3]);
    }

    [Theory]
    [InlineData("oracle", "v6.1", new long[] { 916540 })]
    [InlineData("oracle", "v6.12", new long[] { 924036 })]
    [InlineData("three", "v6.1", new long[] { 469128, 515424, 515244 })]
    [InlineData("three", "v6.12", new long[] { 476128, 515396, 515216 })]
    [InlineData("four", "v6.1", new long[] { 469128, 515424, 515424, 515740 })]
    [InlineData("four", "v6.12", new long[] { 476128, 515396, 515396, 515744 })]
    [InlineData("cpuless1g", "v6.1", new long[] { 985224, 1031836 })]
    [InlineData("cpuless1g", "v6.12", new long[] { 992224, 1031840 })]
    [InlineData("hole4g", "v6.1", new long[] { 2017416, 1997216 })]
    [InlineData("hole4g", "v6.12", new long[] { 2024416, 1997188 })]
    [InlineData("nonuma", "v6.1", new long[] { 466692 })]
    [InlineData("nonuma", "v6.12", new long[] { 473596 })]
    [InlineData("memoryless", "v6.1", new long[] { 983340 })]
    [InlineData("memoryless", "v6.12", new long[] { 990340 })]
    public void Every_nodes_boot_MemTotal_is_the_kernels_to_the_kB(string machine, string profile, long[] memTotalKb)
    {
        var qemu = machine switch
        {
            "oracle" => Numasim.Cli.Commands.BenchCommand.OracleQemu,
            "three" => Three, "four" => Four, "cpuless1g" => CpulessOneGig, "hole4g" => Hole4G, "nonuma" => NoNuma, _ => Memoryless,
        };
        var m = Boot(qemu, profile);
        for (int nid = 0; nid < memTotalKb.Length; nid++) Assert.Equal(memTotalKb[nid], MemTotalKb(m, nid));
    }

    [Fact]
    public void The_Memory_line_and_NODE_DATA_are_the_kernels()
    {
        var m = Boot(Numasim.Cli.Commands.BenchCommand.OracleQemu, "v6.1");
        var log = string.Join("\n", m.Dmesg());
        Assert.Contains("RAMDISK: [mem 0x3fedd000-0x3ffdffff]", log);
        Assert.Contains("NODE_DATA(0) allocated [mem 0x3feb1000-0x3fedbfff]", log);
        Assert.Contains("Memory: 207548K/1048056K available (14343K kernel code, 2338K rwdata, 9116K rodata, 2820K init, 17356K bss, 140608K reserved, 0K cma-reserved)", log);
        Assert.Contains("percpu: Embedded 62 pages/cpu s217088 r8192 d28672 u524288", log);
        var three = string.Join("\n", Boot(Three, "v6.1").Dmesg());
        Assert.Contains("NODE_DATA(2) allocated [mem 0x5feb1000-0x5fedbfff]", three);
        Assert.Contains("Memory: 469692K/1572344K available", three);
        var m612 = string.Join("\n", Boot(Numasim.Cli.Commands.BenchCommand.OracleQemu, "v6.12").Dmesg());
        Assert.Contains("NODE_DATA(0) allocated [mem 0x3feb1680-0x3fedbfff]", m612);
        Assert.Contains("CPU topo: Allowing 2 present CPUs plus 0 hotplug CPUs", m612);
        Assert.Contains("percpu: Embedded 66 pages/cpu s233472 r8192 d28672 u1048576", m612);
    }

    [Fact]
    public void Memoryless_nodes_get_their_pgdat_in_free_area_init_with_the_61_line()
    {
        var log61 = Boot(Memoryless, "v6.1").Dmesg().ToList();
        int init = log61.FindIndex(l => l.Contains("Initializing node 1 as memoryless"));
        int setup = log61.FindIndex(l => l.Contains("Initmem setup node 1 as memoryless"));
        Assert.True(init >= 0 && setup > init);
        Assert.DoesNotContain(Boot(Memoryless, "v6.12").Dmesg(), l => l.Contains("Initializing node 1 as memoryless"));
    }

    [Fact]
    public void A_kernel_phys_addr_moves_the_image_and_its_MemTotal_to_another_node()
    {
        var spec = QemuCommandLine.Parse(Three).Spec! with { InitrdBytes = OracleInitrd, KernelPhysAddr = 0x22000000 };
        var m = Machine.Boot(spec, KernelProfile.V6_1);
        // the image (53,248 KiB reserved, 8,056 KiB of it freed after boot) now costs node 1, not node 0
        Assert.Equal(469128 + 45192 + 68, MemTotalKb(m, 0)); // and its 17 brk pages
        Assert.Equal(515424 - 45192 - 68, MemTotalKb(m, 1));
    }

    [Fact]
    public void The_reservation_table_names_every_item_and_sums_to_what_MemTotal_misses()
    {
        var m = Boot(Numasim.Cli.Commands.BenchCommand.OracleQemu, "v6.1");
        var lines = ReservationReport.Lines(m.Kernel).ToList();
        Assert.Contains(lines, l => l.Contains("alloc_node_data") && l.Contains("NODE_DATA(0)"));
        Assert.Contains(lines, l => l.Contains("swiotlb_init_remap") && l.Contains("67108864"));
        Assert.Contains("node 0: present 1048056 kB, MemTotal 916540 kB, not managed 131516 kB", lines);
    }

    /// <summary>movable_node: setup_arch() makes memblock allocate bottom-up until numa_init() has parsed SRAT, so the
    /// real-mode trampoline goes to 0x10000 and numa_alloc_distance()'s page to 0x100000 (memblock=debug of both guests,
    /// 2026-12-07), one more page outside the packed top-down pages: MemTotal one page lower than without it.</summary>
    [Theory]
    [InlineData("v6.1", 916536)]
    [InlineData("v6.12", 924028)]
    public void Movable_node_allocates_bottom_up_until_numa_init_and_costs_the_distance_table_a_low_page(string profile, long memTotalKb)
    {
        var m = Boot(Numasim.Cli.Commands.BenchCommand.OracleQemu + " -append 'movable_node'", profile);
        Assert.Equal(memTotalKb, MemTotalKb(m, 0));
        var lines = ReservationReport.Lines(m.Kernel).ToList();
        Assert.Contains(lines, l => l.Contains("[mem 0x0000000000010000-0x0000000000016fff]") && l.Contains("reserve_real_mode"));
        Assert.Contains(lines, l => l.Contains("[mem 0x0000000000100000-0x0000000000100003]") && l.Contains("numa_alloc_distance"));
        // after numa_init() the allocations are top-down again: NODE_DATA(0) near the top of node 0's 1 GiB
        var nodeData = lines.Single(l => l.Contains("alloc_node_data") && l.Contains("NODE_DATA(0)"));
        ulong start = Convert.ToUInt64(nodeData.Split("[mem 0x")[1][..16], 16);
        Assert.InRange(start, 0x3f000000UL, 0x40000000UL);
    }

    private const string ThreeGibTwoNodes = "-m 3G -smp 2 -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=2G -numa node,nodeid=0,memdev=m0,cpus=0-1 -numa node,nodeid=1,memdev=m1 -numa dist,src=0,dst=1,val=21";

    /// <summary>With GBPAGES the direct map maps [1G, 2G), all one memory region, with one 1 GiB page: no PMD table,
    /// so node 1 keeps the page alloc_low_pages() takes from memblock without it (6.1.176, nokaslr, 2026-12-07: node 1
    /// managed 516007 pages with +pdpe1gb, 516006 without).</summary>
    [Theory]
    [InlineData("-cpu qemu64,+pdpe1gb ", 2064028, false)]
    [InlineData("", 2064024, true)]
    public void A_gib_of_one_memory_region_is_one_1g_direct_map_page_with_gbpages(string cpu, long node1Kb, bool pmdTableOnNode1)
    {
        var m = Boot(cpu + ThreeGibTwoNodes, "v6.1");
        Assert.Equal(node1Kb, MemTotalKb(m, 1));
        var lines = ReservationReport.Lines(m.Kernel).ToList();
        Assert.Equal(pmdTableOnNode1, lines.Any(l => l.Contains("alloc_low_pages") && l.TrimStart().StartsWith("1 ", StringComparison.Ordinal)));
    }

    /// <summary>hugepage_init() starts khugepaged after hugetlb_init() (mm/'s link order), so its setup_per_zone_wmarks()
    /// counts the 1 GiB boot page gather_bootmem_prealloc() made managed: the guest's zoneinfo min of node 0's DMA and
    /// DMA32 and node 1's DMA32 (6.1.176, nokaslr, the oracle's initramfs, with and without the hugetlb options).</summary>
    [Theory]
    [InlineData(" -append 'hugepagesz=1G hugepages=2 hugepagesz=2M hugepages=3'")]
    [InlineData("")]
    public void Khugepaged_sizes_the_watermarks_after_hugetlb_init_gave_back_the_gigantic_pages(string append)
    {
        var m = Boot("-cpu qemu64,+pdpe1gb " + ThreeGibTwoNodes + append, "v6.1");
        var mins = m.Read("/proc/zoneinfo").Text.Split('\n').Where(l => l.StartsWith("        min ", StringComparison.Ordinal))
            .Select(l => long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1])).Where(v => v > 0).ToList();
        Assert.Equal([85L, 5345L, 11465L], mins);
    }

    [Fact]
    public void An_initrd_above_a_mem_limit_is_moved_below_it_and_its_old_range_freed()
    {
        // recorded on 6.1.176 with this initrd: RAMDISK at the top of the 1 GiB, outside the direct map of mem=640M
        var m = Boot("-m 1G -smp 1 -append 'mem=640M'", "v6.1");
        var log = m.Dmesg().Select(l => l[(l.IndexOf(']') + 2)..]).ToList();
        Assert.Contains("RAMDISK: [mem 0x3fedd000-0x3ffdffff]", log);
        Assert.Contains("Allocated new RAMDISK: [mem 0x27efd000-0x27fff73b]", log);
        Assert.Contains("Move RAMDISK from [mem 0x3fedd000-0x3ffdf73b] to [mem 0x27efd000-0x27fff73b]", log);
        Assert.Contains("Freeing initrd memory: 1036K", log);
        Assert.DoesNotContain(m.Kernel.BootReservations.Items, r => r.Caller == "early_reserve_initrd");
    }

    [Fact]
    public void An_initrd_inside_the_direct_map_stays_where_the_loader_put_it()
    {
        var m = Boot("-m 1G -smp 1", "v6.1");
        Assert.DoesNotContain(m.Dmesg(), l => l.Contains("Allocated new RAMDISK"));
        Assert.Contains(m.Kernel.BootReservations.Items, r => r.Caller == "early_reserve_initrd");
    }
}
