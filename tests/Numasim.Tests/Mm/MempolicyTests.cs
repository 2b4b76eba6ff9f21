using Numasim.Kernel;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Numa;
using Numasim.Userspace;

namespace Numasim.Tests.Mm;

/// <summary>mm/mempolicy.c's rules (mpol_new(), mpol_set_nodemask(), mpol_rebind_nodemask(), apply_policy_zone(),
/// offset_il_node()) and what they do to tmpfs page cache on a two-node machine whose node 1 is a movable DIMM.</summary>
public class MempolicyTests
{
    private static Bitmap Nodes(params int[] ids)
    {
        var b = new Bitmap(NumaConstants.MaxNumNodes);
        foreach (var i in ids) b.Set(i);
        return b;
    }

    private static KernelContext Kernel(Machine m) => m.Subsystems.Kernel;

    private static long Shmem(Machine m, int nid) =>
        long.Parse(m.Read($"/sys/devices/system/node/node{nid}/meminfo").Text.Split('\n')
            .First(l => l.Contains("Shmem:")).Split(':')[1].Replace("kB", "").Trim());

    [Fact]
    public void Mpol_new_refuses_what_the_kernel_refuses_with_EINVAL()
    {
        var k = Kernel(HugetlbPoolTests.BootWithMovableNode1());
        Assert.Equal(Errno.EINVAL, MempolicyOps.Make(k, MpolMode.Default, MpolFlags.None, Nodes(0), out _));
        Assert.Equal(Errno.EINVAL, MempolicyOps.Make(k, MpolMode.Bind, MpolFlags.None, Nodes(), out _));
        Assert.Equal(Errno.EINVAL, MempolicyOps.Make(k, MpolMode.Local, MpolFlags.None, Nodes(1), out _));
        Assert.Equal(Errno.EINVAL, MempolicyOps.Make(k, MpolMode.Bind, MpolFlags.StaticNodes | MpolFlags.RelativeNodes, Nodes(1), out _));
        // nodes without memory: nothing is left once mpol_set_nodemask() intersects them with N_MEMORY
        Assert.Equal(Errno.EINVAL, MempolicyOps.Make(k, MpolMode.Interleave, MpolFlags.None, Nodes(5), out _));
        // an empty preferred nodemask is local allocation
        Assert.Equal(Errno.None, MempolicyOps.Make(k, MpolMode.Preferred, MpolFlags.None, Nodes(), out var local));
        Assert.Equal(MpolMode.Local, local.Mode);
        // MPOL_PREFERRED keeps the first node only
        Assert.Equal(Errno.None, MempolicyOps.Make(k, MpolMode.Preferred, MpolFlags.None, Nodes(0, 1), out var pref));
        Assert.Equal("0", pref.Nodes.ToBitmap().ToListString());
    }

    [Fact]
    public void Preferred_many_is_EINVAL_before_v5_15()
    {
        var m = Machine.Boot(Numasim.Firmware.QemuCommandLine.Parse(HugetlbPoolTests.TwoNodes).GetSpecOrThrow(), Numasim.Kernel.Profiles.KernelProfile.V4_19);
        Assert.Equal(Errno.EINVAL, MempolicyOps.Make(Kernel(m), MpolMode.PreferredMany, MpolFlags.None, Nodes(0), out _));
    }

    [Fact]
    public void A_bind_policy_is_remapped_onto_the_new_mems_and_does_not_come_back()
    {
        var k = Kernel(HugetlbPoolTests.BootWithMovableNode1());
        Assert.Equal(Errno.None, MempolicyOps.Make(k, MpolMode.Bind, MpolFlags.None, Nodes(1), out var pol));
        MempolicyOps.Rebind(ref pol, Nodes(0));
        Assert.Equal("0", pol.Nodes.ToBitmap().ToListString());
        MempolicyOps.Rebind(ref pol, Nodes(0, 1));
        Assert.Equal("0", pol.Nodes.ToBitmap().ToListString());
        // MPOL_F_STATIC_NODES keeps the user's nodes and comes back with them
        Assert.Equal(Errno.None, MempolicyOps.Make(k, MpolMode.Bind, MpolFlags.StaticNodes, Nodes(1), out var st));
        MempolicyOps.Rebind(ref st, Nodes(0));
        Assert.Equal("0", st.Nodes.ToBitmap().ToListString()); // empty intersection: the new mems
        MempolicyOps.Rebind(ref st, Nodes(0, 1));
        Assert.Equal("1", st.Nodes.ToBitmap().ToListString());
    }

    [Fact]
    public void A_bind_nodemask_on_movable_only_nodes_applies_to_movable_allocations_only()
    {
        var k = Kernel(HugetlbPoolTests.BootWithMovableNode1());
        Assert.Equal(Errno.None, MempolicyOps.Make(k, MpolMode.Bind, MpolFlags.None, Nodes(1), out var pol));
        Assert.NotNull(MempolicyOps.PolicyNodemask(k, Gfp.GfpHighUserMovable, pol));
        Assert.Null(MempolicyOps.PolicyNodemask(k, Gfp.GfpKernel, pol));
    }

    [Fact]
    public void Interleave_by_offset_walks_the_nodes_in_order()
    {
        var k = Kernel(HugetlbPoolTests.BootWithMovableNode1());
        Assert.Equal(Errno.None, MempolicyOps.Make(k, MpolMode.Interleave, MpolFlags.None, Nodes(0, 1), out var pol));
        Assert.Equal([0, 1, 0, 1], Enumerable.Range(0, 4).Select(i => MempolicyOps.OffsetIlNode(pol, i, 0)));
    }

    [Fact]
    public void A_shared_bind_to_a_node_that_lost_its_memory_allocates_on_the_allowed_nodes()
    {
        var m = HugetlbPoolTests.BootWithMovableNode1();
        Assert.Equal("ok", m.Numactl(new NumactlRun(NumactlPolicy.Membind, "1", File: "/tmp/f", Length: 1 << 20)).Text);
        Assert.Equal("16 pages", m.Numactl(new NumactlRun(NumactlPolicy.None, "", Of: "/tmp/f", Count: 16, NoTrunc: true)).Text);
        Assert.Equal(64, Shmem(m, 1));
        for (int b = 32; b < 36; b++) Assert.Equal(Errno.None, m.Write($"/sys/devices/system/memory/memory{b}/state", "offline"));
        Assert.Equal(0, Shmem(m, 1));
        Assert.Equal(64, Shmem(m, 0)); // migrated at offline
        Assert.Equal("32 pages", m.Numactl(new NumactlRun(NumactlPolicy.None, "", Of: "/tmp/f", Count: 32, NoTrunc: true)).Text);
        Assert.Equal(128, Shmem(m, 0));
        Assert.Equal("invalid nodes", m.Numactl(new NumactlRun(NumactlPolicy.Membind, "1", Of: "/tmp/g", Count: 1)).Text);
    }

    [Fact]
    public void A_bound_task_follows_its_cpuset_when_its_node_loses_memory()
    {
        var m = HugetlbPoolTests.BootWithMovableNode1();
        Assert.Equal("ok", m.Task("t", new NumactlRun(NumactlPolicy.Membind, "1")).Text);
        Assert.Equal("64 pages", m.Task("t", new NumactlRun(NumactlPolicy.None, "", Of: "/tmp/a", Count: 64)).Text);
        Assert.Equal(256, Shmem(m, 1));
        for (int b = 32; b < 36; b++) Assert.Equal(Errno.None, m.Write($"/sys/devices/system/memory/memory{b}/state", "offline"));
        Assert.Equal("64 pages", m.Task("t", new NumactlRun(NumactlPolicy.None, "", Of: "/tmp/b", Count: 64)).Text);
        Assert.Equal(0, Shmem(m, 1));
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory32/state", "online_movable"));
        Assert.Equal("64 pages", m.Task("t", new NumactlRun(NumactlPolicy.None, "", Of: "/tmp/c", Count: 64)).Text);
        Assert.Equal(0, Shmem(m, 1));
    }
}
