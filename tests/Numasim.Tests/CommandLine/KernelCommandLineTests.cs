using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Hotplug;
using Numasim.Kernel.Init;
using Numasim.Kernel.Profiles;

namespace Numasim.Tests.CommandLine;

public class KernelCommandLineTests
{
    internal const string Oracle = "-m 1G,slots=4,maxmem=8G -smp 2,maxcpus=4,sockets=4,cores=1,threads=1 -object memory-backend-ram,id=m0,size=1G -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 -numa cpu,node-id=1,socket-id=2 -numa cpu,node-id=1,socket-id=3 -numa dist,src=0,dst=1,val=21";

    internal static Machine Boot(string append, KernelProfile? profile = null, string extra = "") =>
        Machine.Boot(QemuCommandLine.Parse($"{Oracle} {extra} -append '{append}'").GetSpecOrThrow(), profile ?? KernelProfile.V6_1);

    [Theory]
    [InlineData("a b=c", "a|b=c")]
    [InlineData("  x=\"one two\"  y", "x=one two|y")]
    [InlineData("\"q=1 2\" z", "q=1 2|z")]
    [InlineData("a -- b c", "a")]
    public void Next_arg_splits_words_and_strips_quotes_as_the_kernel_does(string line, string expected)
    {
        var words = CmdlineParsing.SplitArgs(line, out _).Select(a => a.Val is null ? a.Param : $"{a.Param}={a.Val}");
        Assert.Equal(expected, string.Join('|', words));
    }

    [Theory]
    [InlineData("512M", 512UL << 20)]
    [InlineData("1g", 1UL << 30)]
    [InlineData("0x1000", 4096UL)]
    [InlineData("010", 8UL)]
    [InlineData("abc", 0UL)]
    [InlineData("2K3", 2048UL)]
    public void Memparse_reads_sizes_with_suffixes_and_c_radix_prefixes(string text, ulong bytes) =>
        Assert.Equal(bytes, CmdlineParsing.Memparse(text, out _));

    [Fact]
    public void Dashes_and_underscores_name_the_same_parameter() =>
        Assert.True(CmdlineParsing.ParamEq("memory-hotplug.online_policy", "memory_hotplug.online-policy"));

    [Fact]
    public void Unknown_options_are_named_once_and_passed_to_init_argv_first_then_env()
    {
        var m = Boot("x=1 foo x=2 bar memhp_default_state=online");
        Assert.Contains("Unknown kernel command line parameters \"nokaslr foo bar x=2\", will be passed to user space.", m.Dmesg().Select(Strip));
        Assert.Equal("online\n", m.Read("/sys/devices/system/memory/auto_online_blocks").Text);
        Assert.Equal(DefaultCommandLine.Text + " x=1 foo x=2 bar memhp_default_state=online\n", m.Read("/proc/cmdline").Text);
    }

    [Fact]
    public void Malformed_values_are_reported_as_the_kernel_reports_them_and_leave_defaults()
    {
        var m = Boot("movablecore mem=nopentium memory_hotplug.online_policy=zzz memory_hotplug.auto_movable_ratio=9999999999");
        var log = m.Dmesg().Select(Strip).ToList();
        Assert.Contains("Malformed early option 'movablecore'", log);
        Assert.Contains("Malformed early option 'mem'", log);
        Assert.Contains("Booting kernel: `zzz' invalid for parameter `memory_hotplug.online_policy'", log);
        Assert.Contains("Booting kernel: `9999999999' invalid for parameter `memory_hotplug.auto_movable_ratio'", log);
        Assert.Equal("contig-zones\n", m.Read("/sys/module/memory_hotplug/parameters/online_policy").Text);
        Assert.Equal("301\n", m.Read("/sys/module/memory_hotplug/parameters/auto_movable_ratio").Text);
    }

    [Fact]
    public void Known_options_the_model_lacks_are_warned_about_by_name_and_console_options_are_not()
    {
        var m = Boot("console=ttyS0 quiet hugepages=4 hugetlb_cma=64M cma=64M memblock=debug nokaslr panic=10");
        var w = string.Join('\n', m.BootWarnings);
        Assert.Contains("'hugetlb_cma'", w);
        Assert.DoesNotContain("'hugepages'", w); // modelled (Mm/HugetlbCmdline)
        Assert.Contains("'cma'", w);
        Assert.DoesNotContain("memblock", w);   // its calls are the model's reservation items
        Assert.DoesNotContain("panic", w);
        Assert.DoesNotContain("console", w);
        Assert.DoesNotContain("nokaslr", w);
    }

    [Fact]
    public void Memmap_on_memory_takes_force_only_on_6_12_and_6_1_reads_it_as_false()
    {
        var m61 = Boot("memory_hotplug.memmap_on_memory=force");
        Assert.Equal("N\n", m61.Read("/sys/module/memory_hotplug/parameters/memmap_on_memory").Text);
        // 6.1's param_set_bool() reads "force" as kstrtobool() does: 'f' is false, no complaint.
        Assert.DoesNotContain(m61.Dmesg(), l => l.Contains("invalid for parameter", StringComparison.Ordinal));
        var m612 = Boot("memory_hotplug.memmap_on_memory=force", KernelProfile.V6_12);
        Assert.Equal("force\n", m612.Read("/sys/module/memory_hotplug/parameters/memmap_on_memory").Text);
        Assert.Contains(m612.Dmesg(), l => l.EndsWith("Memory hotplug will waste 0 pages in each memory block", StringComparison.Ordinal));
    }

    [Fact]
    public void A_read_only_module_parameter_refuses_writes_and_writable_ones_validate()
    {
        var m = Boot("");
        Assert.Equal(Errno.EACCES, m.Write("/sys/module/memory_hotplug/parameters/memmap_on_memory", "1"));
        Assert.Equal(Errno.ERANGE, m.Write("/sys/module/memory_hotplug/parameters/auto_movable_ratio", "99999999999"));
        Assert.Equal(Errno.None, m.Write("/sys/module/memory_hotplug/parameters/auto_movable_numa_aware", "off"));
        Assert.Equal("N\n", m.Read("/sys/module/memory_hotplug/parameters/auto_movable_numa_aware").Text);
    }

    [Fact]
    public void Version_4_kernels_have_no_memory_hotplug_module_parameters()
    {
        var m = Boot("memory_hotplug.online_policy=auto-movable", KernelProfile.V4_19);
        Assert.False(m.Fs.Exists("/sys/module/memory_hotplug"));
        Assert.DoesNotContain(m.Dmesg(), l => l.Contains("invalid for parameter", StringComparison.Ordinal));
    }

    [Fact]
    public void Maxcpus_leaves_the_other_present_cpus_offline_and_nr_cpus_caps_the_possible_ones()
    {
        var m = Boot("maxcpus=1");
        Assert.Equal("0\n", m.Read("/sys/devices/system/cpu/online").Text);
        Assert.Equal("0-1\n", m.Read("/sys/devices/system/cpu/present").Text);
        var n = Boot("nr_cpus=2");
        Assert.Equal("0-1\n", n.Read("/sys/devices/system/cpu/possible").Text);
        Assert.Contains(n.Dmesg(), l => l.EndsWith("4 Processors exceeds NR_CPUS limit of 2", StringComparison.Ordinal));
        var p = Boot("possible_cpus=3");
        Assert.Equal("0-2\n", p.Read("/sys/devices/system/cpu/possible").Text);
    }

    [Fact]
    public void Mem_cuts_boot_ram_at_the_limit()
    {
        var m = Boot("mem=640M");
        Assert.True(m.Fs.Exists("/sys/devices/system/memory/memory4"));
        Assert.False(m.Fs.Exists("/sys/devices/system/memory/memory5"));
        Assert.Contains(m.Dmesg(), l => l.EndsWith("user: [mem 0x0000000000100000-0x0000000027ffffff] usable", StringComparison.Ordinal));
    }

    [Fact]
    public void Numa_off_makes_one_node_and_a_dimm_for_node_1_lands_on_node_0()
    {
        var m = Boot("numa=off memhp_default_state=online");
        Assert.Equal("0\n", m.Read("/sys/devices/system/node/possible").Text);
        Assert.True(m.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "b", ["size"] = "134217728" }).Ok);
        Assert.True(m.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = "d", ["memdev"] = "b", ["node"] = "1" }).Ok);
        Assert.True(m.Fs.Exists("/sys/devices/system/node/node0/memory32"));
    }

    [Fact]
    public void A_machine_file_takes_the_command_line_as_cmdline()
    {
        var spec = MachineFile.Parse("qemu: \"-m 1G\"\ncmdline: \"movablecore=256M\"\n", "m.yaml");
        Assert.Equal("movablecore=256M", spec.CommandLine);
        var back = MachineFile.Parse(MachineFile.Write(spec), "m.yaml");
        Assert.Equal("movablecore=256M", back.CommandLine);
        Assert.Equal(DefaultCommandLine.Text + " movablecore=256M\n", Machine.Boot(spec).Read("/proc/cmdline").Text);
    }

    internal static string Strip(string dmesgLine) => dmesgLine[(dmesgLine.IndexOf(']') + 2)..];
}
