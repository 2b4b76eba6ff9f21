using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Snapshots;
using Numasim.Tests.Cli;

namespace Numasim.Tests.Snapshots;

/// <summary>
/// The compact-state guard for what a real machine brings beyond QEMU's pc (lossless import, issue 20): DIMMs plugged
/// before boot (QMP's backends and DIMMs, QEMU's device memory, the blocks' ACPI slots and their PNP0C80:SS devices),
/// /sys/firmware/memmap's hotplug entries, cpufreq policies made as CPUs register, cpuN/cache/ while a CPU is up,
/// HMAT access classes and memory-side caches on a node that goes offline and comes back (a generic-initiator node
/// whose memory is a cold-plugged DIMM). Random walks of CPU add/remove/online, DIMM add/remove (the cold-plugged ones
/// too) and block online/offline; after each step the state is saved, restored into a machine that was elsewhere,
/// and both must render the same /sys and /proc, hash the same and go on the same; undoing leaves no byte behind.
/// </summary>
public class CompactStateRealMachineGuardTests
{
    private static MachineSpec Spec(string append)
    {
        var spec = QemuCommandLine.Parse($"{CliHarness.OracleQemu} -append '{append}'").GetSpecOrThrow();
        return spec with
        {
            Dimms = [new ColdDimmSpec("dimm0", 256UL << 20, 1, Slot: 2), new ColdDimmSpec("dimm1", 128UL << 20, 0)],
            GenericInitiatorNodes = [1],
            CpuFreq = [new CpuFreqSpec([0, 1, 2, 3], 2_400_000, 800_000, 1_200_000)],
            CpuFreqBoost = 1,
            NodeAccess =
            [
                new NodeAccessSpec(1, 0, [0, 1]) { ReadLatency = 120, ReadBandwidth = 5120 },
                new NodeAccessSpec(0, 0, [0]) { WriteLatency = 80 },
                new NodeAccessSpec(0, 1, [0, 1]),
            ],
            MemorySideCaches = [new MemorySideCacheSpec(1, 1, 10 << 10, 8, 0, 0)],
        };
    }

    /// <summary>What QEMU and the blocks hold beyond /sys and /proc: the DIMMs QEMU placed, the blocks' slots.</summary>
    private static string Internals(Machine m) =>
        string.Join("\n", m.Qmp.DeviceMemory.Dimms.Select(d => $"{d.Id} slot {d.Slot} at {d.Address:x} node {d.Node}")
            .Concat(m.Kernel.AllMemoryBlocks.Where(b => b.Hotplugged).Select(b => $"memory{b.Id}: {b.DeviceId} slot {b.AcpiSlot}")));

    private static void Same(Machine a, Machine b, string when) => GuardWalk.Same(a, b, when, Internals);

    /// <summary>One random step (its description): the same generator state gives the same step on any machine.</summary>
    private static string Step(Machine m, Random rnd, ref int dimms)
    {
        switch (rnd.Next(5))
        {
            case 0:
            {
                int socket = 2 + rnd.Next(2);
                var r = m.Qmp.DeviceAdd(new Dictionary<string, string>
                {
                    ["driver"] = "qemu64-x86_64-cpu", ["id"] = $"cpu{socket}", ["socket-id"] = $"{socket}", ["core-id"] = "0", ["thread-id"] = "0",
                });
                return $"device_add cpu{socket}: {r.Error}";
            }
            case 1:
            {
                var id = rnd.Next(3) switch { 0 => "cpu2", 1 => "cpu3", _ => $"d{rnd.Next(Math.Max(dimms, 1))}" };
                if (rnd.Next(4) == 0) id = rnd.Next(2) == 0 ? "dimm0" : "dimm1";
                var r = m.Qmp.DeviceDel(new Dictionary<string, string> { ["id"] = id });
                return $"device_del {id}: {r.Error}";
            }
            case 2:
            {
                int cpu = 1 + rnd.Next(3);
                string v = rnd.Next(2).ToString();
                var path = $"/sys/devices/system/cpu/cpu{cpu}/online";
                return m.Read(path).Ok ? $"cpu{cpu}/online <- {v}: {m.Write(path, v)}" : $"no cpu{cpu}";
            }
            case 3:
            {
                string id = $"d{dimms++}";
                m.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "b" + id, ["size"] = (128UL << 20).ToString() });
                var r = m.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = id, ["memdev"] = "b" + id, ["node"] = rnd.Next(2).ToString() });
                return $"device_add {id}: {r.Error}";
            }
            default:
            {
                var blocks = m.Kernel.AllMemoryBlocks.Where(b => b.Hotplugged).Select(b => b.Id).ToList();
                if (blocks.Count == 0) return "no block";
                long block = blocks[rnd.Next(blocks.Count)];
                string state = rnd.Next(3) switch { 0 => "offline", 1 => "online_movable", _ => "online" };
                return $"memory{block} {state}: {m.Write($"/sys/devices/system/memory/memory{block}/state", state)}";
            }
        }
    }

    [Theory]
    [InlineData("v6.1", "memhp_default_state=online_movable", 1)]
    [InlineData("v6.1", "memhp_default_state=offline", 2)]
    [InlineData("v6.12", "memhp_default_state=online", 3)]
    [InlineData("v4.19", "memhp_default_state=online_movable", 4)]
    public void A_real_machine_state_restored_from_its_value_renders_and_evolves_as_the_original(string profile, string append, int seed)
    {
        var spec = Spec(append);
        var p = KernelProfile.Find(profile)!;
        var a = Machine.Boot(spec, p);
        var b = Machine.Boot(spec, p);
        Assert.Empty(a.StateNotes);
        Assert.Equal("120\n", a.Read("/sys/devices/system/node/node1/access0/initiators/read_latency").Text); // node 1's HMAT at boot
        Assert.NotNull(a.Fs.Lookup("/sys/devices/system/node/node1/access1/targets/node0"));
        Assert.NotNull(a.Fs.Lookup("/sys/devices/LNXSYSTM:00/LNXSYBUS:00/PNP0A06:04/PNP0C80:02"));
        Assert.NotNull(a.Fs.Lookup("/sys/devices/system/cpu/cpufreq/policy1/cpuinfo_max_freq"));
        GuardWalk.Run(a, b, seed, 10, Step, Same);
        NodeOneGoesAndComesBack(spec, p, b);
    }

    /// <summary>Node 1 loses its only memory (the cold-plugged DIMM, its blocks offlined first): it goes offline and its
    /// HMAT devices with it; a new DIMM brings the node back without them. Each state restored into <paramref name="b"/>
    /// (which is elsewhere) must be the same.</summary>
    private static void NodeOneGoesAndComesBack(MachineSpec spec, KernelProfile p, Machine b)
    {
        var a = Machine.Boot(spec, p);
        foreach (var mb in a.Kernel.AllMemoryBlocks.Where(x => x.DeviceId == "dimm0" && x.State != Kernel.Drivers.MemoryBlockState.Offline).ToList())
            Assert.Equal(Kernel.Errno.None, a.Write($"/sys/devices/system/memory/memory{mb.Id}/state", "offline"));
        Assert.Null(a.Qmp.DeviceDel(new Dictionary<string, string> { ["id"] = "dimm0" }).Error);
        Assert.Null(a.Fs.Lookup("/sys/devices/system/node/node1")); // offline with its last memory
        b.State.Restore(StateSnapshot.FromBytes(a.State.Save().ToBytes()));
        Same(a, b, "node 1 offline");
        a.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "back", ["size"] = (128UL << 20).ToString() });
        Assert.Null(a.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = "back", ["memdev"] = "back", ["node"] = "1" }).Error);
        Assert.NotNull(a.Fs.Lookup("/sys/devices/system/node/node1"));
        Assert.Null(a.Fs.Lookup("/sys/devices/system/node/node1/access0")); // HMAT registers once, at boot
        b.State.Restore(StateSnapshot.FromBytes(a.State.Save().ToBytes()));
        Same(a, b, "node 1 back");
    }
}
