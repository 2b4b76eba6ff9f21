using Numasim.Kernel;
using Numasim.Kernel.Profiles;
using static Numasim.Tests.CommandLine.KernelCommandLineTests;

namespace Numasim.Tests.CommandLine;

public class HotplugOptionsTests
{
    private static void Add(Machine m, string id, ulong bytes, int node, string driver = "pc-dimm", string? extra = null)
    {
        Assert.True(m.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "b" + id, ["size"] = bytes.ToString() }).Ok);
        var args = new Dictionary<string, string> { ["driver"] = driver, ["id"] = id, ["memdev"] = "b" + id, ["node"] = node.ToString() };
        if (extra is not null) args["requested-size"] = extra;
        var r = m.Qmp.DeviceAdd(args);
        Assert.True(r.Ok, r.Error);
    }

    private static string MemTotal(Machine m, int nid) =>
        m.Read($"/sys/devices/system/node/node{nid}/meminfo").Text.Split('\n')[0];

    [Fact]
    public void Movablecore_carves_zone_movable_from_512_MiB_on_node_0()
    {
        var m = Boot("movablecore=512M");
        Assert.Contains(m.Dmesg(), l => Strip(l) == "  Node 0: 0x0000000020000000");
        Assert.Equal("DMA32\n", m.Read("/sys/devices/system/memory/memory3/valid_zones").Text);
        Assert.Equal("Movable\n", m.Read("/sys/devices/system/memory/memory4/valid_zones").Text);
        var movable = m.Kernel.NodeDataOf(0)!.Zone(Kernel.Mm.ZoneType.Movable);
        Assert.Equal(131072, movable.ZoneStartPfn);
        Assert.Equal(131040, movable.PresentPages);
    }

    [Fact]
    public void Kernelcore_percent_rounds_the_start_up_to_a_max_order_block()
    {
        var m = Boot("kernelcore=50%");
        Assert.Contains(m.Dmesg(), l => Strip(l) == "  Node 0: 0x0000000020400000");
        Assert.Equal("none\n", m.Read("/sys/devices/system/memory/memory4/valid_zones").Text);   // spans DMA32 and Movable
    }

    [Fact]
    public void Kernelcore_mirror_without_mirrored_memory_differs_between_6_1_and_6_12()
    {
        Assert.Contains(Boot("kernelcore=mirror").Dmesg(), l => l.EndsWith("This configuration results in unmirrored kernel memory.", StringComparison.Ordinal));
        Assert.Contains(Boot("kernelcore=mirror", KernelProfile.V6_12).Dmesg(), l => l.EndsWith("The system has no mirror memory, ignore kernelcore=mirror.", StringComparison.Ordinal));
    }

    [Fact]
    public void Movable_node_onlines_hot_added_memory_to_zone_movable_by_default()
    {
        var m = Boot("movable_node memhp_default_state=online");
        Add(m, "d1", 256UL << 20, 1);
        Assert.Equal("Movable\n", m.Read("/sys/devices/system/memory/memory32/valid_zones").Text);
        var plain = Boot("memhp_default_state=online");
        Add(plain, "d1", 256UL << 20, 1);
        Assert.Equal("Normal\n", plain.Read("/sys/devices/system/memory/memory32/valid_zones").Text);
    }

    [Fact]
    public void Auto_movable_keeps_movable_within_the_ratio_of_boot_kernel_memory()
    {
        var m = Boot("memhp_default_state=online memory_hotplug.online_policy=auto-movable memory_hotplug.auto_movable_ratio=100");
        Add(m, "d1", 512UL << 20, 0);   // 512 MiB MOVABLE against 1 GiB early kernel memory: fits
        Assert.Equal("Movable\n", m.Read("/sys/devices/system/memory/memory32/valid_zones").Text);
        Add(m, "d2", 1UL << 30, 0);     // 1.5 GiB would not
        Assert.Equal("Normal\n", m.Read("/sys/devices/system/memory/memory36/valid_zones").Text);
    }

    [Fact]
    public void Memmap_on_memory_takes_each_blocks_memmap_from_the_block_on_6_12_and_only_one_block_dimms_on_6_1()
    {
        foreach (var (profile, total1G, total128M) in new[] { (KernelProfile.V6_1, 1048576, 129024), (KernelProfile.V6_12, 1032192, 129024) })
        {
            var m = Boot("memory_hotplug.memmap_on_memory=1 memhp_default_state=online_movable", profile);
            Add(m, "d1", 1UL << 30, 1);
            Assert.Equal($"Node 1 MemTotal:       {total1G,8} kB", MemTotal(m, 1));
            Add(m, "d2", 128UL << 20, 1);
            Assert.Equal($"Node 1 MemTotal:       {total1G + total128M,8} kB", MemTotal(m, 1));
            var movable = m.Kernel.NodeDataOf(1)!.Zone(Kernel.Mm.ZoneType.Movable);
            Assert.Equal(294912, movable.PresentPages);   // the memmap pages are present, only not managed
            Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory40/state", "offline"));
            Assert.True(m.Qmp.DeviceDel(new Dictionary<string, string> { ["id"] = "d2" }).Ok);
            Assert.Equal($"Node 1 MemTotal:       {total1G,8} kB", MemTotal(m, 1));
        }
    }

    [Fact]
    public void Virtio_mem_in_sub_block_mode_plugs_and_unplugs_to_the_requested_size()
    {
        var m = Boot("memhp_default_state=online_movable");
        Add(m, "vm0", 2UL << 30, 1, "virtio-mem-pci", (512UL << 20).ToString());
        Assert.Equal("Node 1 MemTotal:         524288 kB", MemTotal(m, 1));
        Assert.True(m.Qmp.QomSet(new Dictionary<string, string> { ["path"] = "/machine/peripheral/vm0", ["property"] = "requested-size", ["value"] = (300UL << 20).ToString() }).Ok);
        Assert.Equal("Node 1 MemTotal:         307200 kB", MemTotal(m, 1));
        Assert.Equal(Kernel.Drivers.SbmState.MovablePartial, m.VirtioMem.Devices[0].MbState(34));
        Assert.False(m.Fs.Exists("/sys/devices/system/memory/memory35"));
        Assert.Equal(300UL << 20, m.Qmp.VirtioMemDevices["vm0"].PluggedSize);
        var bad = m.Qmp.QomSet(new Dictionary<string, string> { ["path"] = "/machine/peripheral/vm0", ["property"] = "requested-size", ["value"] = "3145728" });
        Assert.Equal("'requested-size' has to be multiples of 'block-size' (0x200000)", bad.Error);
        Assert.Equal("virtio based memory devices cannot be unplugged.", m.Qmp.DeviceDel(new Dictionary<string, string> { ["id"] = "vm0" }).Error);
    }

    [Fact]
    public void A_partly_plugged_virtio_mem_block_offlines_and_onlines_with_only_its_plugged_pages_managed()
    {
        var m = Boot("memhp_default_state=online_movable");
        Add(m, "vm0", 1UL << 30, 1, "virtio-mem-pci", (300UL << 20).ToString());   // memory34: 22 of 64 sub-blocks
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory34/state", "offline"));
        Assert.Equal("Node 1 MemTotal:         262144 kB", MemTotal(m, 1));
        Assert.Equal(Kernel.Drivers.SbmState.OfflinePartial, m.VirtioMem.Devices[0].MbState(34));
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory34/state", "online_movable"));
        Assert.Equal("Node 1 MemTotal:         307200 kB", MemTotal(m, 1));
        Assert.Equal(Kernel.Drivers.SbmState.MovablePartial, m.VirtioMem.Devices[0].MbState(34));
    }

    [Fact]
    public void Virtio_mem_offline_blocks_wait_for_onlining_within_the_offline_threshold()
    {
        var m = Boot("");   // auto_online_blocks offline: added blocks stay offline, at most 1 GiB of them
        Add(m, "vm0", 4UL << 30, 1, "virtio-mem-pci", (2UL << 30).ToString());
        Assert.True(m.Fs.Exists("/sys/devices/system/memory/memory39"));
        Assert.False(m.Fs.Exists("/sys/devices/system/memory/memory40"));
        // One block online leaves 896 MiB offline: no retry yet (the driver waits until half the threshold is online).
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory32/state", "online_movable"));
        Assert.False(m.Fs.Exists("/sys/devices/system/memory/memory40"));
        for (int b = 33; b <= 35; b++) Assert.Equal(Errno.None, m.Write($"/sys/devices/system/memory/memory{b}/state", "online_movable"));
        Assert.True(m.Fs.Exists("/sys/devices/system/memory/memory43"));
        Assert.False(m.Fs.Exists("/sys/devices/system/memory/memory44"));
    }

    [Fact]
    public void Virtio_mem_with_big_device_blocks_runs_in_big_block_mode()
    {
        var m = Boot("memhp_default_state=online_movable", extra: "-object memory-backend-ram,id=v,size=1G -device virtio-mem-pci,id=vm0,memdev=v,node=1,block-size=256M,requested-size=512M");
        Assert.Contains(m.Dmesg(), l => Strip(l) == "virtio_mem virtio0: big block size: 0x10000000");
        Assert.False(m.VirtioMem.Devices[0].InSbm);
        Assert.Equal("Node 1 MemTotal:         524288 kB", MemTotal(m, 1));
    }
}

public class VirtioMemSnapshotTests
{
    [Fact]
    public void A_clone_with_a_virtio_mem_device_resizes_on_its_own()
    {
        var m = Boot("memhp_default_state=online_movable", extra: "-object memory-backend-ram,id=v,size=1G -device virtio-mem-pci,id=vm0,memdev=v,node=1,requested-size=256M");
        var c = m.Clone();
        Assert.True(c.Qmp.QomSet(new Dictionary<string, string> { ["path"] = "/machine/peripheral/vm0", ["property"] = "requested-size", ["value"] = (512UL << 20).ToString() }).Ok);
        Assert.Equal("Node 1 MemTotal:         524288 kB", c.Read("/sys/devices/system/node/node1/meminfo").Text.Split('\n')[0]);
        Assert.Equal("Node 1 MemTotal:         262144 kB", m.Read("/sys/devices/system/node/node1/meminfo").Text.Split('\n')[0]);
    }
}
