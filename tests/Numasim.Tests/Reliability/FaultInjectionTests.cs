using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Oracle;
using static Numasim.Tests.Cli.CliHarness;

namespace Numasim.Tests.Reliability;

/// <summary>memory-notifier-error-inject as lib/memory-notifier-error-inject.c does it, and the modules mechanism of the oracle.</summary>
public class FaultInjectionTests
{
    private const string Knobs = "/sys/kernel/debug/notifier-error-inject/memory/actions";

    private static Machine WithMovableBlock()
    {
        var m = Machine.Boot(QemuCommandLine.Parse(OracleQemu).Spec!);
        Assert.True(m.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "mem1", ["size"] = "268435456" }).Ok);
        Assert.True(m.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = "d1", ["memdev"] = "mem1", ["node"] = "0" }).Ok);
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory32/state", "online_movable"));
        return m;
    }

    [Fact]
    public void Going_offline_refused_by_the_injector_fails_with_its_errno_and_leaves_the_block_as_it_was()
    {
        var m = WithMovableBlock();
        var before = m.Read("/proc/zoneinfo").Text + m.Read("/proc/buddyinfo").Text + m.Read("/sys/devices/system/node/node0/meminfo").Text;
        Assert.Equal(Errno.None, m.Modprobe("memory-notifier-error-inject"));
        Assert.Equal(Errno.None, m.Write($"{Knobs}/MEM_GOING_OFFLINE/error", "-12"));
        Assert.Equal(Errno.ENOMEM, m.Write("/sys/devices/system/memory/memory32/state", "offline"));
        Assert.Equal("online\n", m.Read("/sys/devices/system/memory/memory32/state").Text);
        Assert.Contains(m.Dmesg(), l => l.EndsWith("Injecting error (-12) to MEM_GOING_OFFLINE", StringComparison.Ordinal));
        Assert.Equal(before, m.Read("/proc/zoneinfo").Text + m.Read("/proc/buddyinfo").Text + m.Read("/sys/devices/system/node/node0/meminfo").Text);
    }

    [Fact]
    public void An_unmovable_page_is_found_before_the_notifier_is_asked_as_offline_pages_isolates_first()
    {
        var m = Machine.Boot(QemuCommandLine.Parse(OracleQemu).Spec!);
        m.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "mem1", ["size"] = "268435456" });
        m.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = "d1", ["memdev"] = "mem1", ["node"] = "0" });
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory32/state", "online_kernel"));
        // The kernel's own allocations land in the new ZONE_NORMAL block (KernelAllocations): it is busy.
        m.Modprobe("memory-notifier-error-inject");
        m.Write($"{Knobs}/MEM_GOING_OFFLINE/error", "-12");
        Assert.Equal(Errno.EBUSY, m.Write("/sys/devices/system/memory/memory32/state", "offline"));
        Assert.DoesNotContain(m.Dmesg(), l => l.Contains("Injecting error", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("-12", "-12")]
    [InlineData("0x10", "0")]
    [InlineData("-99999", "-4095")]
    [InlineData("4294967284", "-12")] // clamp_t(int, val, ...) casts to int first
    [InlineData("-0x10", "-16")]
    public void The_error_knob_clamps_as_debugfs_errno_set_does(string written, string reads)
    {
        var m = WithMovableBlock();
        m.Modprobe("memory_notifier_error_inject");
        Assert.Equal(Errno.None, m.Write($"{Knobs}/MEM_GOING_ONLINE/error", written));
        Assert.Equal(reads + "\n", m.Read($"{Knobs}/MEM_GOING_ONLINE/error").Text);
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("")]
    [InlineData("1 2")]
    public void The_error_knob_refuses_what_kstrtoll_refuses(string written)
    {
        var m = WithMovableBlock();
        m.Modprobe("memory-notifier-error-inject");
        Assert.Equal(Errno.EINVAL, m.Write($"{Knobs}/MEM_GOING_ONLINE/error", written));
    }

    [Fact]
    public void Rmmod_removes_the_knobs_and_the_notifier_and_the_base_module_stays_in_use_until_then()
    {
        var m = WithMovableBlock();
        Assert.Equal(Errno.None, m.Modprobe("memory-notifier-error-inject", parameters: "priority=10"));
        Assert.Equal(Errno.EAGAIN, m.Rmmod("notifier-error-inject"));
        m.Write($"{Knobs}/MEM_GOING_OFFLINE/error", "-1");
        Assert.Equal(Errno.None, m.Rmmod("memory-notifier-error-inject"));
        Assert.False(m.Fs.Exists("/sys/kernel/debug/notifier-error-inject/memory"));
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory32/state", "offline"));
        Assert.Equal(Errno.None, m.Rmmod("notifier-error-inject"));
        Assert.False(m.Fs.Exists("/sys/kernel/debug/notifier-error-inject"));
        Assert.Equal(Errno.ENOENT, m.Modprobe("no-such-module"));
        Assert.Equal(Errno.ENOENT, m.Modprobe("memory-notifier-error-inject", parameters: "bogus=1"));
    }

    [Fact]
    public void A_clone_keeps_its_own_injector()
    {
        var m = WithMovableBlock();
        m.Modprobe("memory-notifier-error-inject");
        var c = m.Clone();
        Assert.Equal(Errno.None, c.Write($"{Knobs}/MEM_GOING_OFFLINE/error", "-16"));
        Assert.Equal(Errno.EBUSY, c.Write("/sys/devices/system/memory/memory32/state", "offline"));
        Assert.Equal("0\n", m.Read($"{Knobs}/MEM_GOING_OFFLINE/error").Text);
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory32/state", "offline"));
        Assert.Equal("online\n", c.Read("/sys/devices/system/memory/memory32/state").Text);
    }

    [Fact]
    public void Module_dependencies_come_from_the_modinfo_section()
    {
        // A minimal ELF64 with a .modinfo section holding "depends=notifier-error-inject".
        var modinfo = System.Text.Encoding.ASCII.GetBytes("license=GPL\0depends=notifier-error-inject\0name=memory_notifier_error_inject\0");
        var shstr = System.Text.Encoding.ASCII.GetBytes("\0.shstrtab\0.modinfo\0");
        int shoff = 64 + modinfo.Length + shstr.Length;
        var elf = new byte[shoff + 3 * 64];
        elf[0] = 0x7f; elf[1] = (byte)'E'; elf[2] = (byte)'L'; elf[3] = (byte)'F'; elf[4] = 2;
        BitConverter.GetBytes((long)shoff).CopyTo(elf, 0x28);
        BitConverter.GetBytes((ushort)64).CopyTo(elf, 0x3A);
        BitConverter.GetBytes((ushort)3).CopyTo(elf, 0x3C);
        BitConverter.GetBytes((ushort)1).CopyTo(elf, 0x3E);
        modinfo.CopyTo(elf, 64);
        shstr.CopyTo(elf, 64 + modinfo.Length);
        void Section(int i, int name, long off, long size)
        {
            int h = shoff + i * 64;
            BitConverter.GetBytes(name).CopyTo(elf, h);
            BitConverter.GetBytes(off).CopyTo(elf, h + 24);
            BitConverter.GetBytes(size).CopyTo(elf, h + 32);
        }
        Section(1, 1, 64 + modinfo.Length, shstr.Length);
        Section(2, 11, 64, modinfo.Length);
        Assert.Equal(["notifier_error_inject"], GuestModules.Depends(elf));
    }

    [Fact]
    public void The_injector_runs_on_the_real_kernel_and_kvm_intel_stays_model_only()
    {
        Assert.True(GuestModules.RunsLive(new Numasim.Scenarios.ScenarioStep("modprobe", new Dictionary<string, string> { ["module"] = "memory-notifier-error-inject" }, null, 1)));
        Assert.True(KernelRun.IsModelOnly(new Numasim.Scenarios.ScenarioStep("modprobe", new Dictionary<string, string>(), "kvm_intel", 1)));
    }
}

/// <summary>fail_page_alloc's knobs and should_fail_alloc_page()'s filters.</summary>
public class FailPageAllocTests
{
    [Fact]
    public void A_knob_refuses_what_its_debugfs_file_refuses_and_keeps_its_value()
    {
        var m = Machine.Boot(QemuCommandLine.Parse(OracleQemu).Spec!);
        var f = m.PageAlloc.FailPageAlloc;
        Assert.Equal(Errno.EINVAL, f.Set("probability", "x"));
        Assert.Equal(Errno.EINVAL, f.Set("ignore-gfp-wait", "maybe"));
        Assert.Equal(0, f.Probability);
        Assert.Equal(Errno.None, f.Set("probability", "250"));
        Assert.Equal(100, f.Probability);
    }

    [Fact]
    public void An_armed_failure_fails_one_atomic_allocation_and_then_none()
    {
        var m = Machine.Boot(QemuCommandLine.Parse(OracleQemu).Spec!);
        m.PageAlloc.FailPageAlloc.Set("probability", "100");
        var ctx = new Kernel.Mm.AllocContext(0, "t", 1, ["t"]);
        Assert.Null(m.PageAlloc.AllocPagesNode(0, Kernel.Mm.Gfp.GfpAtomic, 1, ctx));
        Assert.NotNull(m.PageAlloc.AllocPagesNode(0, Kernel.Mm.Gfp.GfpAtomic, 1, ctx));
        Assert.Equal(0, m.PageAlloc.FailPageAlloc.Times);
        Assert.Contains(m.Dmesg(), l => l.EndsWith("FAULT_INJECTION: forcing a failure.", StringComparison.Ordinal));
        Assert.Contains(m.Dmesg(), l => l.EndsWith(" should_fail_ex", StringComparison.Ordinal)); // verbose 2: the stack
    }
}
