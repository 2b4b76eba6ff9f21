using Numasim.Tests.Mm;

namespace Numasim.Tests.Snapshots;

/// <summary>
/// The compact-state guard for the hugetlb pool: the pool's pages, the round-robin cursors and max_huge_pages. Random
/// walks of node and global nr_hugepages writes and block offline/online; after each step the state is restored into a
/// machine that was elsewhere and both must render and go on alike.
/// </summary>
public class CompactStateHugetlbGuardTests
{
    private static string Internals(Machine m)
    {
        var h = m.Subsystems.Hugetlb;
        return $"nr {h.NrHugePages()} node1 {h.NrHugePages(1)} pages {h.TotalPages}";
    }

    private static readonly string[] BlockStates = ["offline", "online_movable"];

    private static string Step(Machine m, Random rnd, ref int unused)
    {
        switch (rnd.Next(3))
        {
            case 0:
            {
                string v = rnd.Next(0, 120).ToString();
                m.Write("/sys/devices/system/node/node1/hugepages/hugepages-2048kB/nr_hugepages", v);
                return $"node1 nr_hugepages {v}";
            }
            case 1:
            {
                string v = rnd.Next(0, 60).ToString();
                m.Write("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", v);
                return $"nr_hugepages {v}";
            }
            default:
                return GuardWalk.WriteBlockState(m, rnd, BlockStates);
        }
    }

    [Theory]
    [InlineData("v6.1", 1)]
    [InlineData("v6.12", 2)]
    public void A_hugetlb_pool_restored_from_its_value_renders_and_evolves_as_the_original(string profile, int seed)
    {
        var a = HugetlbPoolTests.BootWithMovableNode1(profile);
        var b = HugetlbPoolTests.BootWithMovableNode1(profile);
        GuardWalk.Run(a, b, seed, 10, Step, (x, y, when) => GuardWalk.Same(x, y, when, Internals));
    }
}
