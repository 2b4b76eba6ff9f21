using Numasim.Kernel.Profiles;
using Numasim.Scenarios;

namespace Numasim.Tests.Mm;

/// <summary>
/// Which boot memory blocks refuse offline, derived from the boot's unmovable allocations: the memblock
/// reservations (PageReserved) and kmem_cache_init()'s kmem_cache_node slab page of every node with memory (the
/// node's lowest free MAX_ORDER-1 block, stolen for MIGRATE_UNMOVABLE). The kernel's answers are Debian 6.1.176's
/// under QEMU 7.2 TCG with nokaslr (2026-12-07: the oracle machine booted three times, memory1-6 offlined every
/// time; the fuzz cases of seed 20261208 below, live).
/// </summary>
public class BootBlockOfflineTests
{
    private static IReadOnlyList<StepResult> Run(string machine, string steps, string profile = "v6.1")
    {
        var sc = ScenarioParser.Parse("name: t\nmachine: {qemu: \"" + machine + "\"}\nsteps:\n" + steps, "t.yaml");
        return ScenarioRunner.Run(sc, KernelProfile.Find(profile)!).Steps;
    }

    private static string Offline(int block, string? errno = null) =>
        $"  - write: {{path: /sys/devices/system/memory/memory{block}/state, value: offline{(errno is null ? "" : ", errno: " + errno)}}}\n";

    [Theory]
    [InlineData("v6.1")]
    [InlineData("v6.12")]
    public void On_the_oracle_machine_memory1_to_6_offline_and_memory7_with_its_hole_is_refused(string profile)
    {
        // node 0's kmem_cache_node slab lands in memory0, above the kernel image; memory7 holds the e820 hole below
        // 1 GiB ("memory holes": EINVAL before any page is looked at; the kernel refused it too).
        var steps = string.Concat(Enumerable.Range(1, 6).Select(b => Offline(b))) + Offline(7, "EINVAL");
        var r = Run(Numasim.Tests.Cli.CliHarness.OracleQemu, steps, profile);
        Assert.All(r, s => Assert.True(s.Passed, s.Message));
    }

    [Fact]
    public void The_first_block_of_a_node_with_a_cpu_holds_its_kmem_cache_node_slab()
    {
        // fuzz seed 20261208 case 4: node 1 (640-896 MiB, DMA32 only) with CPU 2; 6.1 answered EBUSY for memory5
        const string machine = "-m 2176M,slots=4,maxmem=7168M -smp 3,maxcpus=3,sockets=3,cores=1,threads=1 -object memory-backend-ram,id=m0,size=640M -object memory-backend-ram,id=m1,size=256M -object memory-backend-ram,id=m2,size=256M -object memory-backend-ram,id=m3,size=1024M -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1,memdev=m1 -numa node,nodeid=2,memdev=m2 -numa node,nodeid=3,memdev=m3 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 -numa cpu,node-id=1,socket-id=2";
        var r = Run(machine, Offline(14) + Offline(5, "EBUSY"));
        Assert.All(r, s => Assert.True(s.Passed, s.Message));
    }

    [Fact]
    public void The_first_block_of_a_cpuless_node_holds_its_kmem_cache_node_slab_too()
    {
        // fuzz seed 20261208 case 5: node 3 (1792-2304 MiB) has no CPU; 6.1 offlined memory9 and memory11 (node 1's
        // second and fourth blocks) and answered EBUSY for memory14, node 3's first
        const string machine = "-m 2304M,slots=4,maxmem=7168M -smp 1,maxcpus=2,sockets=2,cores=1,threads=1 -object memory-backend-ram,id=m0,size=896M -object memory-backend-ram,id=m1,size=896M -object memory-backend-ram,id=m3,size=512M -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1,memdev=m1 -numa node,nodeid=2 -numa node,nodeid=3,memdev=m3 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=1,socket-id=1";
        var r = Run(machine, Offline(9) + Offline(11) + Offline(14, "EBUSY") + Offline(7, "EBUSY"));
        Assert.All(r, s => Assert.True(s.Passed, s.Message));
    }

    [Fact]
    public void A_kernel_image_placed_in_memory1_makes_memory1_refuse_offline()
    {
        // kernel_phys_addr reproduces a KASLR boot: the image's PageReserved pages are in memory1
        var dir = Directory.CreateTempSubdirectory("numasim-kpa");
        try
        {
            var mf = Path.Combine(dir.FullName, "m.yaml");
            File.WriteAllText(mf, "qemu: \"" + Numasim.Tests.Cli.CliHarness.OracleQemu + "\"\nkernel_phys_addr: 0x9000000\n");
            var sc = ScenarioParser.Parse("name: t\nmachine: " + mf + "\nsteps:\n" + Offline(1, "EBUSY") + Offline(2), Path.Combine(dir.FullName, "t.yaml"));
            Assert.All(ScenarioRunner.Run(sc, KernelProfile.Find("v6.1")!).Steps, s => Assert.True(s.Passed, s.Message));
        }
        finally { dir.Delete(true); }
    }
}
