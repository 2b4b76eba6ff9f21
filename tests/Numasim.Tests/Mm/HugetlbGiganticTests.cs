using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Profiles;

namespace Numasim.Tests.Mm;

/// <summary>The 1 GiB hstate's run-time pool (alloc_contig_pages() of an aligned GiB in one zone up to ZONE_NORMAL).</summary>
public class HugetlbGiganticTests
{
    private const string Qemu = "-m 1G,slots=2,maxmem=4G -cpu qemu64,+pdpe1gb -smp 2 -object memory-backend-ram,id=m0,size=1G " +
        "-numa node,nodeid=0,memdev=m0,cpus=0-1 -numa node,nodeid=1 -numa dist,src=0,dst=1,val=21";
    private const string Global = "/sys/kernel/mm/hugepages/hugepages-1048576kB/";
    private const string Node1 = "/sys/devices/system/node/node1/hugepages/hugepages-1048576kB/";

    internal static Machine BootWithDimm(string online, string profile = "v6.1")
    {
        var m = Machine.Boot(QemuCommandLine.Parse(Qemu).GetSpecOrThrow(), KernelProfile.Find(profile)!);
        m.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "mem1", ["size"] = "1073741824" });
        m.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = "dimm1", ["memdev"] = "mem1", ["node"] = "1" });
        for (int b = 32; b < 40; b++) Assert.Equal(Errno.None, m.Write($"/sys/devices/system/memory/memory{b}/state", online));
        return m;
    }

    private static long MemFree(Machine m, int nid) =>
        long.Parse(m.Read($"/sys/devices/system/node/node{nid}/meminfo").Text.Split('\n').First(l => l.Contains("MemFree:")).Split(':')[1].Replace("kB", "").Trim());

    [Theory]
    [InlineData("v6.1")]
    [InlineData("v6.12")]
    public void A_free_aligned_gib_in_zone_normal_becomes_a_1g_page_and_goes_back_when_freed(string profile)
    {
        var m = BootWithDimm("online_kernel", profile);
        long free = MemFree(m, 1);
        Assert.Equal(Errno.None, m.Write(Node1 + "nr_hugepages", "1"));
        Assert.Equal("1\n", m.Read(Global + "nr_hugepages").Text);
        Assert.Equal(free - 1048576, MemFree(m, 1));
        Assert.Contains("Hugetlb:         1048576 kB\n", m.Read("/proc/meminfo").Text);
        Assert.Equal(Errno.None, m.Write(Global + "nr_hugepages", "0"));
        Assert.Equal(free, MemFree(m, 1));
        Assert.Equal("0\n", m.Read(Node1 + "nr_hugepages").Text);
    }

    [Fact]
    public void Zone_movable_never_gives_a_1g_page_and_boot_memory_below_an_aligned_gib_neither()
    {
        var m = BootWithDimm("online_movable");
        Assert.Equal(Errno.None, m.Write(Global + "nr_hugepages", "2"));
        Assert.Equal("0\n", m.Read(Global + "nr_hugepages").Text);
        Assert.Equal(1048576, MemFree(m, 1));
    }

    [Fact]
    public void Offlining_a_block_of_a_free_1g_page_is_ebusy_on_6_1_and_dissolves_it_whole_on_6_12()
    {
        var old = BootWithDimm("online_kernel", "v6.1");
        Assert.Equal(Errno.None, old.Write(Node1 + "nr_hugepages", "1"));
        Assert.Equal(Errno.EBUSY, old.Write("/sys/devices/system/memory/memory33/state", "offline"));
        Assert.Equal("1\n", old.Read(Global + "nr_hugepages").Text);
        Assert.Equal(0, MemFree(old, 1));
        var m = BootWithDimm("online_kernel", "v6.12");
        Assert.Equal(Errno.None, m.Write(Node1 + "nr_hugepages", "1"));
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory33/state", "offline"));
        Assert.Equal("0\n", m.Read(Global + "nr_hugepages").Text);
        Assert.Equal(1048576 - 131072, MemFree(m, 1));
    }

    [Fact]
    public void The_1g_hstate_refuses_overcommit_and_has_no_directory_without_pdpe1gb()
    {
        var m = BootWithDimm("online_kernel");
        Assert.Equal(Errno.EINVAL, m.Write(Global + "nr_overcommit_hugepages", "1"));
        Assert.Equal(Errno.EINVAL, m.Write(Global + "nr_hugepages", "x"));
        var plain = Machine.Boot(QemuCommandLine.Parse(Qemu.Replace(",+pdpe1gb", "")).GetSpecOrThrow(), KernelProfile.V6_1);
        Assert.NotEqual(Errno.None, plain.Read(Global + "nr_hugepages").Error);
    }

    [Theory]
    [InlineData("v6.1")]
    [InlineData("v6.12")]
    public void A_1g_boot_count_comes_from_memblock_falls_back_to_any_node_and_stops_at_the_first_failure(string profile)
    {
        const string threeGib = "-m 3G -cpu qemu64,+pdpe1gb -smp 2 -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=2G " +
            "-numa node,nodeid=0,memdev=m0,cpus=0-1 -numa node,nodeid=1,memdev=m1 -append 'hugepagesz=1G hugepages=2'";
        var m = Machine.Boot(QemuCommandLine.Parse(threeGib).GetSpecOrThrow(), KernelProfile.Find(profile)!);
        Assert.Contains(m.Dmesg(), l => l.EndsWith("HugeTLB: allocating 2 of page size 1.00 GiB failed.  Only allocated 1 hugepages.", StringComparison.Ordinal));
        Assert.Contains(m.Dmesg(), l => l.EndsWith("HugeTLB: registered 1.00 GiB page size, pre-allocated 1 pages", StringComparison.Ordinal));
        Assert.Equal("1\n", m.Read(Node1 + "nr_hugepages").Text);
        long free = MemFree(m, 1), total = long.Parse(m.Read("/sys/devices/system/node/node1/meminfo").Text.Split('\n')[0].Split(':')[1].Replace("kB", "").Trim());
        Assert.True(total > 2_000_000); // gather_bootmem_prealloc(): managed again
        Assert.Equal(Errno.None, m.Write(Global + "nr_hugepages", "0"));
        Assert.Equal(free + 1048576, MemFree(m, 1));
    }

    [Theory]
    [InlineData("default_hugepagesz=1G hugepages=1")]
    [InlineData("hugepages=1 default_hugepagesz=1G")] // default_hugepagesz_setup() allocates the earlier count itself
    public void A_1g_default_hstate_is_what_meminfo_and_the_vm_sysctls_show(string append)
    {
        const string threeGib = "-m 3G -cpu qemu64,+pdpe1gb -smp 2 -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=2G " +
            "-numa node,nodeid=0,memdev=m0,cpus=0-1 -numa node,nodeid=1,memdev=m1";
        var m = Machine.Boot(QemuCommandLine.Parse(threeGib + $" -append '{append}'").GetSpecOrThrow(), KernelProfile.V6_1);
        Assert.Empty(m.BootWarnings);
        Assert.Contains("HugePages_Total:       1\nHugePages_Free:        1\nHugePages_Rsvd:        0\nHugePages_Surp:        0\nHugepagesize:    1048576 kB\n",
            m.Read("/proc/meminfo").Text);
        Assert.Equal("1\n", m.Read("/proc/sys/vm/nr_hugepages").Text);
        Assert.Contains("Node 1 HugePages_Total:     1\n", m.Read("/sys/devices/system/node/node1/meminfo").Text);
        Assert.Equal(Errno.EINVAL, m.Write("/proc/sys/vm/nr_overcommit_hugepages", "0"));
        Assert.Equal(Errno.None, m.Write("/proc/sys/vm/nr_hugepages", "0"));
        Assert.Equal("0\n", m.Read(Global + "nr_hugepages").Text);
        // without pdpe1gb there is no 1 GiB hstate: the default stays 2 MiB
        var plain = Machine.Boot(QemuCommandLine.Parse(Qemu.Replace(",+pdpe1gb", "") + " -append 'default_hugepagesz=1G'").GetSpecOrThrow(), KernelProfile.V6_1);
        Assert.Contains("Hugepagesize:       2048 kB\n", plain.Read("/proc/meminfo").Text);
    }
}
