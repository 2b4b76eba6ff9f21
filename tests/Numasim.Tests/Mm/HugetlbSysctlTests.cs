using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Profiles;

namespace Numasim.Tests.Mm;

/// <summary>/proc/sys/vm's hugetlb entries: proc_doulongvec_minmax() parsing, the default hstate acted on as by the
/// global sysfs file, and nr_overcommit_hugepages kept in h->nr_overcommit_huge_pages.</summary>
public class HugetlbSysctlTests
{
    internal const string TwoBootNodes = "-m 2G -smp 2 -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G " +
        "-numa node,nodeid=0,memdev=m0,cpus=0-1 -numa node,nodeid=1,memdev=m1 -numa dist,src=0,dst=1,val=21";
    private const string Vm = "/proc/sys/vm/";
    private const string Global = "/sys/kernel/mm/hugepages/hugepages-2048kB/";

    internal static Machine Boot(string profile = "v6.1", string append = "") =>
        Machine.Boot(QemuCommandLine.Parse(TwoBootNodes + (append.Length > 0 ? $" -append '{append}'" : "")).GetSpecOrThrow(), KernelProfile.Find(profile)!);

    [Theory]
    [InlineData("10", 10UL)]
    [InlineData("10\n", 10UL)]
    [InlineData("  \t0x0a\n", 10UL)]
    [InlineData("013", 11UL)]
    [InlineData("0", 0UL)]
    [InlineData("4 junk", 4UL)]
    [InlineData("4\tjunk", 4UL)]
    [InlineData("18446744073709551615", ulong.MaxValue)]
    public void Proc_doulongvec_minmax_takes_base_0_numbers_after_white_space(string buf, ulong want)
    {
        Assert.Equal(Errno.None, HugetlbSysctl.ProcDoulongvecMinmax(buf, out var v));
        Assert.Equal(want, v);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n")]
    [InlineData("   ")]
    [InlineData("-1")]
    [InlineData("-0")]
    [InlineData("+5")]
    [InlineData("5abc")]
    [InlineData("09")]
    [InlineData("0x")]
    [InlineData("18446744073709551616")]
    [InlineData("000000000000000000004")]
    [InlineData("-")]
    public void Proc_doulongvec_minmax_refuses_signs_garbage_overflow_and_empty_writes(string buf) =>
        Assert.Equal(Errno.EINVAL, HugetlbSysctl.ProcDoulongvecMinmax(buf, out _));

    [Fact]
    public void Proc_sys_vm_nr_hugepages_balances_over_n_memory_and_shows_max_huge_pages()
    {
        var m = Boot();
        Assert.Equal("0\n", m.Read(Vm + "nr_hugepages").Text);
        Assert.Equal(Errno.None, m.Write(Vm + "nr_hugepages", "0x0a"));
        Assert.Equal("10\n", m.Read(Vm + "nr_hugepages").Text);
        Assert.Equal("10\n", m.Read(Vm + "nr_hugepages_mempolicy").Text);
        Assert.Equal("10\n", m.Read(Global + "nr_hugepages").Text);
        Assert.Equal("5\n", m.Read("/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages").Text);
        Assert.Equal(Errno.None, m.Write(Vm + "nr_hugepages_mempolicy", "3"));
        Assert.Equal("3\n", m.Read(Global + "nr_hugepages").Text);
    }

    [Fact]
    public void A_refused_sysctl_write_leaves_the_pool_unchanged()
    {
        var m = Boot();
        Assert.Equal(Errno.None, m.Write(Vm + "nr_hugepages", "4"));
        foreach (var bad in new[] { "-1", "5abc", "", "+2" })
            Assert.Equal(Errno.EINVAL, m.Write(Vm + "nr_hugepages", bad));
        Assert.Equal("4\n", m.Read(Vm + "nr_hugepages").Text);
        Assert.Equal(Errno.EINVAL, m.Write(Global + "nr_hugepages", "0x10")); // kstrtoul(base 10) in sysfs
    }

    [Fact]
    public void Nr_overcommit_hugepages_is_kept_and_shown_in_proc_sys_and_sysfs()
    {
        var m = Boot();
        Assert.Equal("0\n", m.Read(Vm + "nr_overcommit_hugepages").Text);
        Assert.Equal(Errno.None, m.Write(Vm + "nr_overcommit_hugepages", "0x20"));
        Assert.Equal("32\n", m.Read(Global + "nr_overcommit_hugepages").Text);
        Assert.Equal(Errno.None, m.Write(Global + "nr_overcommit_hugepages", "7"));
        Assert.Equal("7\n", m.Read(Vm + "nr_overcommit_hugepages").Text);
        Assert.Equal(Errno.EINVAL, m.Write(Global + "nr_overcommit_hugepages", "0x7"));
        Assert.Equal(Errno.EINVAL, m.Write(Vm + "nr_overcommit_hugepages", "-7"));
        Assert.Equal("7\n", m.Read(Vm + "nr_overcommit_hugepages").Text);
        Assert.Equal("0\n", m.Read(Global + "surplus_hugepages").Text);
        Assert.Equal("0\n", m.Read(Global + "nr_hugepages").Text);
    }
}
