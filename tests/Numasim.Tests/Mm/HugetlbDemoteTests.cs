using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Profiles;

namespace Numasim.Tests.Mm;

/// <summary>The 1 GiB hstate's demote interface (demote_size, demote; mm/hugetlb.c v5.16+).</summary>
public class HugetlbDemoteTests
{
    // nodes 1 and 2 have a CPU each, so SRAT names them and their DIMMs are theirs
    private const string Qemu = "-m 1G,slots=4,maxmem=16G -cpu qemu64,+pdpe1gb -smp 3 -object memory-backend-ram,id=m0,size=1G " +
        "-numa node,nodeid=0,memdev=m0,cpus=0 -numa node,nodeid=1,cpus=1 -numa node,nodeid=2,cpus=2";
    private const string Global = "/sys/kernel/mm/hugepages/hugepages-1048576kB/";

    private static string Node(int nid, string size = "1048576kB") => $"/sys/devices/system/node/node{nid}/hugepages/hugepages-{size}/";

    /// <summary>A 3 GiB DIMM on node 1 and a 2 GiB one on node 2, onlined to ZONE_NORMAL (each node's first GiB then
    /// holds its CPU's kernel pages), and three 1 GiB pages: node 1, node 2, node 1 (the alloc cursor; node 0 has no
    /// free aligned GiB).</summary>
    private static Machine BootWithGigPages(string profile)
    {
        var m = Machine.Boot(QemuCommandLine.Parse(Qemu).GetSpecOrThrow(), KernelProfile.Find(profile)!);
        void Dimm(string id, long bytes, int nid)
        {
            m.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "m" + id, ["size"] = bytes.ToString() });
            m.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = id, ["memdev"] = "m" + id, ["node"] = nid.ToString() });
        }
        Dimm("d1", 3L << 30, 1);
        Dimm("d2", 2L << 30, 2);
        for (int b = 32; b < 72; b++) Assert.Equal(Errno.None, m.Write($"/sys/devices/system/memory/memory{b}/state", "online_kernel"));
        Assert.Equal(Errno.None, m.Write(Global + "nr_hugepages", "3"));
        Assert.Equal("2\n", m.Read(Node(1) + "nr_hugepages").Text);
        Assert.Equal("1\n", m.Read(Node(2) + "nr_hugepages").Text);
        return m;
    }

    [Theory]
    [InlineData("v6.1", "1\n", "0\n")] // one page per pass of the free cursor: node 1, then node 2
    [InlineData("v6.12", "0\n", "1\n")] // a batch from the first node with pages: both of node 1
    public void A_global_demote_walks_the_free_cursor_per_page_on_6_1_and_per_node_batch_on_6_12(string profile, string node1, string node2)
    {
        var m = BootWithGigPages(profile);
        long memFree = MemFreeKb(m);
        Assert.Equal(Errno.None, m.Write(Global + "demote", "2"));
        Assert.Equal(node1, m.Read(Node(1) + "nr_hugepages").Text);
        Assert.Equal(node2, m.Read(Node(2) + "nr_hugepages").Text);
        Assert.Equal("1024\n", m.Read("/proc/sys/vm/nr_hugepages").Text);
        Assert.Contains("HugePages_Total:    1024\nHugePages_Free:     1024\n", m.Read("/proc/meminfo").Text);
        Assert.Equal(memFree, MemFreeKb(m)); // the parts stay allocated
        // the 2 MiB parts go back to the buddy one by one (through the pcp lists: MemFree does not show all at once);
        // the third 1 GiB page stays
        Assert.Equal(Errno.None, m.Write("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "0"));
        Assert.Contains("HugePages_Total:       0\n", m.Read("/proc/meminfo").Text);
        Assert.Contains("Hugetlb:         1048576 kB\n", m.Read("/proc/meminfo").Text);
        Assert.True(MemFreeKb(m) > memFree + 1048576);
    }

    [Fact]
    public void A_nodes_demote_takes_only_that_nodes_pages_and_more_than_it_has_is_no_error()
    {
        var m = BootWithGigPages("v6.1");
        Assert.Equal(Errno.None, m.Write(Node(0) + "demote", "1"));
        Assert.Equal("3\n", m.Read(Global + "nr_hugepages").Text);
        Assert.Equal(Errno.None, m.Write(Node(2) + "demote", "5"));
        Assert.Equal("0\n", m.Read(Node(2) + "nr_hugepages").Text);
        Assert.Equal("2\n", m.Read(Node(1) + "nr_hugepages").Text);
        Assert.Equal("512\n", m.Read(Node(2, "2048kB") + "nr_hugepages").Text);
        Assert.Equal(Errno.EINVAL, m.Write(Node(1) + "demote", "0x1"));
        Assert.Equal(Errno.EINVAL, m.Write(Node(1) + "demote", "-1"));
        Assert.Equal("2\n", m.Read(Node(1) + "nr_hugepages").Text);
    }

    [Theory]
    [InlineData("2M", Errno.None)]
    [InlineData("2048K", Errno.None)]
    [InlineData("2097152", Errno.None)]
    [InlineData("1G", Errno.EINVAL)]
    [InlineData("4M", Errno.EINVAL)]
    [InlineData("4k", Errno.EINVAL)]
    [InlineData("x", Errno.EINVAL)]
    public void Demote_size_names_the_2m_hstate_only(string value, Errno expected)
    {
        var m = Machine.Boot(QemuCommandLine.Parse(Qemu).GetSpecOrThrow(), KernelProfile.V6_1);
        Assert.Equal(expected, m.Write(Global + "demote_size", value));
        Assert.Equal(expected, m.Write(Node(0) + "demote_size", value));
        Assert.Equal("2048kB\n", m.Read(Global + "demote_size").Text);
        Assert.Equal("2048kB\n", m.Read(Node(0) + "demote_size").Text);
    }

    [Fact]
    public void The_demote_files_need_v5_16_and_a_gigantic_hstate()
    {
        var old = Machine.Boot(QemuCommandLine.Parse(Qemu).GetSpecOrThrow(), KernelProfile.V4_19);
        Assert.Equal(Errno.ENOENT, old.Read(Global + "demote_size").Error);
        Assert.Equal(Errno.ENOENT, old.Read(Node(0) + "demote_size").Error);
        var plain = Machine.Boot(QemuCommandLine.Parse(Qemu.Replace(",+pdpe1gb", "")).GetSpecOrThrow(), KernelProfile.V6_1);
        Assert.Equal(Errno.ENOENT, plain.Read(Global + "demote_size").Error);
        Assert.Equal(Errno.ENOENT, plain.Read("/sys/kernel/mm/hugepages/hugepages-2048kB/demote_size").Error);
    }

    private static long MemFreeKb(Machine m) =>
        long.Parse(m.Read("/proc/meminfo").Text.Split('\n').First(l => l.StartsWith("MemFree:", StringComparison.Ordinal)).Split(':')[1].Replace("kB", "").Trim());
}
