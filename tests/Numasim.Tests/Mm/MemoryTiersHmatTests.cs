using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Profiles;
using Numasim.Tests.Firmware;

namespace Numasim.Tests.Mm;

/// <summary>drivers/acpi/numa/hmat.c's access classes and mm/memory-tiers.c's tiers and demotion targets (issue 17).</summary>
public class MemoryTiersHmatTests
{
    private const string Node = "/sys/devices/system/node";
    private const string Tiers = "/sys/devices/virtual/memory_tiering";

    private static Machine Boot(string qemu, KernelProfile p) => Machine.Boot(QemuCommandLine.Parse(qemu).GetSpecOrThrow(), p);

    private static void PlugNode2(Machine m)
    {
        Assert.True(m.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "mem2", ["size"] = "536870912" }).Ok);
        Assert.True(m.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = "dimm2", ["memdev"] = "mem2", ["node"] = "2" }).Ok);
        for (int b = 32; b < 36; b++) Assert.Equal(Errno.None, m.Write($"/sys/devices/system/memory/memory{b}/state", "online_movable"));
    }

    private static string Read(Machine m, string path) => m.Read(path).Text.TrimEnd('\n');

    [Fact]
    public void V6_12_puts_the_slow_cpuless_node_in_its_own_tier_and_the_dram_nodes_demote_to_it()
    {
        var m = Boot(HmatTests.Machine, KernelProfile.V6_12);
        Assert.Equal("0-1", Read(m, $"{Tiers}/memory_tier4/nodelist"));
        PlugNode2(m);
        // adistance = 576 * (120+120)/(10+10) * (10240+10240)/(2048+2048) = 34560; 34560 >> 7 = 270
        Assert.Equal("2", Read(m, $"{Tiers}/memory_tier270/nodelist"));
        Assert.Equal("0-1", Read(m, $"{Tiers}/memory_tier4/nodelist"));
        Assert.Equal("preferred: 2, fallback: 2", m.Subsystems.MemoryTiers.DemotionTargets(0));
        Assert.Equal([2], m.Subsystems.MemoryTiers.PreferredTargets(1));
        Assert.Equal("null", m.Subsystems.MemoryTiers.DemotionTargets(2));
        Assert.False(m.Subsystems.MemoryTiers.NodeIsToptier(2));
        Assert.Contains(m.Dmesg(), l => l.EndsWith("Demotion targets for Node 1: preferred: 2, fallback: 2", StringComparison.Ordinal));
    }

    [Fact]
    public void V6_1_keeps_every_memory_node_in_the_default_dram_tier()
    {
        var m = Boot(HmatTests.Machine, KernelProfile.V6_1);
        PlugNode2(m);
        Assert.Equal("0-2", Read(m, $"{Tiers}/memory_tier4/nodelist"));
        Assert.False(m.Fs.Exists($"{Tiers}/memory_tier270"));
        Assert.Equal("null", m.Subsystems.MemoryTiers.DemotionTargets(0));
        Assert.DoesNotContain(m.Dmesg(), l => l.Contains("Demotion targets", StringComparison.Ordinal));
    }

    [Fact]
    public void V6_12_refuses_the_hmat_adistance_when_dram_nodes_differ_by_more_than_ten_percent()
    {
        var slowNode1 = HmatTests.Machine.Replace("initiator=1,target=1,hierarchy=memory,data-type=access-latency,latency=10",
            "initiator=1,target=1,hierarchy=memory,data-type=access-latency,latency=20", StringComparison.Ordinal);
        var m = Boot(slowNode1, KernelProfile.V6_12);
        var log = m.Dmesg().ToList();
        Assert.Contains(log, l => l.EndsWith("memory-tiers: the performance of DRAM node 1 mismatches that of the reference", StringComparison.Ordinal));
        Assert.Contains(log, l => l.EndsWith("    read_latency: 20, write_latency: 20, read_bandwidth: 10240, write_bandwidth: 10240", StringComparison.Ordinal));
        PlugNode2(m);
        Assert.Equal("0-2", Read(m, $"{Tiers}/memory_tier4/nodelist"));
        Assert.Equal("null", m.Subsystems.MemoryTiers.DemotionTargets(0));
    }

    /// <summary>Node 1's CPU is possible but not present at boot: its MPDA names itself, so access0 is node 1, but
    /// access1 (initiators with a CPU) is the best of the CPU initiators: node 0, with node 0's figures to node 1.</summary>
    [Fact]
    public void Access1_of_a_node_whose_local_initiator_has_no_cpu_is_the_best_cpu_initiator()
    {
        const string q = "-machine hmat=on -m 2G -smp 1,maxcpus=2,sockets=2,cores=1,threads=1 -object memory-backend-ram,id=m0,size=1G " +
            "-object memory-backend-ram,id=m1,size=1G -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1,memdev=m1 " +
            "-numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=1,socket-id=1 " +
            "-numa hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-latency,latency=10 " +
            "-numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,latency=21 " +
            "-numa hmat-lb,initiator=1,target=0,hierarchy=memory,data-type=access-latency,latency=21 " +
            "-numa hmat-lb,initiator=1,target=1,hierarchy=memory,data-type=access-latency,latency=10 " +
            "-numa hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-bandwidth,bandwidth=10G " +
            "-numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-bandwidth,bandwidth=5G " +
            "-numa hmat-lb,initiator=1,target=0,hierarchy=memory,data-type=access-bandwidth,bandwidth=5G " +
            "-numa hmat-lb,initiator=1,target=1,hierarchy=memory,data-type=access-bandwidth,bandwidth=10G";
        foreach (var p in new[] { KernelProfile.V6_1, KernelProfile.V6_12 })
        {
            var m = Boot(q, p);
            Assert.True(m.Fs.Exists($"{Node}/node1/access0/initiators/node1"));
            Assert.Equal("10", Read(m, $"{Node}/node1/access0/initiators/read_latency"));
            Assert.Equal("10240", Read(m, $"{Node}/node1/access0/initiators/write_bandwidth"));
            Assert.True(m.Fs.Exists($"{Node}/node1/access1/initiators/node0"));
            Assert.False(m.Fs.Exists($"{Node}/node1/access1/initiators/node1"));
            Assert.True(m.Fs.Exists($"{Node}/node0/access1/targets/node1"));
            Assert.Equal("21", Read(m, $"{Node}/node1/access1/initiators/write_latency"));
            Assert.Equal("5120", Read(m, $"{Node}/node1/access1/initiators/read_bandwidth"));
        }
    }

    [Fact]
    public void Demotion_enabled_takes_kstrtobool_and_refuses_the_rest()
    {
        var m = Boot(HmatTests.Machine, KernelProfile.V6_1);
        const string f = "/sys/kernel/mm/numa/demotion_enabled";
        Assert.Equal("false\n", m.Read(f).Text);
        Assert.Equal(Errno.None, m.Write(f, "y"));
        Assert.Equal("true\n", m.Read(f).Text);
        Assert.Equal(Errno.EINVAL, m.Write(f, "2"));
        Assert.Equal("true\n", m.Read(f).Text);
        Assert.Equal(Errno.None, m.Write(f, "off"));
        Assert.Equal("false\n", m.Read(f).Text);
    }

    [Fact]
    public void Without_hmat_no_node_has_access_classes()
    {
        var m = Boot(QemuCommandLineTests.Oracle, KernelProfile.V6_12);
        Assert.False(m.Fs.Exists($"{Node}/node0/access0"));
        Assert.DoesNotContain(m.Dmesg(), l => l.Contains("acpi/hmat", StringComparison.Ordinal));
    }
}

/// <summary>x86's hstates: 2 MiB always, 1 GiB only with X86_FEATURE_GBPAGES (gigantic_pages_init()).</summary>
public class HugetlbHstatesTests
{
    [Fact]
    public void Qemu64_has_no_1_gib_hstate_and_pdpe1gb_brings_it()
    {
        var plain = Machine.Boot(QemuCommandLine.Parse("-m 1G -cpu qemu64").GetSpecOrThrow(), KernelProfile.V6_1);
        Assert.True(plain.Fs.Exists("/sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages"));
        Assert.False(plain.Fs.Exists("/sys/devices/system/node/node0/hugepages/hugepages-1048576kB"));
        Assert.DoesNotContain("pdpe1gb", plain.Read("/proc/cpuinfo").Text);
        var spec = QemuCommandLine.Parse("-m 1G -cpu qemu64,+pdpe1gb").GetSpecOrThrow();
        Assert.Equal(["pdpe1gb"], spec.CpuFeatures);
        var gb = Machine.Boot(spec, KernelProfile.V6_1);
        Assert.True(gb.Fs.Exists("/sys/devices/system/node/node0/hugepages/hugepages-1048576kB/free_hugepages"));
        Assert.Contains(" nx pdpe1gb lm ", gb.Read("/proc/cpuinfo").Text);
        Assert.Empty(QemuCommandLine.Parse("-m 1G -cpu qemu64,+pdpe1gb,pdpe1gb=off").GetSpecOrThrow().CpuFeatures);
        var back = MachineFile.Parse(MachineFile.Write(spec), "m.yaml");
        Assert.Equal(["pdpe1gb"], back.CpuFeatures);
    }
}

/// <summary>The HMAT registration and tier state are part of a machine's snapshot (Machine.Clone()).</summary>
public class MemoryTiersCloneTests
{
    [Fact]
    public void A_clone_keeps_its_own_tiers_demotion_targets_and_hmat_registration()
    {
        var m = Machine.Boot(QemuCommandLine.Parse(HmatTests.Machine).GetSpecOrThrow(), KernelProfile.V6_12);
        var c = m.Clone();
        Assert.True(c.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "mem2", ["size"] = "536870912" }).Ok);
        Assert.True(c.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = "dimm2", ["memdev"] = "mem2", ["node"] = "2" }).Ok);
        for (int b = 32; b < 36; b++) Assert.Equal(Errno.None, c.Write($"/sys/devices/system/memory/memory{b}/state", "online_movable"));
        Assert.Equal("2\n", c.Read("/sys/devices/virtual/memory_tiering/memory_tier270/nodelist").Text);
        Assert.Equal("preferred: 2, fallback: 2", c.Subsystems.MemoryTiers.DemotionTargets(0));
        Assert.True(c.Fs.Exists("/sys/devices/system/node/node2/access0/initiators/node0"));
        Assert.False(m.Fs.Exists("/sys/devices/virtual/memory_tiering/memory_tier270"));
        Assert.Equal("null", m.Subsystems.MemoryTiers.DemotionTargets(0));
        Assert.Null(m.Subsystems.MemoryTiers.DemotionTargets(2));
        Assert.False(m.Subsystems.Hmat.Registered(m.Subsystems.Hmat.FindTarget(2)!));
        Assert.True(c.Subsystems.Hmat.Registered(c.Subsystems.Hmat.FindTarget(2)!));
    }
}
