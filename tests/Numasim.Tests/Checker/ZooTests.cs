using Numasim.Checker;
using Numasim.Kernel.Profiles;
using Numasim.Scenarios;
using Numasim.Tests.Cli;
using Numasim.Tests.Scenarios;

namespace Numasim.Tests.Checker;

/// <summary>The bug zoo: each historical bug is found by a built-in invariant under its buggy profile, its fix is clean to
/// the same depth, and the counterexample is the one checked into scenarios/zoo/.</summary>
public class ZooTests
{
    public static TheoryData<string> Bugs()
    {
        var data = new TheoryData<string>();
        foreach (var b in Zoo.Bugs) data.Add(b.Commit);
        return data;
    }

    [Theory]
    [MemberData(nameof(Bugs))]
    public void Zoo_bug_is_found_by_a_general_invariant_its_fix_is_clean_and_the_scenario_is_its_counterexample(string commit)
    {
        var bug = Zoo.Find(commit)!;
        var o = Zoo.Run(bug);
        var v = Assert.IsType<Violation>(o.Buggy.Violation);
        Assert.True(v.Reproduced);
        Assert.True(o.FixedClean, o.Line);
        Assert.Equal(o.Depth, o.Fixed!.DepthReached);
        // Found by a built-in invariant that names no bug of the zoo.
        Assert.Contains(Invariants.BuiltIn, i => i.Name == v.Invariant.Name);
        foreach (var b in Zoo.Bugs)
        {
            Assert.DoesNotContain(b.Commit[..7], v.Invariant.Description, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(b.Commit[..7], v.Invariant.Name, StringComparison.OrdinalIgnoreCase);
        }

        // The checked-in scenario starts with exactly the counterexample's steps.
        var sc = ScenarioParser.Load(Path.Combine(ScenarioFilesTests.RepoRoot(), bug.Scenario));
        Assert.Equal(Zoo.MachineQemu, sc.MachineQemu);
        var written = v.Steps.Select(ScenarioWriter.Step).ToList();
        var checkedIn = sc.Steps.Where(s => s.Kind != "expect").Take(written.Count).Select(s => ScenarioWriter.Step(Plain(s))).ToList();
        Assert.Equal(written, checkedIn);

        // The written counterexample replays under the buggy profile and breaks the same invariant there.
        var replay = ScenarioRunner.Run(ScenarioParser.Parse(ScenarioWriter.Write(v, bug.Buggy.Name, Zoo.MachineQemu, null, o.Depth), "found.yaml"));
        Assert.True(replay.Passed);
        Assert.Equal(bug.Buggy, replay.Profile);
    }

    [Fact]
    public void Zoo_profiles_differ_from_v6_1_by_one_fix_each_and_are_found_by_name()
    {
        foreach (var p in ZooProfiles.All)
        {
            Assert.Same(p, KernelProfile.Find(p.Name));
            Assert.NotEqual(KernelProfile.V6_1, p with { Name = KernelProfile.V6_1.Name, Release = KernelProfile.V6_1.Release });
            var fixedAgain = p with
            {
                Name = KernelProfile.V6_1.Name, Release = KernelProfile.V6_1.Release, Fix2c91f8fc6c99 = true, Fixd9713679dbd2 = true,
                Fix8f416836c0d5 = true, Fix712cd386fdc9 = true, Fixfeee6b298916 = true,
            };
            Assert.Equal(KernelProfile.V6_1, fixedAgain);
        }
        Assert.Null(KernelProfile.Find("zoo-000000000000"));
    }

    [Fact]
    public void A_shallower_search_than_the_bug_finds_nothing()
    {
        var bug = Zoo.Find("2c91f8fc6c99")!;
        var o = Zoo.Run(bug, maxDepth: 2);
        Assert.False(o.Found);
        Assert.Contains("NOT FOUND to depth 2", o.Line);
    }

    [Fact]
    public void Cli_check_zoo_prints_a_line_per_bug_and_writes_counterexamples_that_run_replays()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"numasim-zoo-{Guid.NewGuid():N}");
        try
        {
            var c = CliHarness.Run("check", "--zoo", "--out", dir);
            Assert.True(c.Exit == 0, c.Out + c.Err);
            foreach (var b in Zoo.Bugs)
                Assert.Contains(c.Out.Split('\n'), l => l.StartsWith(b.Commit + " ", StringComparison.Ordinal) && l.Contains("found at depth ") && l.Contains("clean when fixed"));
            Assert.Contains("every bug found, every fix clean", c.Out);
            var file = Path.Combine(dir, "2c91f8fc6c99.yaml");
            var run = CliHarness.Run("run", file);
            Assert.True(run.Exit == 0, run.Out + run.Err);
            Assert.Contains("(zoo-2c91f8fc6c99)", run.Out);

            var shallow = CliHarness.Run("check", "--zoo", "--depth", "2");
            Assert.Equal(1, shallow.Exit);
            Assert.Contains("NOT FOUND to depth 2", shallow.Out);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }

    // The step without the `when:` the scenario may add (the counterexample has none).
    private static ScenarioStep Plain(ScenarioStep s) =>
        s with { Args = s.Args.Where(kv => kv.Key != "when").ToDictionary(kv => kv.Key, kv => kv.Value) };
}
