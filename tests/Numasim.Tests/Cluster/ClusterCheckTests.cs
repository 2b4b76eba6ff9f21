using Xunit.Abstractions;
using Numasim.Checker;
using Numasim.Cluster;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Tests.Cli;

namespace Numasim.Tests.Cluster;

/// <summary>Three silos on loopback in this process, shared by the tests of the class (starting them is the slow part).</summary>
public sealed class ThreeSiloFixture : IAsyncLifetime
{
    public LocalCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        Cluster = await LocalCluster.StartAsync(3, cts.Token);
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

public class ClusterCheckTests(ThreeSiloFixture fx, ITestOutputHelper output) : IClassFixture<ThreeSiloFixture>
{
    private static MachineSpec Oracle() => QemuCommandLine.Parse(CliHarness.OracleQemu).Spec!;

    private static CheckResult Single(KernelProfile p, int depth, string ops) =>
        new ModelChecker(new CheckOptions { Spec = Oracle(), Profile = p, Depth = depth, Families = OpFamilies.Parse(ops, out _) }).Run();

    private Task<CheckResult> Clustered(KernelProfile p, int depth, string ops, int partitions = 6, int renderSample = 4096) =>
        new ClusterChecker(fx.Cluster.Client, new ClusterCheckOptions
        {
            Spec = Oracle(), Qemu = CliHarness.OracleQemu, Profile = p, Depth = depth, Families = OpFamilies.Parse(ops, out _),
            Partitions = partitions, RenderSample = renderSample,
        }).RunAsync().WaitAsync(TimeSpan.FromSeconds(50));

    [Fact]
    public async Task Three_silos_count_the_same_distinct_states_per_depth_as_the_single_process_checker()
    {
        var one = Single(KernelProfile.V6_1, 5, "all");
        // One state in 64 also has its /sys and /proc compared with a replay from boot on the partition that found it.
        var three = await Clustered(KernelProfile.V6_1, 5, "all", renderSample: 64);
        Assert.Null(one.Violation);
        Assert.Null(three.Violation);
        Assert.Equal(one.StatesPerDepth, three.StatesPerDepth);
        Assert.Equal(one.States, three.States);
        Assert.Equal(one.Transitions, three.Transitions);
        output.WriteLine($"per depth {string.Join(' ', three.StatesPerDepth)}; single {one.Elapsed.TotalSeconds:F2} s, 3 silos {three.Elapsed.TotalSeconds:F2} s; {three.VisitedMode}");
        Assert.Equal(5, three.DepthReached);
        Assert.Contains("on 3 silos", three.VisitedMode);
        Assert.True(three.Rendered > 0);
    }

    [Fact]
    public async Task Three_silos_find_the_seed_counterexample_under_v4_19_the_single_process_checker_finds()
    {
        var one = Single(KernelProfile.V4_19, 4, "cpu,kvm");
        var three = await Clustered(KernelProfile.V4_19, 4, "cpu,kvm");
        var v = Assert.IsType<Violation>(three.Violation);
        Assert.Equal("no-oops", v.Invariant.Name);
        Assert.True(v.Reproduced);
        Assert.Equal(one.Violation!.Path, v.Path);
        Assert.Equal(one.Violation.Message, v.Message);
        Assert.Equal(one.StatesPerDepth, three.StatesPerDepth);
        output.WriteLine($"{string.Join(", ", v.Path)}; per depth {string.Join(' ', three.StatesPerDepth)}; {three.Elapsed.TotalSeconds:F2} s");
    }
}

public class ClusterSiloLossTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_silo_lost_during_a_run_fails_it_with_a_message_and_no_count()
    {
        await using var cluster = await LocalCluster.StartAsync(3).WaitAsync(TimeSpan.FromSeconds(60));
        var checker = new ClusterChecker(cluster.Client, new ClusterCheckOptions
        {
            Spec = QemuCommandLine.Parse(CliHarness.OracleQemu).Spec!, Qemu = CliHarness.OracleQemu, Profile = KernelProfile.V6_1,
            Depth = 5, Families = OpFamilies.Parse("cpu,dimm,kvm", out _), Partitions = 6,
            // Once level 1 is expanded and committed, the third silo goes away without a graceful shutdown.
            Progress = p => { if (p.Depth == 1) cluster.KillSiloAsync(2).GetAwaiter().GetResult(); },
        });
        var e = await Assert.ThrowsAsync<ClusterRunException>(() => checker.RunAsync().WaitAsync(TimeSpan.FromSeconds(50)));
        output.WriteLine(e.Message);
        Assert.Contains("level 2", e.Message);
        Assert.Contains("no count is reported", e.Message);
    }

    [Fact]
    public async Task With_a_resume_a_silo_lost_during_a_run_resumes_the_level_and_counts_what_the_single_process_counts()
    {
        var spec = QemuCommandLine.Parse(CliHarness.OracleQemu).Spec!;
        var families = OpFamilies.Parse("cpu,dimm,kvm", out _);
        var single = new ModelChecker(new CheckOptions { Spec = spec, Profile = KernelProfile.V6_1, Depth = 5, Families = families }).Run();
        await using var cluster = await LocalCluster.StartAsync(3).WaitAsync(TimeSpan.FromSeconds(60));
        var notices = new List<string>();
        var checker = new ClusterChecker(cluster.Client, new ClusterCheckOptions
        {
            Spec = spec, Qemu = CliHarness.OracleQemu, Profile = KernelProfile.V6_1, Depth = 5, Families = families, Partitions = 6,
            Resumes = 1, Notice = notices.Add,
            Progress = p => { if (p.Depth == 2) cluster.KillSiloAsync(2).GetAwaiter().GetResult(); },
        });
        var r = await checker.RunAsync().WaitAsync(TimeSpan.FromSeconds(50));
        output.WriteLine(string.Join("\n", notices));
        var notice = Assert.Single(notices);
        Assert.Contains("resuming level 3 from its checkpoint", notice);
        Assert.Equal(single.StatesPerDepth, r.StatesPerDepth);
        Assert.Equal(single.Transitions, r.Transitions);
        Assert.Contains("on 3 silos", r.VisitedMode); // the silos that took part, the lost one included
    }
}
