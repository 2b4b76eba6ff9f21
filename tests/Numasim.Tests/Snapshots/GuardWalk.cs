using Numasim.Checker;
using Numasim.Snapshots;

namespace Numasim.Tests.Snapshots;

/// <summary>One random step on a machine (its description); <c>dimms</c> counts the DIMM ids the walk has made.</summary>
public delegate string GuardStep(Machine m, Random rnd, ref int dimms);

/// <summary>
/// The random walk of the compact-state guards for state no checker operation reaches: <paramref name="b"/> is walked
/// elsewhere first; then each round <paramref name="a"/> takes steps, its state is saved and restored into b, both must
/// be the same (<paramref name="same"/>), the same steps on both keep them the same, and undoing the steps on a leaves
/// no byte behind.
/// </summary>
public static class GuardWalk
{
    /// <summary>The two machines render the same /sys and /proc, hold the same <paramref name="internals"/> (what /sys
    /// does not show) and have the same fingerprints and whole-state hash.</summary>
    public static void Same(Machine a, Machine b, string when, Func<Machine, string> internals)
    {
        var diff = StateRendering.FirstDifference(a, b);
        Assert.True(diff is null, $"{when}: {diff}");
        Assert.Equal(internals(a), internals(b));
        Assert.Equal(a.State.Fingerprints, b.State.Fingerprints);
        Assert.Equal(a.State.ExactHash(), b.State.ExactHash());
    }

    /// <summary>A step: a memory backend and a pc-dimm of <paramref name="bytes"/> on <paramref name="node"/>.</summary>
    public static string DeviceAddDimm(Machine m, ref int dimms, ulong bytes, string node)
    {
        string id = $"d{dimms++}";
        m.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "b" + id, ["size"] = bytes.ToString() });
        m.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = id, ["memdev"] = "b" + id, ["node"] = node });
        return $"device_add {id}";
    }

    /// <summary>A step: device_del of one of the DIMM ids made so far (or of one never made).</summary>
    public static string DeviceDelDimm(Machine m, Random rnd, int dimms)
    {
        string id = $"d{rnd.Next(Math.Max(dimms, 1))}";
        m.Qmp.DeviceDel(new Dictionary<string, string> { ["id"] = id });
        return $"device_del {id}";
    }

    /// <summary>A step: one of the states written to a random hot-plugged block.</summary>
    public static string WriteBlockState(Machine m, Random rnd, string[] states)
    {
        var blocks = m.Kernel.AllMemoryBlocks.Where(b => b.Hotplugged).Select(b => b.Id).ToList();
        if (blocks.Count == 0) return "no block";
        long block = blocks[rnd.Next(blocks.Count)];
        string state = states[rnd.Next(states.Length)];
        m.Write($"/sys/devices/system/memory/memory{block}/state", state);
        return $"memory{block} {state}";
    }

    public static void Run(Machine a, Machine b, int seed, int rounds, GuardStep step, Action<Machine, Machine, string> same)
    {
        int dimmsA = 0, dimmsB = 0;
        var rnd = new Random(seed);
        for (int i = 0; i < 3; i++) step(b, rnd, ref dimmsB);   // b starts somewhere else
        for (int round = 0; round < rounds; round++)
        {
            var r = new Random(seed * 1000 + round);
            for (int i = 0; i < 3; i++) step(a, r, ref dimmsA);
            var saved = a.State.Save();
            b.State.Restore(StateSnapshot.FromBytes(saved.ToBytes()));
            dimmsB = dimmsA;
            same(a, b, $"round {round}: restored");
            int before = dimmsA;
            var r1 = new Random(seed * 77 + round);
            var r2 = new Random(seed * 77 + round);
            for (int i = 0; i < 3; i++)
            {
                var sa = step(a, r1, ref dimmsA);
                var sb = step(b, r2, ref dimmsB);
                Assert.Equal(sa, sb);
                same(a, b, $"round {round}: after {sa}");
            }
            a.State.Restore(saved);
            dimmsA = before;
            Assert.True(a.State.Save().SameAs(saved), "an undone step left bytes behind");
        }
    }
}
