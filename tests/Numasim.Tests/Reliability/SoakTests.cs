using Numasim.Checker;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Scenarios;
using Numasim.Soak;

namespace Numasim.Tests.Reliability;

/// <summary>The soak's bounded CI sample (the 10 M-step run is `numasim soak --steps 10000000`, docs/reliability.md),
/// its determinism, and the shrinking of a failing walk to a scenario that replays.</summary>
public class SoakTests
{
    public static TheoryData<string, string> Configs()
    {
        var d = new TheoryData<string, string>();
        foreach (var (name, _) in SoakShapes.All)
            foreach (var p in KernelProfile.All) d.Add(name, p.Name);
        return d;
    }

    private static MachineSpec Shape(string name) => QemuCommandLine.Parse(SoakShapes.All.Single(s => s.Name == name).Qemu).Spec!;

    [Theory]
    [MemberData(nameof(Configs))]
    public void A_random_walk_keeps_every_invariant_after_every_step(string shape, string profile)
    {
        var p = KernelProfile.Find(profile)!;
        var r = SoakWalk.Run(Shape(shape), p, SoakWalk.Draws(seed: 19, steps: 600), record: false);
        Assert.True(r.Failure is null, r.Failure?.What);
        Assert.Equal(600, r.Steps);
        Assert.True(r.Checks >= 600 * Invariants.All.Count / 2);
    }

    [Fact]
    public void The_same_seed_walks_the_same_way()
    {
        var spec = Shape("oracle");
        var a = SoakWalk.Run(spec, KernelProfile.Default, SoakWalk.Draws(7, 300), record: true);
        var b = SoakWalk.Run(spec, KernelProfile.Default, SoakWalk.Draws(7, 300), record: true);
        Assert.Null(a.Failure);
        Assert.Equal(a.Checks, b.Checks);
    }

    /// <summary>A deliberately strict invariant: at most one DIMM plugged.</summary>
    private sealed class OneDimmAtMost : IInvariant
    {
        public string Name => "one-dimm-at-most";
        public string Description => "test invariant: at most one DIMM";
        public string? Check(CheckDriver d) => d.Dimms.Count > 1 ? $"{d.Dimms.Count} DIMMs plugged" : null;
    }

    [Fact]
    public void A_failing_walk_shrinks_to_a_short_scenario_that_replays_to_the_same_state()
    {
        var spec = Shape("oracle");
        IReadOnlyList<IInvariant> invs = [new OneDimmAtMost()];
        var draws = SoakWalk.Draws(3, 3000);
        var r = SoakWalk.Run(spec, KernelProfile.Default, draws, record: true, invs);
        Assert.NotNull(r.Failure);
        var (small, shrunk) = SoakWalk.Shrink(spec, KernelProfile.Default, draws, r.Failure!, invs);
        Assert.NotNull(shrunk.Failure);
        Assert.True(small.Length <= 4, $"{small.Length} draws left");
        Assert.True(small.Length < r.Failure!.Step + 1);
        // The scenario the soak writes runs, and ends with two DIMMs plugged.
        var text = SoakWalk.ScenarioOf(shrunk.Failure!, KernelProfile.Default, SoakShapes.All[0].Qemu);
        var run = ScenarioRunner.Run(ScenarioParser.Parse(text, "soak.yaml"));
        Assert.True(run.Passed, string.Join("\n", run.Steps.Where(s => !s.Passed).Select(s => s.Message)));
        Assert.Equal(2, run.Machine.Kernel.AllMemoryBlocks.Select(b => b.DeviceId).Where(id => id is not null).Distinct().Count());
    }
}
