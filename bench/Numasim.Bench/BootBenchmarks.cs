using BenchmarkDotNet.Attributes;
using Numasim.Firmware;

namespace Numasim.Bench;

/// <summary>Whole-machine boots: the real-kernel oracle machine (shared/oracle/README.md) and a 1,024-node,
/// 8,192-CPU, 64 TiB machine (NODES_SHIFT 10). <c>dotnet run -c Release -- --filter '*BootBenchmarks*'</c>.</summary>
[MemoryDiagnoser]
[ShortRunJob]
public class BootBenchmarks
{
    /// <summary>The oracle machine's QEMU options.</summary>
    public const string OracleQemu =
        "-m 1G,slots=4,maxmem=8G -smp 2,maxcpus=4,sockets=4,cores=1,threads=1 " +
        "-object memory-backend-ram,id=m0,size=1G -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1 " +
        "-numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 -numa cpu,node-id=1,socket-id=2 " +
        "-numa cpu,node-id=1,socket-id=3 -numa dist,src=0,dst=1,val=21";

    private MachineSpec _oracle = null!;
    private MachineSpec _big = null!;

    [GlobalSetup]
    public void Setup()
    {
        _oracle = QemuCommandLine.Parse(OracleQemu).GetSpecOrThrow();
        _big = BigMachine();
    }

    /// <summary>1,024 nodes of 64 GiB with 8 CPUs each (NODES_SHIFT 10, 8,192 CPUs, 64 TiB).</summary>
    public static MachineSpec BigMachine()
    {
        var smp = new SmpSpec(8192, 8192, 1024, 1, 8, 1);
        var nodes = Enumerable.Range(0, 1024).Select(i => new NodeSpec(i, 64UL << 30)).ToList();
        return new MachineSpec
        {
            RamBytes = 64UL << 40, MaxMemBytes = 65UL << 40, Slots = 64, Smp = smp, Nodes = nodes,
            CpuSlots = X86Topology.PossibleCpus(smp, i => i / 8),
        };
    }

    [Benchmark(Baseline = true, Description = "boot: oracle machine (2 nodes, 4 CPUs, 1 GiB)")]
    public Machine BootOracle() => Machine.Boot(_oracle);

    [Benchmark(Description = "boot: 1,024 nodes, 8,192 CPUs, 64 TiB")]
    public Machine BootBig() => Machine.Boot(_big);
}
