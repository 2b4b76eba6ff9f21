using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Profiles;
using Numasim.Kernel.Sysfs;
using Numasim.Tests.Firmware;

namespace Numasim.Tests.Mm;

/// <summary>Kernel facts the whole-tree comparisons (oracle fuzz, and the oracle's end-of-scenario tree) found, each
/// pinned on the value the real guest showed.</summary>
public class WholeTreeFindingsTests
{
    // oracle fuzz seed 20261212 case 123 (6.1.176, nokaslr, initrd 1058620 bytes): no memory hotplug in the case
    private const string Case123 = "-m 2432M,slots=7,maxmem=7168M -smp 3,maxcpus=7,sockets=7,cores=1,threads=1 -object memory-backend-ram,id=m0,size=1024M -object memory-backend-ram,id=m2,size=384M -object memory-backend-ram,id=m3,size=128M -object memory-backend-ram,id=m4,size=256M -object memory-backend-ram,id=m6,size=256M -object memory-backend-ram,id=m7,size=384M -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1 -numa node,nodeid=2,memdev=m2 -numa node,nodeid=3,memdev=m3 -numa node,nodeid=4,memdev=m4 -numa node,nodeid=5 -numa node,nodeid=6,memdev=m6 -numa node,nodeid=7,memdev=m7 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=1,socket-id=1 -numa cpu,node-id=6,socket-id=2 -numa cpu,node-id=4,socket-id=3 -numa cpu,node-id=7,socket-id=4 -numa cpu,node-id=0,socket-id=5 -numa cpu,node-id=4,socket-id=6 -numa dist,src=0,dst=1,val=33 -numa dist,src=0,dst=2,val=12 -numa dist,src=0,dst=3,val=14 -numa dist,src=0,dst=4,val=13 -numa dist,src=0,dst=5,val=31 -numa dist,src=0,dst=6,val=27 -numa dist,src=0,dst=7,val=12 -numa dist,src=1,dst=2,val=17 -numa dist,src=1,dst=3,val=22 -numa dist,src=1,dst=4,val=19 -numa dist,src=1,dst=5,val=16 -numa dist,src=1,dst=6,val=36 -numa dist,src=1,dst=7,val=30 -numa dist,src=2,dst=3,val=40 -numa dist,src=2,dst=4,val=19 -numa dist,src=2,dst=5,val=28 -numa dist,src=2,dst=6,val=39 -numa dist,src=2,dst=7,val=39 -numa dist,src=3,dst=4,val=36 -numa dist,src=3,dst=5,val=23 -numa dist,src=3,dst=6,val=23 -numa dist,src=3,dst=7,val=23 -numa dist,src=4,dst=5,val=35 -numa dist,src=4,dst=6,val=26 -numa dist,src=4,dst=7,val=20 -numa dist,src=5,dst=6,val=36 -numa dist,src=5,dst=7,val=31 -numa dist,src=6,dst=7,val=26";

    [Fact]
    public void Watermarks_are_sized_after_alternative_instructions_freed_the_smp_locks()
    {
        // the guest: "Node 0, zone DMA32 ... min 11967" (min_free_kbytes 115796); with __smp_locks freed after the
        // watermarks, the model had 11966 (115792)
        var spec = QemuCommandLine.Parse(Case123).GetSpecOrThrow() with { InitrdBytes = 1058620 };
        var m = Machine.Boot(spec, KernelProfile.V6_1);
        var zoneinfo = m.Read("/proc/zoneinfo").Text;
        int dma32 = zoneinfo.IndexOf("Node 0, zone    DMA32", StringComparison.Ordinal);
        Assert.True(dma32 >= 0);
        Assert.Contains("min      11967", zoneinfo[dma32..zoneinfo.IndexOf("Node 0, zone   Normal", dma32, StringComparison.Ordinal)]);
    }

    [Fact]
    public void A_sysfs_link_to_an_ancestor_climbs_above_it_as_kernfs_does()
    {
        // the 6.1 and 6.12 guests: node0/access0/initiators/node0 -> ../../../node0
        var m = Machine.Boot(QemuCommandLine.Parse(HmatTests.Machine).GetSpecOrThrow(), KernelProfile.V6_1);
        var link = Assert.IsType<SysfsLink>(m.Fs.Lookup("/sys/devices/system/node/node0/access0/initiators/node0", followLastLink: false));
        Assert.Equal("../../../node0", link.RelativeTarget);
    }

    [Theory]
    [InlineData("-cpu qemu64,+pdpe1gb ", true)]
    [InlineData("", false)]
    public void DirectMap1G_is_shown_only_with_gbpages(string cpu, bool shown)
    {
        var m = Machine.Boot(QemuCommandLine.Parse("-m 1G,slots=2,maxmem=4G " + cpu + "-smp 2 -object memory-backend-ram,id=m0,size=1G -numa node,nodeid=0,memdev=m0")
            .GetSpecOrThrow(), KernelProfile.V6_1);
        Assert.Equal(shown, m.Read("/proc/meminfo").Text.Contains("DirectMap1G:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_node_hot_added_after_the_last_watermark_setup_keeps_zero_watermarks_on_6_12()
    {
        // fuzz seed 20261212 cases 38 and 83 (6.12.111): a DIMM on a node that was never online, its blocks left offline:
        // that node's empty Movable zone shows min 0, while a boot node's empty Movable zone shows 32 (the Movable cap)
        var m = Machine.Boot(QemuCommandLine.Parse(HugetlbPoolTests.TwoNodes).GetSpecOrThrow(), KernelProfile.V6_12);
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/auto_online_blocks", "offline"));
        m.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "mem1", ["size"] = "536870912" });
        m.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = "dimm1", ["memdev"] = "mem1", ["node"] = "1" });
        var zoneinfo = m.Read("/proc/zoneinfo").Text;
        string MinOf(string zone)
        {
            int at = zoneinfo.IndexOf(zone, StringComparison.Ordinal);
            Assert.True(at >= 0, zone);
            int min = zoneinfo.IndexOf("min", at, StringComparison.Ordinal);
            return zoneinfo[min..zoneinfo.IndexOf('\n', min)].Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        }
        Assert.Equal("32", MinOf("Node 0, zone  Movable"));
        Assert.Equal("0", MinOf("Node 1, zone  Movable"));
    }
}
