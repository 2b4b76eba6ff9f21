using System.Text;
using Numasim.Checker;
using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Profiles;
using Numasim.Kernel.Sysfs;
using Numasim.Tests.Cli;

namespace Numasim.Tests.Snapshots;

public class MachineCloneTests
{
    private static MachineSpec Oracle() => QemuCommandLine.Parse(CliHarness.OracleQemu).Spec!;

    /// <summary>Every file under /sys and /proc with its text, every link with its target, and the log.</summary>
    private static string Everything(Machine m)
    {
        var sb = new StringBuilder();
        void Walk(SysfsDirectory d)
        {
            foreach (var e in d.Children)
                switch (e)
                {
                    case SysfsDirectory sub: sb.Append(sub.Path).Append('/').Append('\n'); Walk(sub); break;
                    case SysfsAttribute a: sb.Append(a.Path).Append(" = ").Append(a.HasShow ? a.Show() : "(write-only)").Append('\n'); break;
                    case SysfsLink l: sb.Append(l.Path).Append(" -> ").Append(l.Target).Append('\n'); break;
                }
        }
        Walk(m.Fs.Root);
        foreach (var line in m.Dmesg()) sb.Append(line).Append('\n');
        foreach (var u in m.Uevents) sb.Append(u).Append('\n');
        return sb.ToString();
    }

    /// <summary>A driver taken through a fixed pseudo-random walk of checker operations.</summary>
    private static void Walk(CheckDriver d, Random rnd, int steps)
    {
        var ops = new List<CheckOp>();
        for (int i = 0; i < steps; i++)
        {
            d.EnabledOps(ops);
            if (ops.Count == 0) return;
            d.Apply(ops[rnd.Next(ops.Count)]);
        }
    }

    [Theory]
    [InlineData("v4.19", 1)]
    [InlineData("v6.1", 2)]
    [InlineData("v6.1", 3)]
    [InlineData("v6.12", 4)]
    public void A_copied_machine_and_its_original_stay_identical_under_the_same_operations(string profile, int seed)
    {
        var families = OpFamilies.All.ToHashSet();
        var original = new CheckDriver(Oracle(), KernelProfile.Find(profile)!, families);
        Walk(original, new Random(seed), 15);
        var copy = new CheckDriver(Oracle(), KernelProfile.Find(profile)!, families);
        copy.Restore(original.Save());
        Assert.Equal(Everything(original.Machine), Everything(copy.Machine));

        // The same operations from here give the same machines, byte for byte.
        Walk(original, new Random(seed * 31), 15);
        Walk(copy, new Random(seed * 31), 15);
        Assert.Equal(Everything(original.Machine), Everything(copy.Machine));
        Assert.Equal(StateHasher.Hash(original, false), StateHasher.Hash(copy, false));
    }

    [Fact]
    public void Changing_a_clone_leaves_the_original_as_it_was()
    {
        var m = Machine.Boot(Oracle(), KernelProfile.V6_1);
        string before = Everything(m);
        var clone = m.Clone();
        Assert.Equal(Errno.None, clone.Write("/sys/devices/system/cpu/cpu1/online", "0"));
        Assert.True(clone.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "m1", ["size"] = "134217728" }).Ok);
        Assert.True(clone.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = "d1", ["memdev"] = "m1", ["node"] = "1" }).Ok);
        Assert.NotEqual(before, Everything(clone));
        Assert.Equal(before, Everything(m));
        Assert.Equal("1\n", m.Read("/sys/devices/system/cpu/cpu1/online").Text);
        Assert.Equal("0\n", clone.Read("/sys/devices/system/cpu/cpu1/online").Text);
    }

    [Fact]
    public void A_machine_that_oopsed_clones_with_its_oops()
    {
        var d = new CheckDriver(Oracle(), KernelProfile.V4_19, OpFamilies.All.ToHashSet());
        int slot = Oracle().CpuSlots.Single(c => !c.Present && c.SocketId == 2).Index;
        d.Apply(new CheckOp(OpKind.CpuAdd, slot));
        Assert.Equal(Errno.None, d.Machine.Write("/sys/devices/system/cpu/cpu2/online", "1"));
        d.Apply(new CheckOp(OpKind.CpuDel, slot));
        d.Apply(new CheckOp(OpKind.Modprobe, 0));
        Assert.NotNull(d.Machine.Oops);

        var clone = d.Machine.Clone();
        Assert.NotNull(clone.Oops);
        Assert.Equal(d.Machine.Oops!.Report, clone.Oops!.Report);
        Assert.Equal(Everything(d.Machine), Everything(clone));
    }
}
