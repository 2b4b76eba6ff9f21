using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Hotplug;

namespace Numasim.Tests.Hotplug;

public class MemoryNotifierTests
{
    private const string Oracle = "-m 1G,slots=4,maxmem=8G -smp 2,maxcpus=4,sockets=4,cores=1,threads=1 -object memory-backend-ram,id=m0,size=1G -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 -numa cpu,node-id=1,socket-id=2 -numa cpu,node-id=1,socket-id=3 -numa dist,src=0,dst=1,val=21";

    private static Machine WithDimmOnNode1()
    {
        var m = Machine.Boot(QemuCommandLine.Parse(Oracle).GetSpecOrThrow());
        Assert.True(m.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "b", ["size"] = "134217728" }).Ok);
        Assert.True(m.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = "d", ["memdev"] = "b", ["node"] = "1" }).Ok);
        return m;
    }

    [Fact]
    public void Onlining_and_offlining_send_the_kernel_sequence_with_the_node_state_change()
    {
        var m = WithDimmOnNode1();
        var seen = new List<(MemoryAction, MemoryNotify)>();
        m.MemoryNotifiers.Register((a, n) => { seen.Add((a, n)); return Errno.None; });
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory32/state", "online_movable"));
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory32/state", "offline"));
        Assert.Equal([MemoryAction.GoingOnline, MemoryAction.Online, MemoryAction.GoingOffline, MemoryAction.Offline], seen.Select(s => s.Item1));
        // Node 1's first memory: N_MEMORY changes, N_NORMAL_MEMORY does not (ZONE_MOVABLE).
        Assert.Equal(new MemoryNotify(32 * 32768, 32768, 1, -1), seen[0].Item2);
        Assert.Equal(1, seen[3].Item2.StatusChangeNid);
    }

    [Fact]
    public void A_veto_on_going_online_cancels_and_changes_nothing()
    {
        var m = WithDimmOnNode1();
        var seen = new List<MemoryAction>();
        m.MemoryNotifiers.Register((a, _) => { seen.Add(a); return a == MemoryAction.GoingOnline ? Errno.ENOMEM : Errno.None; });
        Assert.Equal(Errno.ENOMEM, m.Write("/sys/devices/system/memory/memory32/state", "online"));
        Assert.Equal([MemoryAction.GoingOnline, MemoryAction.CancelOnline], seen);
        Assert.Equal("offline\n", m.Read("/sys/devices/system/memory/memory32/state").Text);
        Assert.Equal("0\n", m.Read("/sys/devices/system/node/has_memory").Text);
    }

    [Fact]
    public void The_online_file_onlines_to_the_default_zone_not_the_last_requested_one()
    {
        var m = WithDimmOnNode1();
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory32/state", "online_movable"));
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory32/online", "0"));
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory32/online", "1"));
        Assert.Equal("Normal\n", m.Read("/sys/devices/system/memory/memory32/valid_zones").Text);
    }
}
