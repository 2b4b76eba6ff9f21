using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Profiles;

namespace Numasim.Tests.Mm;

/// <summary>The default hstate's per-node pool (mm/hugetlb.c): node writes, global round-robin, meminfo, and what
/// offline_pages() does to the free huge pages of a block.</summary>
public class HugetlbPoolTests
{
    // Two nodes, node 1 without an online CPU; its memory comes from a 512 MiB DIMM onlined movable (memory32-35).
    internal const string TwoNodes = "-m 1G,slots=4,maxmem=8G -smp 2,maxcpus=4,sockets=4,cores=1,threads=1 -object memory-backend-ram,id=m0,size=1G " +
        "-numa node,nodeid=0,memdev=m0 -numa node,nodeid=1 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 " +
        "-numa cpu,node-id=1,socket-id=2 -numa cpu,node-id=1,socket-id=3 -numa dist,src=0,dst=1,val=21";
    private const string Node1 = "/sys/devices/system/node/node1/hugepages/hugepages-2048kB/";
    private const string Node0 = "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/";
    private const string Global = "/sys/kernel/mm/hugepages/hugepages-2048kB/";

    internal static Machine BootWithMovableNode1(string profile = "v6.1")
    {
        var m = Machine.Boot(QemuCommandLine.Parse(TwoNodes).GetSpecOrThrow(), KernelProfile.Find(profile)!);
        m.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "mem1", ["size"] = "536870912" });
        m.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = "dimm1", ["memdev"] = "mem1", ["node"] = "1" });
        for (int b = 32; b < 36; b++) Assert.Equal(Errno.None, m.Write($"/sys/devices/system/memory/memory{b}/state", "online_movable"));
        return m;
    }

    private static string Text(Machine m, string path) => m.Read(path).Text;

    private static long Field(string text, string label) =>
        long.Parse(text.Split('\n').First(l => l.Contains(label + ":")).Split(':')[1].Replace("kB", "").Trim());

    [Fact]
    public void A_node_write_allocates_order_9_pages_from_that_node_only_and_meminfo_follows()
    {
        var m = BootWithMovableNode1();
        long node0Free = Field(Text(m, "/sys/devices/system/node/node0/meminfo"), "MemFree");
        long node1Free = Field(Text(m, "/sys/devices/system/node/node1/meminfo"), "MemFree");
        long commit = Field(Text(m, "/proc/meminfo"), "CommitLimit");
        Assert.Equal(Errno.None, m.Write(Node1 + "nr_hugepages", "80"));
        Assert.Equal("80\n", Text(m, Node1 + "nr_hugepages"));
        Assert.Equal("80\n", Text(m, Node1 + "free_hugepages"));
        Assert.Equal("0\n", Text(m, Node0 + "nr_hugepages"));
        Assert.Equal("80\n", Text(m, Global + "nr_hugepages"));
        Assert.Equal(node1Free - 80 * 2048, Field(Text(m, "/sys/devices/system/node/node1/meminfo"), "MemFree"));
        Assert.Equal(node0Free, Field(Text(m, "/sys/devices/system/node/node0/meminfo"), "MemFree"));
        var meminfo = Text(m, "/proc/meminfo");
        Assert.Contains("HugePages_Total:      80\nHugePages_Free:       80\nHugePages_Rsvd:        0\nHugePages_Surp:        0\n", meminfo);
        Assert.Contains("Hugetlb:          163840 kB\n", meminfo);
        Assert.Equal(commit - 80 * 2048 / 2, Field(meminfo, "CommitLimit"));
        Assert.Contains("Node 1 HugePages_Total:    80\n", Text(m, "/sys/devices/system/node/node1/meminfo"));
    }

    [Fact]
    public void A_node_write_beyond_its_free_memory_stops_at_the_first_failure_and_still_succeeds()
    {
        var m = BootWithMovableNode1();
        Assert.Equal(Errno.None, m.Write(Node1 + "nr_hugepages", "1000"));
        long got = long.Parse(Text(m, Node1 + "nr_hugepages"));
        Assert.InRange(got, 200, 255); // 512 MiB is 256 pages; watermarks keep some back
        Assert.Equal("0\n", Text(m, Node0 + "nr_hugepages"));
    }

    [Fact]
    public void Shrinking_a_node_pool_frees_its_pages_back_to_the_buddy()
    {
        var m = BootWithMovableNode1();
        long free = Field(Text(m, "/sys/devices/system/node/node1/meminfo"), "MemFree");
        m.Write(Node1 + "nr_hugepages", "64");
        Assert.Equal(Errno.None, m.Write(Node1 + "nr_hugepages", "10"));
        Assert.Equal("10\n", Text(m, Node1 + "nr_hugepages"));
        m.Write(Node1 + "nr_hugepages", "0");
        // __free_pages() of an order-9 page goes through the pcp lists (CONFIG_TRANSPARENT_HUGEPAGE): a few stay
        // there, outside NR_FREE_PAGES, until the list's high mark drains them
        long after = Field(Text(m, "/sys/devices/system/node/node1/meminfo"), "MemFree");
        Assert.InRange(after, free - 8 * 2048, free);
        Assert.True(after > free - 64 * 2048);
    }

    [Fact]
    public void The_global_file_spreads_the_pool_round_robin_over_nodes_with_memory()
    {
        var m = BootWithMovableNode1();
        Assert.Equal(Errno.None, m.Write(Global + "nr_hugepages", "20"));
        Assert.Equal("10\n", Text(m, Node0 + "nr_hugepages"));
        Assert.Equal("10\n", Text(m, Node1 + "nr_hugepages"));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("")]
    [InlineData("0x10")]
    public void A_malformed_count_is_EINVAL_and_changes_nothing(string value)
    {
        var m = BootWithMovableNode1();
        Assert.Equal(Errno.EINVAL, m.Write(Node1 + "nr_hugepages", value));
        Assert.Equal("0\n", Text(m, Node1 + "nr_hugepages"));
    }

    [Fact]
    public void Offlining_a_block_dissolves_its_free_huge_pages_and_the_pool_shrinks()
    {
        var m = BootWithMovableNode1();
        m.Write(Node1 + "nr_hugepages", "80");
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory32/state", "offline"));
        Assert.Equal("16\n", Text(m, Node1 + "nr_hugepages"));
        Assert.Equal("16\n", Text(m, Global + "free_hugepages"));
        var node1 = Text(m, "/sys/devices/system/node/node1/meminfo");
        Assert.Equal(393216, Field(node1, "MemTotal"));
        Assert.Equal(393216 - 16 * 2048, Field(node1, "MemFree"));
        // the dissolved pages went back to the buddy: the block can come back whole
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory32/state", "online_movable"));
        Assert.Equal(524288 - 16 * 2048, Field(Text(m, "/sys/devices/system/node/node1/meminfo"), "MemFree"));
    }
}
