using static Numasim.Tests.Cli.CliHarness;

namespace Numasim.Tests.Cli;

/// <summary>numasim boot: output, exit codes, and the one-line "numasim: ..." errors for bad input (CONTRACT §2).</summary>
public class BootCommandTests
{
    private static void AssertUsageError(Outcome r, string expectedLine)
    {
        Assert.Equal(2, r.Exit);
        Assert.Equal([expectedLine], r.ErrLines);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.Equal("", r.Out);
    }

    [Fact]
    public void Cat_prints_files_in_order()
    {
        var r = Run("boot", "--qemu", OracleQemu, "--cat", "/sys/devices/system/node/possible",
            "--cat", "/sys/devices/system/node/online", "--cat", "/sys/devices/system/cpu/present",
            "--cat", "/sys/devices/system/memory/block_size_bytes");
        Assert.Equal("", r.Err);
        Assert.Equal(0, r.Exit);
        // the real 6.1 guest: node/possible=0-1 node/online=0 cpu/present=0-1 block_size_bytes=8000000
        Assert.Equal("0-1\n0\n0-1\n8000000\n", r.Out);
    }

    [Fact]
    public void Cat_of_a_missing_file_follows_cat_and_exits_2_after_printing_the_others()
    {
        var r = Run("boot", "--qemu", OracleQemu, "--cat", "/sys/devices/system/node/node1/meminfo",
            "--cat", "/sys/devices/system/node/online");
        Assert.Equal(2, r.Exit);
        Assert.Equal(["numasim: cat: /sys/devices/system/node/node1/meminfo: No such file or directory"], r.ErrLines);
        Assert.Equal("0\n", r.Out);
    }

    [Fact]
    public void Cat_of_a_directory_says_so()
    {
        var r = Run("boot", "--qemu", OracleQemu, "--cat", "/sys/devices/system/node");
        Assert.Equal(2, r.Exit);
        Assert.Equal(["numasim: cat: /sys/devices/system/node: Is a directory"], r.ErrLines);
    }

    [Fact]
    public void Dmesg_prints_the_boot_log()
    {
        var r = Run("boot", "--qemu", OracleQemu, "--dmesg");
        Assert.Equal(0, r.Exit);
        Assert.Contains("Initializing node 1 as memoryless", r.Out);
        Assert.Contains("Fallback order for Node 1: 1 0", r.Out);
    }

    [Fact]
    public void Profile_is_accepted_by_name()
    {
        foreach (var p in new[] { "v4.19", "v4.20", "v6.1", "v6.12", "6.1" })
            Assert.Equal(0, Run("boot", "--qemu", OracleQemu, "--profile", p, "--cat", "/sys/devices/system/node/possible").Exit);
    }

    [Fact]
    public void Unknown_profile() =>
        AssertUsageError(Run("boot", "--qemu", OracleQemu, "--profile", "v5.0"),
            "numasim: unknown profile 'v5.0' (known: v4.19, v4.20, v6.1, v6.12)");

    [Fact]
    public void Neither_machine_nor_qemu() =>
        AssertUsageError(Run("boot"), "numasim: boot: give exactly one of --machine FILE or --qemu \"ARGS\"");

    [Fact]
    public void Both_machine_and_qemu() =>
        AssertUsageError(Run("boot", "--qemu", "-m 1G", "--machine", "x.yaml"),
            "numasim: boot: give exactly one of --machine FILE or --qemu \"ARGS\"");

    [Fact]
    public void Impossible_topology_gives_qemus_message()
    {
        var r = Run("boot", "--qemu", "-m 1G -smp 2,maxcpus=4,sockets=3,cores=1,threads=1");
        Assert.Equal(2, r.Exit);
        Assert.Single(r.ErrLines);
        Assert.StartsWith("numasim: qemu: Invalid CPU topology: ", r.ErrLines[0]); // QEMU 7.2 names no option here
    }

    [Fact]
    public void Unknown_qemu_option()
    {
        var r = Run("boot", "--qemu", "-m 1G -frobnicate");
        Assert.Equal(2, r.Exit);
        Assert.Single(r.ErrLines);
        Assert.StartsWith("numasim: qemu: -frobnicate: ", r.ErrLines[0]);
    }

    [Fact]
    public void Malformed_qemu_option_value()
    {
        var r = Run("boot", "--qemu", "-m lots");
        Assert.Equal(2, r.Exit);
        Assert.Single(r.ErrLines);
        Assert.StartsWith("numasim: qemu: ", r.ErrLines[0]);
    }

    [Fact]
    public void Malformed_yaml_names_file_and_line()
    {
        var path = Path.Combine(Path.GetTempPath(), $"numasim-bad-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "name: bad\nram: [1G\n");
        try
        {
            var r = Run("boot", "--machine", path);
            Assert.Equal(2, r.Exit);
            Assert.Single(r.ErrLines);
            Assert.Matches($"^numasim: {System.Text.RegularExpressions.Regex.Escape(path)}:[1-9][0-9]*: ", r.ErrLines[0]);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void Missing_machine_file() =>
        AssertUsageError(Run("boot", "--machine", "/nonexistent/m.yaml"), "numasim: /nonexistent/m.yaml: No such file or directory");

    [Fact]
    public void Unknown_option_and_command()
    {
        AssertUsageError(Run("boot", "--qemu", "-m 1G", "--frob"), "numasim: Unrecognized command or argument '--frob'.");
        AssertUsageError(Run("frob"), "numasim: Unrecognized command or argument 'frob'.");
    }

    [Fact]
    public void Run_reports_bad_input_with_exit_2()
    {
        var r = Run("run", "x.yaml", "--profile", "v4.19", "--format", "json");
        Assert.Equal(2, r.Exit);
        Assert.StartsWith("numasim: x.yaml: No such file or directory", r.Err);
        Assert.Equal(2, Run("run", "x.yaml", "--format", "xml").Exit);
    }

    [Fact]
    public void Run_of_the_seed_scenario_passes_and_counts()
    {
        var seed = Path.Combine(Numasim.Tests.Scenarios.ScenarioFilesTests.RepoRoot(), "scenarios", "seed", "kvm-after-node-hot-remove.yaml");
        var r = Run("run", seed, "--profile", "v4.19");
        Assert.Equal(0, r.Exit);
        Assert.EndsWith("1 passed, 0 failed", r.Out.TrimEnd());
    }

    [Fact]
    public void Run_exports_each_scenarios_final_tree()
    {
        var seed = Path.Combine(Numasim.Tests.Scenarios.ScenarioFilesTests.RepoRoot(), "scenarios", "seed", "kvm-after-node-hot-remove.yaml");
        var dir = Path.Combine(Path.GetTempPath(), "numasim-run-export-" + Guid.NewGuid().ToString("N"));
        try
        {
            Assert.Equal(0, Run("run", seed, "--export", dir).Exit);
            var online = Path.Combine(dir, "kvm-after-node-hot-remove-v6.1", "sys", "devices", "system", "node", "online");
            Assert.Equal("0\n", File.ReadAllText(online));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Demo_shows_the_oops_before_the_fix_and_the_fallback_after()
    {
        var r = Run("demo");
        Assert.Equal(0, r.Exit);
        Assert.Contains("BUG: unable to handle kernel paging request at 00000000000021c0", r.Out);
        Assert.Contains("alloc_vmcs_cpu(2): cpu_to_node=1 -> page", r.Out);
        Assert.Contains("on node 0", r.Out);
    }
}
