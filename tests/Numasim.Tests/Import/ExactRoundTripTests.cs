using Numasim.Export;
using Numasim.Firmware;
using Numasim.Import;
using Numasim.Kernel;
using Numasim.Kernel.Profiles;
using Numasim.Tests.Cli;

namespace Numasim.Tests.Import;

/// <summary>
/// Trees the model made come back exactly: a machine is booted (and changed by hotplug), exported, imported, and the
/// imported machine booted; its /sys/devices/system, /sys/firmware/memmap and /proc/cpuinfo equal the first machine's.
/// (bench's --import-big does the same for the 1,024-node machine.)
/// </summary>
public sealed class ExactRoundTripTests : IDisposable
{
    private readonly string _dir = TempFolders.Create();

    public void Dispose() => TempFolders.Delete(_dir);

    private static readonly string[] Roots = ["/sys/devices/system", "/sys/firmware/memmap", "/proc/cpuinfo", "/sys/devices/virtual/memory_tiering"];

    private Machine ImportAgain(Machine m)
    {
        SysfsExporter.Export(m.Fs, _dir);
        var r = SysfsImporter.ImportTree(_dir, "again", new ImportOptions());
        var back = Machine.Boot(MachineFile.Parse(r.MachineFileText(), "again.yaml"), KernelProfile.Find(r.Profile));
        Assert.Empty(back.StateNotes);
        return back;
    }

    [Fact]
    public void The_oracle_machine_with_hot_added_dimms_in_three_states_comes_back_exactly()
    {
        var m = Machine.Boot(QemuCommandLine.Parse(CliHarness.OracleQemu).GetSpecOrThrow());
        (string Mem, string Dimm, string Node)[] dimms = [("m1", "d1", "1"), ("m2", "d2", "0")];
        foreach (var (mem, dimm, node) in dimms)
        {
            Assert.True(m.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = mem, ["size"] = "268435456" }).Ok);
            Assert.True(m.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = dimm, ["memdev"] = mem, ["node"] = node }).Ok);
        }
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory32/state", "online_movable"));
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/memory/memory34/state", "online_kernel"));
        var back = ImportAgain(m);
        Assert.Empty(TreeDiff.Differences(m.Fs, back.Fs, Roots));
    }

    [Fact]
    public void A_many_node_machine_with_a_distance_matrix_comes_back_exactly()
    {
        // 64 nodes of 8 CPUs on a ring (bench's --import-big does the 1,024-node machine): more folders than the
        // importer reads ahead at a time, and a SLIT of 4,096 distances
        const int nodes = 64;
        var smp = new SmpSpec(nodes * 8, nodes * 8, nodes, 1, 8, 1);
        int Hops(int a, int b) => Math.Min(Math.Abs(a - b), nodes - Math.Abs(a - b));
        var spec = new MachineSpec
        {
            Name = "ring", RamBytes = nodes * (1UL << 30), MaxMemBytes = nodes * (1UL << 30), Smp = smp,
            Nodes = Enumerable.Range(0, nodes).Select(i => new NodeSpec(i, 1UL << 30)).ToList(),
            CpuSlots = X86Topology.PossibleCpus(smp, i => i / 8),
            Distances = Enumerable.Range(0, nodes).Select(i => (IReadOnlyList<int>)Enumerable.Range(0, nodes).Select(j => i == j ? 10 : 10 + 2 * Hops(i, j)).ToList()).ToList(),
        };
        var m = Machine.Boot(spec);
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/cpu/cpu77/online", "0"));
        var back = ImportAgain(m);
        static bool Free(string p) => p.EndsWith("/meminfo", StringComparison.Ordinal) || p.EndsWith("/numastat", StringComparison.Ordinal) || p.EndsWith("/vmstat", StringComparison.Ordinal);
        Assert.Empty(TreeDiff.Differences(m.Fs, back.Fs, Roots, ignore: Free));
        Assert.StartsWith("74 72 70 ", back.Read("/sys/devices/system/node/node32/distance").Text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_two_node_smt_machine_with_an_offline_cpu_comes_back_exactly()
    {
        var m = Machine.Boot(QemuCommandLine.Parse("-m 4G -smp 8,sockets=2,cores=2,threads=2 -object memory-backend-ram,id=a,size=2G "
            + "-object memory-backend-ram,id=b,size=2G -numa node,nodeid=0,memdev=a -numa node,nodeid=1,memdev=b -numa dist,src=0,dst=1,val=31").GetSpecOrThrow());
        Assert.Equal(Errno.None, m.Write("/sys/devices/system/cpu/cpu5/online", "0"));
        var back = ImportAgain(m);
        // the free-page counters are history: the model's kernel pages of CPU 5 were allocated while it was online
        static bool Free(string p) => p.EndsWith("/meminfo", StringComparison.Ordinal) || p.EndsWith("/numastat", StringComparison.Ordinal) || p.EndsWith("/vmstat", StringComparison.Ordinal);
        Assert.Empty(TreeDiff.Differences(m.Fs, back.Fs, Roots, ignore: Free));
        Assert.Equal(m.Read("/sys/devices/system/node/node1/meminfo").Text.Split('\n')[0], back.Read("/sys/devices/system/node/node1/meminfo").Text.Split('\n')[0]);
    }
}
