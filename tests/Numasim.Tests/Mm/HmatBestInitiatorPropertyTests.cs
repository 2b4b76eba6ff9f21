using CsCheck;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;

namespace Numasim.Tests.Mm;

/// <summary>hmat_update_target_attrs()'s best initiators of a target that names no local initiator, against a
/// declarative statement of the same rule: attribute by attribute (write latency, read latency, write bandwidth, read
/// bandwidth), the initiators still in the running keep those with the best non-zero figure (lowest latency, highest
/// bandwidth), and the target takes that figure; an attribute whose figures are all zero changes nothing.</summary>
public class HmatBestInitiatorPropertyTests
{
    private static readonly string[] Types = ["write-latency", "read-latency", "write-bandwidth", "read-bandwidth"];
    private static readonly string[] Files = ["write_latency", "read_latency", "write_bandwidth", "read_bandwidth"];

    /// <summary>values[type][initiator]: latency in ns (0, 10, 20, 30) or bandwidth in GiB/s (0-3) from CPU node i to node 3.</summary>
    private static string Qemu(int[][] values)
    {
        var q = "-machine hmat=on -m 1G -smp 3,sockets=3 " + string.Concat(Enumerable.Range(0, 4).Select(n => $"-object memory-backend-ram,id=m{n},size=256M "))
            + string.Concat(Enumerable.Range(0, 4).Select(n => $"-numa node,nodeid={n},memdev=m{n} "))
            + string.Concat(Enumerable.Range(0, 3).Select(n => $"-numa cpu,node-id={n},socket-id={n} "));
        for (int t = 0; t < 4; t++)
            for (int i = 0; i < 3; i++)
                q += t < 2 ? $"-numa hmat-lb,initiator={i},target=3,hierarchy=memory,data-type={Types[t]},latency={values[t][i]} "
                           : $"-numa hmat-lb,initiator={i},target=3,hierarchy=memory,data-type={Types[t]},bandwidth={values[t][i]}G ";
        return q;
    }

    [Fact]
    public void Best_initiators_follow_the_attribute_order_and_keep_ties()
    {
        var lat = Gen.OneOf(Gen.Const(0), Gen.Const(10), Gen.Const(20), Gen.Const(30));
        var bw = Gen.Int[0, 3];
        Gen.Select(lat.Array[3], lat.Array[3], bw.Array[3], bw.Array[3]).Sample((wl, rl, wb, rb) =>
        {
            int[][] v = [wl, rl, wb, rb];
            var alive = new SortedSet<int> { 0, 1, 2 };
            var figure = new long[4];
            for (int t = 0; t < 4; t++)
            {
                var nonzero = alive.Where(i => v[t][i] != 0).ToList();
                if (nonzero.Count == 0) continue;
                int best = t < 2 ? nonzero.Min(i => v[t][i]) : nonzero.Max(i => v[t][i]);
                alive = [.. alive.Where(i => v[t][i] == best)];
                figure[t] = t < 2 ? best : best * 1024L;
            }
            var m = Machine.Boot(QemuCommandLine.Parse(Qemu(v)).GetSpecOrThrow(), KernelProfile.V6_1);
            for (int access = 0; access < 2; access++)
            {
                var dir = $"/sys/devices/system/node/node3/access{access}/initiators";
                for (int i = 0; i < 3; i++)
                    Assert.Equal(alive.Contains(i), m.Fs.Exists($"{dir}/node{i}"));
                for (int t = 0; t < 4; t++)
                    Assert.Equal(figure[t] + "\n", m.Read($"{dir}/{Files[t]}").Text);
            }
        }, iter: 60);
    }
}
