using Numasim.Kernel.Profiles;
using Numasim.Oracle;
using Numasim.Oracle.Fuzz;
using Numasim.Scenarios;
using Xunit;

namespace Numasim.Tests.Oracle;

/// <summary><c>numasim oracle fuzz</c>'s parts that need no QEMU: the generator and the whole-tree comparison.</summary>
public class OracleFuzzTests
{
    private static readonly OracleKernel K61 = new("6.1", "/vmlinuz", null, "v6.1");
    private static readonly OracleKernel K612 = new("6.12", "/vmlinuz", null, "v6.12");
    private static KernelProfile P(string name) => KernelProfile.Find(name)!;

    [Fact]
    public void The_same_seed_gives_the_same_cases_and_another_seed_other_cases()
    {
        var a = new FuzzGenerator(4711, P("v6.1"), cpuHotplug: true);
        var b = new FuzzGenerator(4711, P("v6.1"), cpuHotplug: true);
        var c = new FuzzGenerator(4712, P("v6.1"), cpuHotplug: true);
        for (int i = 0; i < 6; i++) Assert.Equal(a.Case(i).Text, b.Case(i).Text);
        // case i does not depend on the cases drawn before it
        Assert.Equal(a.Case(5).Text, new FuzzGenerator(4711, P("v6.1"), true).Case(5).Text);
        Assert.NotEqual(Enumerable.Range(0, 6).Select(i => a.Case(i).Text), Enumerable.Range(0, 6).Select(i => c.Case(i).Text));
    }

    [Theory]
    [InlineData("v6.1", true)]
    [InlineData("v6.12", false)]
    public void Generated_cases_stay_within_QEMU_limits_and_pass_on_the_model(string profile, bool cpuHotplug)
    {
        var gen = new FuzzGenerator(20261207, P(profile), cpuHotplug);
        var kernel = cpuHotplug ? K61 : K612;
        bool sawMemoryless = false, sawCpuless = false, sawDimm = false, sawCpuAdd = false, sawHole = false, sawEightNodes = false, sawSmt = false, sawCores = false;
        for (int i = 0; i < 25; i++)
        {
            var c = gen.Case(i);
            Assert.Null(QemuLimits.Refusal(c.Scenario, kernel, P(profile)));
            var spec = Numasim.Firmware.QemuCommandLine.Parse(c.Scenario.MachineQemu!);
            Assert.True(spec.Ok, spec.ErrorText);
            var r = ScenarioRunner.Run(ScenarioParser.Parse(c.Text, c.Scenario.File), P(profile));
            Assert.True(r.Passed, string.Join("\n", r.Steps.Where(s => !s.Passed).Select(s => s.Message)));
            var q = c.Scenario.MachineQemu!;
            sawMemoryless |= System.Text.RegularExpressions.Regex.IsMatch(q, @"-numa node,nodeid=\d+( |$)");
            sawCpuless |= Enumerable.Range(0, 8).Any(n => q.Contains($"nodeid={n}", StringComparison.Ordinal) && !q.Contains($"node-id={n},", StringComparison.Ordinal));
            sawDimm |= c.Text.Contains("pc-dimm", StringComparison.Ordinal);
            sawEightNodes |= q.Contains("nodeid=7", StringComparison.Ordinal);
            sawSmt |= q.Contains("threads=2", StringComparison.Ordinal);
            sawCores |= q.Contains("cores=2", StringComparison.Ordinal);
            sawCpuAdd |= c.Text.Contains("qemu64-x86_64-cpu", StringComparison.Ordinal);
            sawHole |= r.Machine.Fs.Read("/proc/meminfo").Text.Split('\n')[0] is var l && long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) > 3L << 20;
            if (!cpuHotplug) Assert.DoesNotContain("qemu64-x86_64-cpu", c.Text, StringComparison.Ordinal);
        }
        Assert.True(sawMemoryless && sawCpuless && sawDimm && sawHole && sawEightNodes && sawSmt && sawCores,
            $"memoryless {sawMemoryless}, CPU-less {sawCpuless}, DIMM {sawDimm}, PCI hole {sawHole}, 8 nodes {sawEightNodes}, 2 threads {sawSmt}, 2 cores {sawCores}");
        Assert.Equal(cpuHotplug, sawCpuAdd);
    }

    private const string KernelDump = """
        /sys/devices/system/node/node0/cpulist:0-1
        /sys/devices/system/node/node0/cpu0 -> ../../cpu/cpu0
        /sys/devices/system/node/node0/meminfo:Node 0 MemTotal:       916540 kB
        /sys/devices/system/node/node0/meminfo:Node 0 MemFree:        800000 kB
        /sys/devices/system/memory/memory1/state:online
        /proc/meminfo:MemTotal:         916540 kB
        /proc/meminfo:MemFree:          812345 kB
        /proc/zoneinfo:Node 0, zone      DMA
        /proc/zoneinfo:  pages free     3840
        /proc/zoneinfo:        managed  3840

        """;

    [Fact]
    public void Counters_that_depend_on_the_guest_userspace_are_masked_by_the_rule()
    {
        var model = KernelDump.Replace("800000", "700000").Replace("812345", "700001").Replace("pages free     3840", "pages free     1");
        Assert.All(TreeCompare.Compare(model, KernelDump), f => Assert.True(f.Equal, f.Path));
    }

    [Fact]
    public void A_planted_difference_is_reported_as_the_first_differing_file_and_replays()
    {
        var model = KernelDump.Replace("Node 0 MemTotal:       916540", "Node 0 MemTotal:       916544")
            .Replace("/sys/devices/system/memory/memory1/state:online\n", "");
        var tree = TreeCompare.Compare(model, KernelDump);
        var diff = tree.Where(f => !f.Equal).ToList();
        Assert.Equal(["/sys/devices/system/memory/memory1/state", "/sys/devices/system/node/node0/meminfo"], diff.Select(f => f.Path));
        Assert.Null(diff[0].Model);
        Assert.Equal((1, "Node 0 MemTotal:       916544 kB", "Node 0 MemTotal:       916540 kB"), TreeCompare.FirstDifference(diff[1]));
        Assert.Equal(tree.Count - 2, tree.Count(f => f.Equal));

        // the replay file: the case's steps, then the first differing file as the model shows it; it parses and passes on the model
        var gen = new FuzzGenerator(1, P("v6.1"), true);
        var c = gen.Case(0);
        var steps = new ScenarioComparison(c.Scenario.File, c.Name, [], 0, 0, 0, 0, TimeSpan.Zero, TimeSpan.Zero, null);
        var text = FuzzRunner.Replay(gen, new FuzzCaseResult(c, steps, [diff[1]]));
        Assert.Contains("expect: {path: /sys/devices/system/node/node0/meminfo, contains: \"Node 0 MemTotal:       916544 kB\"}", text, StringComparison.Ordinal);
        Assert.Contains("first differing file: /sys/devices/system/node/node0/meminfo line 1", text, StringComparison.Ordinal);
        var sc = ScenarioParser.Parse(text, "replay.yaml");
        Assert.Equal(c.Scenario.Steps.Count + 1, sc.Steps.Count);
    }

    [Fact]
    public void The_model_dump_has_the_kernel_dump_form()
    {
        var r = ScenarioRunner.Run(new FuzzGenerator(3, P("v6.1"), true).Case(0).Scenario, P("v6.1"));
        var files = TreeCompare.Parse(TreeCompare.ModelDump(r.Machine.Fs));
        Assert.Equal("online", files["/sys/devices/system/memory/memory1/state"]);
        Assert.StartsWith("-> ../../cpu/cpu0", files["/sys/devices/system/node/node0/cpu0"], StringComparison.Ordinal);
        Assert.StartsWith("MemTotal:", files["/proc/meminfo"], StringComparison.Ordinal);
        Assert.Contains("/proc/zoneinfo", files.Keys);
    }

    [Fact]
    public void The_summary_counts_cases_and_files()
    {
        var gen = new FuzzGenerator(1, P("v6.1"), true);
        var c = gen.Case(0);
        var cmp = new ScenarioComparison(c.Scenario.File, c.Name, [], 3, 2, 2, 0, TimeSpan.Zero, TimeSpan.Zero, null);
        var tree = TreeCompare.Compare(KernelDump.Replace("0-1", "0"), KernelDump);
        var o = new StringWriter();
        FuzzRunner.Summary([new FuzzCaseResult(c, cmp, tree), new FuzzCaseResult(gen.Case(1), cmp, TreeCompare.Compare(KernelDump, KernelDump))], o, TimeSpan.FromSeconds(1));
        int n = tree.Count;
        Assert.Contains($"agreement: cases 1/2 equal (50%), files {4 + 2 * n - 1}/{4 + 2 * n} equal", o.ToString(), StringComparison.Ordinal);
        Assert.EndsWith("1 passed, 1 failed\n", o.ToString().Replace("\r", ""), StringComparison.Ordinal);
    }
}
