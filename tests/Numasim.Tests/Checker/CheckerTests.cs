using Numasim.Checker;
using Numasim.Firmware;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Profiles;
using Numasim.Scenarios;
using Numasim.Tests.Cli;

namespace Numasim.Tests.Checker;

public class CheckerTests
{
    private static MachineSpec Oracle() => QemuCommandLine.Parse(CliHarness.OracleQemu).Spec!;

    private static CheckResult Check(KernelProfile p, int depth, string ops, int jobs = 1, bool symmetry = false,
        IReadOnlyList<IInvariant>? invariants = null) =>
        new ModelChecker(new CheckOptions
        {
            Spec = Oracle(), Profile = p, Depth = depth, Families = OpFamilies.Parse(ops, out _), Jobs = jobs,
            Symmetry = symmetry, Invariants = invariants,
        }).Run();

    [Fact]
    public void Finds_the_seed_oops_under_v4_19_and_the_written_scenario_replays_it()
    {
        var r = Check(KernelProfile.V4_19, 4, "cpu,kvm");
        var v = Assert.IsType<Violation>(r.Violation);
        Assert.Equal("no-oops", v.Invariant.Name);
        Assert.True(v.Reproduced);
        Assert.Equal(4, v.Path.Count);
        Assert.Equal(OpKind.Modprobe, v.Path[^1].Kind);
        Assert.Contains("BUG: unable to handle kernel paging request at 00000000000021c0", v.Message);

        var yaml = ScenarioWriter.Write(v, "v4.19", CliHarness.OracleQemu, null, 4);
        var sc = ScenarioParser.Parse(yaml, "found.yaml");
        var run = ScenarioRunner.Run(sc);
        Assert.Equal("v4.19", run.Profile.Name);
        Assert.True(run.Passed, string.Join("\n", run.Steps.Where(s => !s.Passed).Select(s => s.Message)));
        Assert.NotNull(run.Machine.Oops);
        // The same steps do not oops after the fix.
        var fixedRun = ScenarioRunner.Run(sc, KernelProfile.V4_20);
        Assert.Null(fixedRun.Machine.Oops);
    }

    [Fact]
    public void Shallower_than_the_seed_finds_nothing()
    {
        var r = Check(KernelProfile.V4_19, 3, "cpu,kvm");
        Assert.Null(r.Violation);
        Assert.Equal(3, r.DepthReached);
    }

    [Theory]
    [InlineData("v4.20")]
    [InlineData("v6.1")]
    [InlineData("v6.12")]
    public void Post_fix_profiles_have_no_violation_at_small_depth(string profile)
    {
        var r = Check(KernelProfile.Find(profile)!, 2, "all");
        Assert.True(r.Violation is null, r.Violation?.Invariant.Name + ": " + r.Violation?.Message);
        Assert.True(r.States > 10);
    }

    [Fact]
    public void Post_fix_seed_sequence_is_clean_at_depth_4()
    {
        var r = Check(KernelProfile.V4_20, 4, "cpu,kvm");
        Assert.Null(r.Violation);
    }

    [Fact]
    public void Two_jobs_explore_the_same_states_as_one()
    {
        var one = Check(KernelProfile.V6_1, 3, "cpu,dimm,kvm");
        var two = Check(KernelProfile.V6_1, 3, "cpu,dimm,kvm", jobs: 2);
        Assert.Equal(one.States, two.States);
        Assert.Equal(one.StatesPerDepth, two.StatesPerDepth);
        Assert.Equal(one.Transitions, two.Transitions);
    }

    [Fact]
    public void Restoring_from_snapshots_explores_the_same_states_as_booting_and_replaying()
    {
        // A reference breadth-first search that restores every state by booting and replaying its path.
        var spec = Oracle();
        var families = OpFamilies.All.ToHashSet();
        CheckDriver Replay(List<CheckOp> path)
        {
            var d = new CheckDriver(spec, KernelProfile.V6_1, families);
            foreach (var op in path) d.Apply(op);
            return d;
        }
        var visited = new HashSet<ulong> { StateHasher.Hash(Replay([]), false) };
        var frontier = new List<List<CheckOp>> { new() };
        var perDepth = new List<long> { 1 };
        var ops = new List<CheckOp>();
        for (int depth = 0; depth < 3; depth++)
        {
            var next = new List<List<CheckOp>>();
            foreach (var path in frontier)
            {
                Replay(path).EnabledOps(ops);
                foreach (var op in ops.ToArray())
                    if (visited.Add(StateHasher.Hash(Replay([.. path, op]), false))) next.Add([.. path, op]);
            }
            perDepth.Add(next.Count);
            frontier = next;
        }

        var r = Check(KernelProfile.V6_1, 3, "all");
        Assert.Equal(perDepth, r.StatesPerDepth);
        Assert.Equal(visited.Count, r.States);
    }

    [Fact]
    public void Max_states_stops_the_search_at_the_bound()
    {
        var r = new ModelChecker(new CheckOptions { Spec = Oracle(), Profile = KernelProfile.V6_1, Depth = 6, MaxStates = 50 }).Run();
        Assert.True(r.Bounded);
        Assert.Null(r.Violation);
        Assert.Equal(50, r.States);
        Assert.Equal(r.States, r.StatesPerDepth.Sum());
    }

    [Fact]
    public void Symmetry_reduction_never_adds_states()
    {
        var full = Check(KernelProfile.V6_1, 3, "dimm,block");
        var sym = Check(KernelProfile.V6_1, 3, "dimm,block", symmetry: true);
        Assert.True(sym.States <= full.States, $"{sym.States} > {full.States}");
        Assert.Null(sym.Violation);
    }

    private sealed class Node1StaysOffline : IInvariant
    {
        public string Name => "test-node1-offline";
        public string Description => "node 1 never comes online";
        public string? Check(CheckDriver d) => d.Machine.Kernel.NodeStates.Has(1, NodeState.Online) ? "node 1 is online" : null;
        public IReadOnlyList<ScenarioStep> Expectations(CheckDriver d) =>
            [new("expect", new Dictionary<string, string> { ["path"] = "/sys/devices/system/node/online", ["equals"] = "0-1" }, null, 0)];
    }

    [Fact]
    public void User_invariants_run_and_their_expectations_replay()
    {
        var r = Check(KernelProfile.V6_1, 3, "cpu,dimm", invariants: [.. Invariants.BuiltIn, new Node1StaysOffline()]);
        var v = Assert.IsType<Violation>(r.Violation);
        Assert.Equal("test-node1-offline", v.Invariant.Name);
        Assert.Single(v.Path); // a DIMM on node 1 brings it online at once
        var run = ScenarioRunner.Run(ScenarioParser.Parse(ScenarioWriter.Write(v, "v6.1", CliHarness.OracleQemu, null, 3), "u.yaml"));
        Assert.True(run.Passed);
    }

    private sealed class AlwaysHolds : IInvariant
    {
        public string Name => "test-always-holds";
        public string Description => "nothing";
        public string? Check(CheckDriver d) => null;
    }

    [Fact]
    public void Registered_invariants_join_the_default_set()
    {
        // A benign one: other tests running meanwhile use the default set.
        Invariants.Register(new AlwaysHolds());
        try
        {
            Assert.Contains(Invariants.All, i => i.Name == "test-always-holds");
            Assert.DoesNotContain(Invariants.BuiltIn, i => i.Name == "test-always-holds");
        }
        finally { Assert.True(Invariants.Unregister("test-always-holds")); }
        Assert.DoesNotContain(Invariants.All, i => i.Name == "test-always-holds");
    }

    [Fact]
    public void Ops_list_parses_aliases_and_rejects_unknown_names()
    {
        Assert.Equal(["cpu-add", "cpu-del", "cpu-online", "kvm"], OpFamilies.Parse("cpu,kvm", out _)!.Order());
        Assert.Null(OpFamilies.Parse("cpu,bogus", out var err));
        Assert.Contains("bogus", err);
    }

    [Fact]
    public void Cli_check_writes_a_scenario_that_run_replays()
    {
        var file = Path.Combine(Path.GetTempPath(), $"numasim-check-{Guid.NewGuid():N}.yaml");
        try
        {
            var c = CliHarness.Run("check", "--qemu", CliHarness.OracleQemu, "--profile", "v4.19", "--ops", "cpu,kvm", "--depth", "4", "--out", file);
            Assert.Equal(1, c.Exit);
            Assert.Contains("VIOLATION of no-oops", c.Out);
            Assert.Contains("4. modprobe kvm_intel", c.Out);
            var run = CliHarness.Run("run", file);
            Assert.True(run.Exit == 0, run.Out + run.Err);
            Assert.Contains("1 passed, 0 failed", run.Out);
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Cli_check_without_violation_exits_0_and_bad_ops_exit_2()
    {
        var ok = CliHarness.Run("check", "--qemu", CliHarness.OracleQemu, "--profile", "v6.1", "--ops", "cpu,kvm", "--depth", "2");
        Assert.Equal(0, ok.Exit);
        Assert.Contains("no violation up to depth 2", ok.Out);
        var bad = CliHarness.Run("check", "--qemu", CliHarness.OracleQemu, "--ops", "cpu,nope");
        Assert.Equal(2, bad.Exit);
        Assert.StartsWith("numasim: check: --ops: unknown operation 'nope'", bad.Err);
    }
}

public class CheckDriverTests
{
    /// <summary>The depth-7 false positive of the first full run: a DIMM's range ejected, then re-used by a DIMM on
    /// another node and allocated from, is memory again; the page held in the ejected DIMM was migrated.</summary>
    [Fact]
    public void A_removed_range_plugged_again_is_memory_again()
    {
        var spec = QemuCommandLine.Parse(CliHarness.OracleQemu).Spec!;
        var d = new CheckDriver(spec, KernelProfile.V6_1, OpFamilies.All.ToHashSet());
        CheckOp[] path =
        [
            new(OpKind.DimmAdd, 0), new(OpKind.BlockOnlineMovable, 32), CheckOp.AllocOp(0, AllocKind.Movable),
            new(OpKind.DimmDel, 0), new(OpKind.DimmAdd, 1), new(OpKind.BlockOnline, 32), CheckOp.AllocOp(1, AllocKind.Kernel),
        ];
        foreach (var op in path)
        {
            d.Apply(op);
            foreach (var inv in Invariants.BuiltIn) Assert.True(inv.Check(d) is null, $"{op}: {inv.Name}: {inv.Check(d)}");
        }
        Assert.False(d.Pages.ContainsKey(CheckOp.AllocOp(0, AllocKind.Movable).Arg));
        Assert.Empty(d.RemovedRanges);
    }
}

public class CheckerReductionTests
{
    private static MachineSpec Oracle() => QemuCommandLine.Parse(CliHarness.OracleQemu).Spec!;

    private static CheckResult Check(KernelProfile p, int depth, string ops, int jobs = 1, bool por = false, bool symmetry = false,
        FingerprintMode fp = FingerprintMode.Observed, int bitstate = 0, MachineSpec? spec = null) =>
        new ModelChecker(new CheckOptions
        {
            Spec = spec ?? Oracle(), Profile = p, Depth = depth, Families = OpFamilies.Parse(ops, out _), Jobs = jobs,
            PartialOrder = por, Symmetry = symmetry, Fingerprint = fp, BitstateLog2 = bitstate,
        }).Run();

    [Theory]
    [InlineData("v6.1")]
    [InlineData("v4.20")]
    public void Partial_order_reduction_keeps_the_states_and_saves_transitions(string profile)
    {
        var full = Check(KernelProfile.Find(profile)!, 4, "all");
        var por = Check(KernelProfile.Find(profile)!, 4, "all", por: true);
        Assert.Equal(full.StatesPerDepth, por.StatesPerDepth);
        Assert.True(por.Skipped > 0);
        Assert.Equal(full.Transitions, por.Transitions + por.Skipped);
    }

    [Fact]
    public void The_counterexample_is_the_same_with_and_without_reductions_and_for_any_number_of_jobs()
    {
        var one = Check(KernelProfile.V4_19, 4, "all");
        var two = Check(KernelProfile.V4_19, 4, "all", jobs: 2);
        var por = Check(KernelProfile.V4_19, 4, "all", jobs: 2, por: true);
        var v = Assert.IsType<Violation>(one.Violation);
        Assert.Equal("no-oops", v.Invariant.Name);
        Assert.Equal(v.Path, two.Violation!.Path);
        Assert.Equal(v.Path, por.Violation!.Path);
        Assert.Equal(one.StatesPerDepth, two.StatesPerDepth);
        Assert.Equal(one.Transitions, two.Transitions);
    }

    [Fact]
    public void Independent_operations_commute_in_random_walks()
    {
        var spec = QemuCommandLine.Parse(Snapshots.CompactStateGuardTests.FourNodeQemu).GetSpecOrThrow();
        foreach (var profile in KernelProfile.All)
        {
            var d = new CheckDriver(spec, profile, OpFamilies.All.ToHashSet());
            var rnd = new Random(11);
            var ops = new List<CheckOp>();
            int pairs = 0;
            for (int step = 0; step < 8; step++)
            {
                var here = d.Save();
                d.EnabledOps(ops);
                var enabled = ops.ToArray();
                foreach (var a in enabled)
                    foreach (var b in enabled)
                    {
                        if (Independence.OrderKey(a) >= Independence.OrderKey(b) || !Independence.Independent(a, b, d)) continue;
                        d.Restore(here); d.Apply(a); d.Apply(b);
                        var ab = d.Machine.State.Fingerprints;
                        var rab = StateRendering.Render(d.Machine);
                        d.Restore(here); d.Apply(b); d.Apply(a);
                        Assert.Equal(ab, d.Machine.State.Fingerprints);
                        Assert.Equal(rab, StateRendering.Render(d.Machine));
                        pairs++;
                    }
                d.Restore(here);
                if (enabled.Length == 0) break;
                d.Apply(enabled[rnd.Next(enabled.Length)]);
            }
            Assert.True(pairs > 0, $"{profile.Name}: no independent pair met");
        }
    }

    [Fact]
    public void Bitstate_hashing_finds_the_seed_and_says_how_likely_it_missed_a_state()
    {
        var r = Check(KernelProfile.V4_19, 4, "cpu,kvm", bitstate: 20);
        Assert.Equal("no-oops", r.Violation?.Invariant.Name);
        Assert.StartsWith("bitstate", r.VisitedMode);
        Assert.InRange(r.CollisionProbability, 0, 1e-3);
    }

    [Fact]
    public void The_exact_fingerprint_tells_apart_at_least_the_states_the_observed_one_does()
    {
        var observed = Check(KernelProfile.V6_1, 3, "all");
        var exact = Check(KernelProfile.V6_1, 3, "all", fp: FingerprintMode.Exact);
        Assert.True(exact.States >= observed.States, $"{exact.States} < {observed.States}");
    }

    [Fact]
    public void Symmetry_merges_states_of_a_four_node_machine()
    {
        var spec = QemuCommandLine.Parse(Snapshots.CompactStateGuardTests.FourNodeQemu).GetSpecOrThrow();
        var full = Check(KernelProfile.V6_1, 3, "cpu,dimm", spec: spec);
        var sym = Check(KernelProfile.V6_1, 3, "cpu,dimm", symmetry: true, spec: spec);
        Assert.Null(full.Violation);
        Assert.True(sym.States < full.States, $"{sym.States} >= {full.States}");
    }

    [Fact]
    public void The_expander_gives_the_successors_the_checker_counts_and_their_states_as_bytes()
    {
        var x = new StateExpander(Oracle(), KernelProfile.V6_1);
        var succ = x.Expand(x.Initial);
        var r = Check(KernelProfile.V6_1, 1, "all");
        Assert.Equal(r.StatesPerDepth[1], succ.Select(s => s.Fingerprint).Distinct().Count());
        var again = x.Expand(Numasim.Snapshots.StateSnapshot.FromBytes(succ[0].State.ToBytes()));
        Assert.NotEmpty(again);
        Assert.All(succ, s => Assert.Null(s.Broken));
    }
}
