using System.Diagnostics;
using Numasim.Checker;
using Numasim.Cluster;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Tests.Cli;

namespace Numasim.Tests.Cluster;

/// <summary>Three <c>numasim check-silo</c> processes on loopback (localhost clustering), as a user starts them.</summary>
public class ClusterProcessTests
{
    private static string CliDll => Path.Combine(AppContext.BaseDirectory, "Numasim.Cli.dll");

    private static Process StartSilo(int port, int gateway, int primary)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { CliDll, "check-silo", "--port", $"{port}", "--gateway", $"{gateway}", "--primary", $"{primary}" }) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    private static async Task Ready(Process p)
    {
        var line = await p.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(line?.StartsWith("check-silo: silo on", StringComparison.Ordinal) == true,
            $"silo did not start: {line}\n{(p.HasExited ? await p.StandardError.ReadToEndAsync() : "")}");
    }

    [Fact]
    public async Task Three_silo_processes_find_the_seed_counterexample_and_one_killed_during_a_run_stops_it_with_a_message()
    {
        var ports = LocalCluster.FreePorts(6);
        var silos = new List<Process>();
        var found = Path.Combine(Path.GetTempPath(), $"numasim-cluster-{Guid.NewGuid():N}.yaml");
        try
        {
            silos.Add(StartSilo(ports[0], ports[1], ports[0]));
            await Ready(silos[0]); // the primary holds the membership table: the others join it
            silos.Add(StartSilo(ports[2], ports[3], ports[0]));
            silos.Add(StartSilo(ports[4], ports[5], ports[0]));
            await Task.WhenAll(silos.Skip(1).Select(Ready));

            var spec = QemuCommandLine.Parse(CliHarness.OracleQemu).Spec!;
            var seed = CliHarness.Run("check", "--qemu", CliHarness.OracleQemu, "--profile", "v4.19", "--ops", "cpu,kvm", "--depth", "4",
                "--cluster-gateways", $"{ports[1]},{ports[3]},{ports[5]}", "--out", found);
            Assert.True(seed.Exit == 1, seed.Out + seed.Err);
            Assert.Contains("VIOLATION of no-oops", seed.Out);
            Assert.Contains("on 3 silos", seed.Out);
            var single = new ModelChecker(new CheckOptions { Spec = spec, Profile = KernelProfile.V4_19, Depth = 4, Families = OpFamilies.Parse("cpu,kvm", out _) }).Run();
            for (int i = 0; i < single.Violation!.Path.Count; i++) Assert.Contains($"  {i + 1}. {single.Violation.Path[i]}\n", seed.Out);

            // Another run: once level 2 is done, the third silo is killed (SIGKILL: no goodbye to the membership).
            using var client = await ClusterHost.ConnectAsync([ports[1], ports[3], ports[5]]);
            bool killed = false;
            var checker = new ClusterChecker(ClusterHost.Client(client), new ClusterCheckOptions
            {
                Spec = spec, Qemu = CliHarness.OracleQemu, Profile = KernelProfile.V6_1, Depth = 6, Partitions = 6,
                Progress = p =>
                {
                    if (p.Depth != 2) return;
                    silos[2].Kill();
                    silos[2].WaitForExit();
                    killed = true;
                },
            });
            var e = await Assert.ThrowsAsync<ClusterRunException>(() => checker.RunAsync().WaitAsync(TimeSpan.FromSeconds(50)));
            Assert.True(killed);
            Assert.Contains("level 3", e.Message);
            Assert.Contains("no count is reported", e.Message);
            await client.StopAsync();
        }
        finally
        {
            File.Delete(found);
            foreach (var p in silos)
            {
                if (!p.HasExited) p.Kill();
                p.Dispose();
            }
        }
    }
}
