using Numasim.Tests.Cli;

namespace Numasim.Tests.Cluster;

public class ClusterCliTests
{
    [Fact]
    public void Check_with_two_local_silos_prints_the_single_process_counts_per_depth()
    {
        var one = CliHarness.Run("check", "--qemu", CliHarness.OracleQemu, "--profile", "v6.1", "--ops", "cpu,kvm", "--depth", "3");
        var two = CliHarness.Run("check", "--qemu", CliHarness.OracleQemu, "--profile", "v6.1", "--ops", "cpu,kvm", "--depth", "3", "--cluster", "2");
        Assert.True(two.Exit == 0, two.Out + two.Err);
        Assert.Contains("on 2 silos", two.Out);
        string PerDepth(string text) => text.Split('\n').Single(l => l.Contains("states per depth:"));
        Assert.Equal(PerDepth(one.Out), PerDepth(two.Out));
    }

    [Theory]
    [InlineData("--cluster", "0", "--cluster takes 1 to 64 silos")]
    [InlineData("--cluster-gateways", "30000,x", "'x' is not a TCP port")]
    [InlineData("--bitstate", "20", "--bitstate is not available with --cluster")]
    public void Check_refuses_bad_cluster_options_with_exit_2(string option, string value, string message)
    {
        string[] cluster = option == "--bitstate" ? ["--cluster", "2"] : [];
        var r = CliHarness.Run(["check", "--qemu", CliHarness.OracleQemu, "--depth", "1", option, value, .. cluster]);
        Assert.Equal(2, r.Exit);
        Assert.Contains(message, r.Err);
    }

    [Theory]
    [InlineData("--port must be a TCP port", "--port", "70000")]
    [InlineData("--address goes with --redis", "--address", "10.0.0.1")]
    [InlineData("give one of --primary (localhost clustering) or --redis", "--redis", "127.0.0.1:1", "--primary", "11111")]
    [InlineData("'nowhere' is not an IP address", "--redis", "127.0.0.1:1", "--address", "nowhere")]
    public void Check_silo_refuses_bad_options_before_starting(string message, params string[] args)
    {
        var r = CliHarness.Run(["check-silo", .. args]);
        Assert.Equal(2, r.Exit);
        Assert.Contains(message, r.Err);
    }

    [Fact]
    public void Check_refuses_two_ways_to_reach_a_cluster()
    {
        var r = CliHarness.Run("check", "--qemu", CliHarness.OracleQemu, "--cluster", "2", "--cluster-redis", "127.0.0.1:1");
        Assert.Equal(2, r.Exit);
        Assert.Contains("give one of --cluster N, --cluster-gateways PORTS or --cluster-redis CONN", r.Err);
    }
}
