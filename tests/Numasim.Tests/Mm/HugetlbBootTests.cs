using Numasim.Kernel;

namespace Numasim.Tests.Mm;

/// <summary>hugepages=, hugepagesz=, default_hugepagesz= (mm/hugetlb.c's __setup handlers) and hugetlb_init()'s
/// boot-time pool of the 2 MiB hstate, with the lines the kernel prints.</summary>
public class HugetlbBootTests
{
    private const string Node = "/sys/devices/system/node/node{0}/hugepages/hugepages-2048kB/nr_hugepages";

    private static string NodePages(Machine m, int nid) => m.Read(string.Format(Node, nid)).Text.Trim();

    private static bool Logged(Machine m, string line) => m.Dmesg().Any(l => l.EndsWith(line, StringComparison.Ordinal));

    [Fact]
    public void Hugepages_at_boot_in_6_1_follow_the_hstate_cursor_and_the_run_time_writes_continue_from_it()
    {
        var m = HugetlbSysctlTests.Boot("v6.1", "hugepages=7");
        Assert.Equal(("4", "3"), (NodePages(m, 0), NodePages(m, 1)));
        Assert.True(Logged(m, "HugeTLB: registered 2.00 MiB page size, pre-allocated 7 pages"));
        Assert.True(Logged(m, "HugeTLB: 28 KiB vmemmap can be freed for a 2.00 MiB page"));
        Assert.Equal(Errno.None, m.Write("/proc/sys/vm/nr_hugepages", "9"));
        Assert.Equal(("5", "4"), (NodePages(m, 0), NodePages(m, 1)));
    }

    [Theory]
    [InlineData("hugepages=7", "7", "0")]     // 7 chunks of 1 page, each from first_online_node
    [InlineData("hugepages=16", "8", "8")]    // min_chunk 4: 4 chunks of 4, 2 pages a node each
    [InlineData("hugepages=3", "3", "0")]     // min_chunk 0: 3 works, chunks of 1
    public void Hugepages_at_boot_in_6_12_come_in_padata_chunks_each_starting_at_node_0(string append, string node0, string node1)
    {
        var m = HugetlbSysctlTests.Boot("v6.12", append);
        Assert.Equal((node0, node1), (NodePages(m, 0), NodePages(m, 1)));
    }

    [Fact]
    public void The_per_node_form_allocates_each_node_its_count_and_reports_a_shortfall()
    {
        var m = HugetlbSysctlTests.Boot("v6.1", "hugepages=0:3,1:100000");
        Assert.Equal("3", NodePages(m, 0));
        long got = long.Parse(NodePages(m, 1));
        Assert.InRange(got, 400, 511);
        Assert.True(Logged(m, $"HugeTLB: allocating 100000 of page size 2.00 MiB failed node1.  Only allocated {got} hugepages."));
        Assert.Equal($"{3 + got}\n", m.Read("/proc/sys/vm/nr_hugepages").Text);
    }

    [Fact]
    public void A_balanced_count_beyond_memory_stops_at_the_first_failure_and_says_so()
    {
        var m = HugetlbSysctlTests.Boot("v6.1", "hugepages=100000");
        long got = long.Parse(m.Read("/proc/sys/vm/nr_hugepages").Text);
        Assert.InRange(got, 700, 1023);
        Assert.True(Logged(m, $"HugeTLB: allocating 100000 of page size 2.00 MiB failed.  Only allocated {got} hugepages."));
    }

    [Theory]
    [InlineData("hugepagesz=1G hugepages=1", "HugeTLB: unsupported hugepagesz=1G")]
    [InlineData("hugepagesz=1G hugepages=1", "HugeTLB: hugepages=1 does not follow a valid hugepagesz, ignoring")]
    [InlineData("hugepages=0:2,7:1", "HugeTLB: Invalid hugepages parameter 7:1")]
    [InlineData("hugepages=x", "HugeTLB: Invalid hugepages parameter x")]
    [InlineData("default_hugepagesz=4M", "HugeTLB: unsupported default_hugepagesz=4M")]
    [InlineData("default_hugepagesz=2M default_hugepagesz=2M", "HugeTLB: default_hugepagesz previously specified, ignoring 2M")]
    [InlineData("hugepagesz=2M hugepagesz=2M", "HugeTLB: hugepagesz=2M specified twice, ignoring")]
    [InlineData("hugepages=2 hugepages=3", "HugeTLB: hugepages= specified twice without interleaving hugepagesz=, ignoring hugepages=3")]
    [InlineData("hugepagesz=2M hugepages=2 hugepages=5", "HugeTLB: hugepages= specified twice without interleaving hugepagesz=, ignoring hugepages=5")]
    public void Bad_hugetlb_options_print_the_kernels_message(string append, string line)
    {
        var m = HugetlbSysctlTests.Boot("v6.1", append);
        Assert.True(Logged(m, line), string.Join("\n", m.Dmesg().Where(l => l.Contains("HugeTLB"))));
    }

    [Theory]
    [InlineData("hugepages=0:2,7:1", "0")]                       // invalid: hugepages_clear_pages_in_node()
    [InlineData("hugepages=2 hugepagesz=2M hugepages=5", "2")]    // the implicit default count overrides (with a warning)
    [InlineData("hugepages=3 default_hugepagesz=2M", "3")]         // taken over by default_hugepagesz=
    [InlineData("default_hugepagesz=2M hugepagesz=2M hugepages=4", "4")] // the default hstate may be named again
    [InlineData("hugepages=010", "10")]                           // vsscanf %lu: decimal
    public void The_boot_pool_is_what_the_handlers_leave(string append, string total)
    {
        var m = HugetlbSysctlTests.Boot("v6.1", append);
        Assert.Equal(total + "\n", m.Read("/proc/sys/vm/nr_hugepages").Text);
    }

    [Fact]
    public void An_implicit_default_count_after_an_explicit_one_warns_and_wins()
    {
        var m = HugetlbSysctlTests.Boot("v6.1", "hugepagesz=2M hugepages=5 hugepages=2");
        Assert.True(Logged(m, "HugeTLB: hugepages= specified twice without interleaving hugepagesz=, ignoring hugepages=2"));
        var m2 = HugetlbSysctlTests.Boot("v6.1", "hugepages=2 hugepagesz=2M hugepages=5");
        Assert.True(Logged(m2, "HugeTLB: Ignoring hugepages=5 associated with 2.00 MiB page size"));
        Assert.True(Logged(m2, "HugeTLB: Using hugepages=2 for number of default huge pages"));
    }

    [Fact]
    public void Hugetlb_options_are_consumed_not_passed_to_init()
    {
        var m = HugetlbSysctlTests.Boot("v6.1", "hugepages=1 foo");
        Assert.True(Logged(m, "Unknown kernel command line parameters \"nokaslr foo\", will be passed to user space."));
    }
}
