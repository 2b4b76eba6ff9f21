using Numasim.Firmware;
using Numasim.Kernel.Profiles;

namespace Numasim.Tests.Mm;

/// <summary>
/// cpuN/crash_notes: the physical address of crash_notes_memory_init()'s area in CPU N's percpu unit, as the boot's
/// percpu allocations before it (per populated zone, online node, possible node, CPU brought up, sched-domain
/// level) place it. Every expected value is the real kernel's (Debian 6.1.176 and 6.12.111 under QEMU 7.2 TCG with
/// nokaslr; `numasim oracle fuzz` seed 20261212, recorded 2026-12-07; the case is named at each machine).
/// </summary>
public class CrashNotesTests
{
    // seed 20261212 case 11 (6.1): 1 CPU, 7 nodes with memory (QEMU leaves the empty node 5 out of SRAT), 8 populated zones
    private const string SevenNodesOneCpu = "-m 2688M,slots=5,maxmem=7168M -smp 1,maxcpus=1,sockets=1,cores=1,threads=1 -object memory-backend-ram,id=m0,size=1024M -object memory-backend-ram,id=m1,size=128M -object memory-backend-ram,id=m2,size=256M -object memory-backend-ram,id=m3,size=256M -object memory-backend-ram,id=m4,size=256M -object memory-backend-ram,id=m6,size=384M -object memory-backend-ram,id=m7,size=384M -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1,memdev=m1 -numa node,nodeid=2,memdev=m2 -numa node,nodeid=3,memdev=m3 -numa node,nodeid=4,memdev=m4 -numa node,nodeid=5 -numa node,nodeid=6,memdev=m6 -numa node,nodeid=7,memdev=m7 -numa cpu,node-id=0,socket-id=0 -numa dist,src=0,dst=1,val=34 -numa dist,src=0,dst=2,val=12 -numa dist,src=0,dst=3,val=27 -numa dist,src=0,dst=4,val=22 -numa dist,src=0,dst=5,val=23 -numa dist,src=0,dst=6,val=32 -numa dist,src=0,dst=7,val=16 -numa dist,src=1,dst=2,val=25 -numa dist,src=1,dst=3,val=35 -numa dist,src=1,dst=4,val=28 -numa dist,src=1,dst=5,val=14 -numa dist,src=1,dst=6,val=22 -numa dist,src=1,dst=7,val=40 -numa dist,src=2,dst=3,val=24 -numa dist,src=2,dst=4,val=36 -numa dist,src=2,dst=5,val=31 -numa dist,src=2,dst=6,val=25 -numa dist,src=2,dst=7,val=38 -numa dist,src=3,dst=4,val=18 -numa dist,src=3,dst=5,val=23 -numa dist,src=3,dst=6,val=34 -numa dist,src=3,dst=7,val=24 -numa dist,src=4,dst=5,val=17 -numa dist,src=4,dst=6,val=13 -numa dist,src=4,dst=7,val=26 -numa dist,src=5,dst=6,val=23 -numa dist,src=5,dst=7,val=38 -numa dist,src=6,dst=7,val=40";

    // seed 20261212 case 14 (6.1): 1 node, 2 zones, 4 CPUs of 8 possible
    private const string OneNodeFourOfEightCpus = "-m 896M,slots=6,maxmem=5120M -smp 4,maxcpus=8,sockets=4,cores=2,threads=1 -object memory-backend-ram,id=m0,size=896M -numa node,nodeid=0,memdev=m0 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 -numa cpu,node-id=0,socket-id=2 -numa cpu,node-id=0,socket-id=3";

    // seed 20261212 case 25 (6.1): 4 sockets on 4 nodes (a NUMA sched-domain level per distinct distance), memory on 3
    private const string CpusOnFourNodes = "-m 1408M,slots=6,maxmem=6144M -smp 8,maxcpus=8,sockets=4,cores=2,threads=1 -object memory-backend-ram,id=m0,size=640M -object memory-backend-ram,id=m4,size=256M -object memory-backend-ram,id=m5,size=512M -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1 -numa node,nodeid=2 -numa node,nodeid=3 -numa node,nodeid=4,memdev=m4 -numa node,nodeid=5,memdev=m5 -numa node,nodeid=6 -numa node,nodeid=7 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=4,socket-id=1 -numa cpu,node-id=3,socket-id=2 -numa cpu,node-id=1,socket-id=3 -numa dist,src=0,dst=1,val=22 -numa dist,src=0,dst=2,val=16 -numa dist,src=0,dst=3,val=31 -numa dist,src=0,dst=4,val=22 -numa dist,src=0,dst=5,val=40 -numa dist,src=0,dst=6,val=26 -numa dist,src=0,dst=7,val=32 -numa dist,src=1,dst=2,val=22 -numa dist,src=1,dst=3,val=39 -numa dist,src=1,dst=4,val=30 -numa dist,src=1,dst=5,val=32 -numa dist,src=1,dst=6,val=12 -numa dist,src=1,dst=7,val=27 -numa dist,src=2,dst=3,val=15 -numa dist,src=2,dst=4,val=30 -numa dist,src=2,dst=5,val=16 -numa dist,src=2,dst=6,val=17 -numa dist,src=2,dst=7,val=28 -numa dist,src=3,dst=4,val=35 -numa dist,src=3,dst=5,val=31 -numa dist,src=3,dst=6,val=16 -numa dist,src=3,dst=7,val=24 -numa dist,src=4,dst=5,val=15 -numa dist,src=4,dst=6,val=34 -numa dist,src=4,dst=7,val=13 -numa dist,src=5,dst=6,val=39 -numa dist,src=5,dst=7,val=25 -numa dist,src=6,dst=7,val=23";

    // seed 20261212 case 14 (6.12): 1 node, 8 CPUs
    private const string OneNodeEightCpus = "-m 896M,slots=5,maxmem=5120M -smp 8,maxcpus=8,sockets=4,cores=2,threads=1 -object memory-backend-ram,id=m0,size=896M -numa node,nodeid=0,memdev=m0 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 -numa cpu,node-id=0,socket-id=2 -numa cpu,node-id=0,socket-id=3";

    // seed 20261212 case 2 (6.12): 4 nodes, 2 threads per core
    private const string FourNodesSmt = "-m 2304M,slots=8,maxmem=7168M -smp 8,maxcpus=8,sockets=4,cores=1,threads=2 -object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=384M -object memory-backend-ram,id=m2,size=640M -object memory-backend-ram,id=m3,size=768M -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1,memdev=m1 -numa node,nodeid=2,memdev=m2 -numa node,nodeid=3,memdev=m3 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=1,socket-id=1 -numa cpu,node-id=3,socket-id=2 -numa cpu,node-id=2,socket-id=3 -numa dist,src=0,dst=1,val=30 -numa dist,src=0,dst=2,val=31 -numa dist,src=0,dst=3,val=17 -numa dist,src=1,dst=2,val=38 -numa dist,src=1,dst=3,val=17 -numa dist,src=2,dst=3,val=18";

    private static string CrashNotes(string qemu, KernelProfile profile, int cpu) =>
        Machine.Boot(QemuCommandLine.Parse(qemu).Spec!, profile).Read($"/sys/devices/system/cpu/cpu{cpu}/crash_notes").Text;

    [Theory]
    [InlineData("v6.1", "seven-nodes", 0, "3ec3be00")]
    [InlineData("v6.1", "one-node", 0, "36e3a600")]
    [InlineData("v6.1", "one-node", 3, "36efa600")]
    [InlineData("v6.1", "four-cpu-nodes", 0, "2723b600")]
    [InlineData("v6.1", "four-cpu-nodes", 2, "3783b600")]
    [InlineData("v6.1", "four-cpu-nodes", 7, "5733b600")]
    [InlineData("v6.12", "one-node-8", 0, "36c3da00")]
    [InlineData("v6.12", "one-node-8", 7, "36fbda00")]
    [InlineData("v6.12", "four-nodes-smt", 0, "1f43e400")]
    [InlineData("v6.12", "four-nodes-smt", 4, "8f03e400")]
    public void Crash_notes_is_the_percpu_area_the_boots_allocations_leave_for_it(string profile, string machine, int cpu, string kernel)
    {
        string qemu = machine switch
        {
            "seven-nodes" => SevenNodesOneCpu,
            "one-node" => OneNodeFourOfEightCpus,
            "four-cpu-nodes" => CpusOnFourNodes,
            "one-node-8" => OneNodeEightCpus,
            _ => FourNodesSmt,
        };
        Assert.Equal(kernel + "\n", CrashNotes(qemu, KernelProfile.Find(profile)!, cpu));
    }

    [Fact]
    public void A_percpu_area_goes_to_the_lowest_aligned_free_run_that_fits()
    {
        // 6.1's traced boot: [0, 2208) and [2304, 4352) taken before trace_init(); early_irq_init()'s 16 kstat_irqs
        // fill the hole from 2208, irq_alloc_matrix()'s 88 bytes do not fit the 32 left and go to 4352, the next
        // small areas take the hole again (an 8-byte one at its first 8-aligned bit); a freed area is reused
        var map = new Numasim.Kernel.Mm.PercpuChunkMap(28672);
        map.MarkUsed(0, 2208);
        map.MarkUsed(2304, 4352);
        for (int i = 0; i < 16; i++) Assert.Equal(2208 + 4 * i, map.Alloc(4, 4));
        Assert.Equal(4352, map.Alloc(88, 8));
        Assert.Equal(4480, map.Alloc(384, 64));
        Assert.Equal(2272, map.Alloc(4, 4));
        int a = map.Alloc(8, 8);
        Assert.Equal(2280, a);
        map.Free(a);
        Assert.Equal(2280, map.Alloc(8, 8));
        Assert.Equal(5120, map.Alloc(368, 512));
    }

    [Fact]
    public void Without_a_traced_boot_of_the_build_crash_notes_reads_0() =>
        Assert.Equal("0\n", CrashNotes(OneNodeFourOfEightCpus, KernelProfile.V4_19, 0));
}
