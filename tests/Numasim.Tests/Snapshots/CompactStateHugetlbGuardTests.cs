using Numasim.Tests.Mm;

namespace Numasim.Tests.Snapshots;

/// <summary>
/// The compact-state guard for the hugetlb pool: the pool's free and in-use pages, the per-node surplus counts, the
/// round-robin cursors, max_huge_pages and nr_overcommit_huge_pages, and the hugetlbfs files' page caches. Random
/// walks of node, global and /proc/sys/vm nr_hugepages writes (nr_hugepages_mempolicy under a policy),
/// nr_overcommit_hugepages writes, fallocate, shared mmap (reservations) and rm of hugetlbfs files and block offline/online (which migrates pages
/// in use); after each step the state is restored into a
/// machine that was elsewhere and both must render and go on alike.
/// </summary>
public class CompactStateHugetlbGuardTests
{
    private static string Internals(Machine m)
    {
        var h = m.Subsystems.Hugetlb;
        return $"nr {h.NrHugePages()} node1 {h.NrHugePages(1)} free {h.FreeHugePages(0)}/{h.FreeHugePages(1)} surplus "
            + $"{h.SurplusHugePages(0)}/{h.SurplusHugePages(1)} resv {h.ResvHugePages} pages {h.TotalPages} max {h.MaxHugePages} overcommit {h.NrOvercommitHugePages}";
    }

    private static readonly string[] BlockStates = ["offline", "online_movable"];

    private static string Step(Machine m, Random rnd, ref int unused)
    {
        switch (rnd.Next(8))
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
            case 2:
            {
                string v = rnd.Next(0, 60).ToString();
                m.Write("/proc/sys/vm/nr_hugepages", v);
                return $"vm.nr_hugepages {v}";
            }
            case 3:
            {
                string v = rnd.Next(0, 1000).ToString();
                m.Write(rnd.Next(2) == 0 ? "/proc/sys/vm/nr_overcommit_hugepages" : "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_overcommit_hugepages", v);
                return $"nr_overcommit_hugepages {v}";
            }
            case 4:
            {
                string file = $"/dev/hugepages/f{rnd.Next(3)}", len = $"{rnd.Next(1, 9) * 2}m";
                var policy = rnd.Next(4) switch
                {
                    0 => Userspace.NumactlPolicy.None, 1 => Userspace.NumactlPolicy.Membind, 2 => Userspace.NumactlPolicy.Interleave,
                    _ => Userspace.NumactlPolicy.PreferredMany,
                };
                string nodes = policy == Userspace.NumactlPolicy.Membind ? "1" : "0,1";
                var got = m.Fallocate(new Userspace.NumactlRun(policy, nodes, file, long.Parse(len[..^1]) << 20)).Text;
                return $"fallocate {policy} {file} {len}: {got}";
            }
            case 5 when rnd.Next(2) == 0:
            {
                string file = $"/dev/hugepages/f{rnd.Next(3)}";
                return $"rm {file}: {m.RemoveFile(file)}";
            }
            case 5:
            {
                string file = $"/dev/hugepages/f{rnd.Next(3)}";
                bool touch = rnd.Next(2) == 0;
                var run = new Userspace.NumactlRun(Userspace.NumactlPolicy.Interleave, "0,1", file, rnd.Next(1, 9) * (2L << 20), Touch: touch);
                return $"numactl --file {file} mmap{(touch ? " --touch" : "")}: {m.Numactl(run).Text}";
            }
            case 6:
            {
                string v = rnd.Next(0, 60).ToString();
                var err = m.Write("/proc/sys/vm/nr_hugepages_mempolicy", v, new Userspace.NumactlRun(Userspace.NumactlPolicy.Membind, "1"));
                return $"membind=1 vm.nr_hugepages_mempolicy {v}: {err}";
            }
            default:
                return GuardWalk.WriteBlockState(m, rnd, BlockStates);
        }
    }

    [Theory]
    [InlineData("v6.1", 1)]
    [InlineData("v6.12", 2)]
    [InlineData("v6.1", 5)]
    [InlineData("v6.12", 6)]
    public void A_hugetlb_pool_restored_from_its_value_renders_and_evolves_as_the_original(string profile, int seed)
    {
        var a = HugetlbPoolTests.BootWithMovableNode1(profile);
        var b = HugetlbPoolTests.BootWithMovableNode1(profile);
        GuardWalk.Run(a, b, seed, 16, Step, (x, y, when) => GuardWalk.Same(x, y, when, Internals));
    }

    private static string GiganticInternals(Machine m)
    {
        var g = m.Subsystems.Hugetlb.Gigantic;
        return $"1G nr {g.NrHugePages()} node1 {g.NrHugePages(1)} total {m.Subsystems.Hugetlb.TotalPages}";
    }

    private static string GiganticStep(Machine m, Random rnd, ref int unused)
    {
        const string dir = "hugepages/hugepages-1048576kB/nr_hugepages";
        switch (rnd.Next(3))
        {
            case 0:
            {
                string v = rnd.Next(0, 3).ToString();
                m.Write($"/sys/devices/system/node/node1/{dir}", v);
                return $"node1 1G nr_hugepages {v}";
            }
            case 1:
            {
                string v = rnd.Next(0, 3).ToString();
                m.Write($"/sys/kernel/mm/{dir}", v);
                return $"1G nr_hugepages {v}";
            }
            default:
            {
                long block = 32 + rnd.Next(8);
                string state = rnd.Next(2) == 0 ? "offline" : "online_kernel";
                m.Write($"/sys/devices/system/memory/memory{block}/state", state);
                return $"memory{block} {state}";
            }
        }
    }

    [Theory]
    [InlineData("v6.1", 3)]
    [InlineData("v6.12", 4)]
    public void A_1g_pool_restored_from_its_value_renders_and_evolves_as_the_original(string profile, int seed)
    {
        var a = HugetlbGiganticTests.BootWithDimm("online_kernel", profile);
        var b = HugetlbGiganticTests.BootWithDimm("online_kernel", profile);
        GuardWalk.Run(a, b, seed, 10, GiganticStep, (x, y, when) => GuardWalk.Same(x, y, when, GiganticInternals));
    }
}
