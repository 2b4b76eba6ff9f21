using Numasim.Tests.Mm;
using Numasim.Userspace;

namespace Numasim.Tests.Snapshots;

/// <summary>
/// The compact-state guard for memory policies: tmpfs files, their page cache and shared policies, and the long-lived
/// tasks with their policies and mems_allowed. Random walks of numactl/dd/task runs and block offline/online; after each
/// step the state is restored into a machine that was elsewhere and both must render and go on alike.
/// </summary>
public class CompactStateMempolicyGuardTests
{
    private static string Internals(Machine m)
    {
        var s = m.Subsystems.Shmem;
        var t = m.Subsystems.Cpuset;
        int task = t.Find("t");
        string pol = task < 0 ? "-" : $"{t[task].Pol.Mode} {t[task].Pol.Nodes.ToBitmap().ToListString()}";
        return $"a {string.Join(",", s.PageNodes("/tmp/a"))} b {string.Join(",", s.PageNodes("/tmp/b"))} task {pol}";
    }

    private static readonly NumactlPolicy[] Policies = [NumactlPolicy.Membind, NumactlPolicy.Interleave, NumactlPolicy.Preferred, NumactlPolicy.Localalloc];

    private static readonly string[] BlockStates = ["offline", "online_movable"];

    private static string Step(Machine m, Random rnd, ref int unused)
    {
        string file = rnd.Next(2) == 0 ? "/tmp/a" : "/tmp/b";
        var policy = Policies[rnd.Next(Policies.Length)];
        string nodes = policy == NumactlPolicy.Interleave ? "0,1" : rnd.Next(2).ToString();
        switch (rnd.Next(5))
        {
            case 0:
                return "numactl file " + m.Numactl(new NumactlRun(policy is NumactlPolicy.Preferred ? NumactlPolicy.Membind : policy, nodes,
                    File: file, Length: 4096L * rnd.Next(1, 40), Touch: rnd.Next(2) == 0)).Text;
            case 1:
                return "numactl dd " + m.Numactl(new NumactlRun(policy, nodes, Of: file, Count: rnd.Next(1, 80), NoTrunc: rnd.Next(2) == 0)).Text;
            case 2:
                return rnd.Next(3) == 0 ? "task start " + m.Task("t", new NumactlRun(policy, nodes)).Text
                    : "task dd " + m.Task("t", new NumactlRun(NumactlPolicy.None, "", Of: file, Count: rnd.Next(1, 40), NoTrunc: true)).Text;
            case 3:
                return "rm " + m.RemoveFile(file);
            default:
                return GuardWalk.WriteBlockState(m, rnd, BlockStates);
        }
    }

    [Theory]
    [InlineData("v6.1", 3)]
    [InlineData("v6.12", 4)]
    public void Files_policies_and_tasks_restored_from_their_value_render_and_evolve_as_the_original(string profile, int seed)
    {
        var a = HugetlbPoolTests.BootWithMovableNode1(profile);
        var b = HugetlbPoolTests.BootWithMovableNode1(profile);
        GuardWalk.Run(a, b, seed, 12, Step, (x, y, when) => GuardWalk.Same(x, y, when, Internals));
    }
}
