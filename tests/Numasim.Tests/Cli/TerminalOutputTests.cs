using Numasim.Cli;
using static Numasim.Tests.Cli.CliHarness;

namespace Numasim.Tests.Cli;

/// <summary>On a terminal the summaries are tables; to a file or pipe the output is the plain text it always was.</summary>
public class TerminalOutputTests
{
    private static string Seed => Path.Combine(Report.ReportInChromiumTests.RepoRoot(), "scenarios", "seed", "kvm-after-node-hot-remove.yaml");

    private static (int Exit, string Out) OnTerminal(params string[] args)
    {
        var o = new TerminalWriter();
        var e = new TerminalWriter();
        int exit = CliApp.Run(args, o, e);
        return (exit, o.ToString());
    }

    [Fact]
    public void Run_summary_is_a_table_on_a_terminal_and_absent_in_plain_output()
    {
        var term = OnTerminal("run", Seed, "--profile", "v4.19");
        Assert.Equal(0, term.Exit);
        Assert.Contains("╭", term.Out);
        Assert.Matches(@"│ kvm-after-node-hot-remove\.yaml\s+│ v4\.19\s+│ 34\s+│ 34\s+│ 0\s+│ yes\s+│ PASS\s+│", term.Out);
        Assert.EndsWith("1 passed, 0 failed\n", term.Out);
        var plain = Run("run", Seed, "--profile", "v4.19");
        Assert.DoesNotContain("╭", plain.Out);
        Assert.StartsWith(plain.Out[..plain.Out.LastIndexOf("1 passed", StringComparison.Ordinal)], term.Out);
    }

    [Fact]
    public void Boot_summary_is_a_table_on_a_terminal_and_aligned_text_elsewhere()
    {
        var term = OnTerminal("boot", "--qemu", OracleQemu);
        Assert.Matches(@"│ 0\s+│ online\s+│ 0-1\s+│ 1023 MiB\s+│ DMA DMA32\s+│ 8 \(8 online\)\s+│", term.Out);
        var plain = Run("boot", "--qemu", OracleQemu);
        Assert.Contains("node  state    CPUs  present   zones      memory blocks\n0     online   0-1   1023 MiB  DMA DMA32  8 (8 online)\n", plain.Out);
        // Byte-exact outputs do not change on a terminal.
        Assert.Equal("0-1\n", OnTerminal("boot", "--qemu", OracleQemu, "--cat", "/sys/devices/system/node/possible").Out);
    }
}
