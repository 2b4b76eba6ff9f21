using System.Text.RegularExpressions;
using Numasim.Checker;
using Numasim.Firmware;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Profiles;
using Numasim.Oracle;
using Numasim.Report;
using Numasim.Scenarios;
using Numasim.Tests.Cli;

namespace Numasim.Tests.Report;

/// <summary>The report's pages without a browser: self-contained, deterministic, pictures that summarise big
/// machines, the checker's and the oracle's sections.</summary>
public class ReportTests
{
    private static string Seed => Path.Combine(ReportInChromiumTests.RepoRoot(), "scenarios", "seed", "kvm-after-node-hot-remove.yaml");

    private static int Count(string html, string cls) => Regex.Matches(html, $"class=\"{cls}\"").Count;

    [Fact]
    public void The_page_fetches_nothing_and_is_the_same_bytes_for_the_same_run()
    {
        string Render()
        {
            var r = new HtmlReport("seed");
            r.Add(ReportRun.Run(ScenarioParser.Load(Seed), KernelProfile.V6_1));
            return r.Render();
        }
        var html = Render();
        Assert.Equal(html, Render());
        // No resource from anywhere: no src/href to another document, no url() but the page's own patterns.
        Assert.DoesNotMatch(@"(src|href)=""(https?:|//|file:)", html);
        Assert.DoesNotContain("@import", html);
        Assert.All(Regex.Matches(html, @"url\(([^)]*)\)").Select(m => m.Groups[1].Value), u => Assert.StartsWith("#", u));
        Assert.Contains("<script>", html);
    }

    [Fact]
    public void Up_to_64_nodes_each_node_is_a_box_and_beyond_they_are_tiles()
    {
        static MachineSpec Nodes(int n, ulong perNode)
        {
            var smp = new SmpSpec(n, n, n, 1, 1, 1);
            return new MachineSpec
            {
                RamBytes = perNode * (ulong)n, MaxMemBytes = perNode * (ulong)n, Smp = smp,
                Nodes = Enumerable.Range(0, n).Select(i => new NodeSpec(i, perNode)).ToList(),
                CpuSlots = X86Topology.PossibleCpus(smp, i => i),
            };
        }
        var boxes = TopologySvg.Render(TopologyView.Of(Machine.Boot(Nodes(64, 1UL << 30))), "64");
        Assert.Equal(64, Count(boxes, "numa-node"));
        Assert.Equal(0, Count(boxes, "numa-node-tile"));
        Assert.Equal(64 * 64, Count(boxes, "distance-cell"));
        var tiles = TopologySvg.Render(TopologyView.Of(Machine.Boot(Nodes(80, 1UL << 30))), "80");
        Assert.Equal(0, Count(tiles, "numa-node"));
        Assert.Equal(80, Count(tiles, "numa-node-tile"));
        Assert.Contains("80 possible nodes", tiles);
        Assert.Equal(0, Count(tiles, "distance-cell"));
    }

    [Fact]
    public void A_node_with_more_blocks_than_drawn_shows_runs_that_count_them_all()
    {
        // 48 GiB on node 0: 384 blocks of 128 MiB, the first across zones.
        var spec = QemuCommandLine.Parse("-m 48G -smp 2 -object memory-backend-ram,id=m0,size=48G -numa node,nodeid=0,memdev=m0").GetSpecOrThrow();
        var m = Machine.Boot(spec);
        var svg = TopologySvg.Render(TopologyView.Of(m), "big node");
        Assert.Equal(0, Count(svg, "mem-block"));
        var counts = Regex.Matches(svg, @"class=""mem-run""[^>]*data-count=""(\d+)""").Sum(x => int.Parse(x.Groups[1].Value));
        Assert.Equal(m.Kernel.AllMemoryBlocks.Count(), counts);
        Assert.True(counts > TopologySvg.MaxDrawnBlocks);
    }

    [Fact]
    public void The_oracle_section_tables_agreement_and_lists_every_difference()
    {
        var equal = new ScenarioComparison("a.yaml", "A", [], 5, 3, 3, 1, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3), null);
        var differs = new ScenarioComparison("b.yaml", "B", [new StepDifference("b.yaml", 7, "expect path: /x, equals: 1", "0", "1")], 4, 2, 1, 0,
            TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3), null);
        var r = new HtmlReport("oracle");
        r.Add(new OracleSummary("6.1", "v6.1", [equal, differs], ["c.yaml: refused"], TimeSpan.FromSeconds(9)));
        var html = r.Render();
        Assert.Contains("files 4/5 equal (80%), scenarios 1/2 equal (50%); 1 refused", html);
        Assert.Contains("<td>b.yaml</td><td>4</td><td>0</td><td>1/2</td><td>1</td><td>2.0 s</td><td>DIFFERS</td>", html);
        Assert.Contains("<td>7</td><td>expect path: /x, equals: 1</td><td>0</td><td>1</td>", html);
        Assert.Contains("c.yaml: refused", html);
    }

    private sealed class Node1StaysOffline : IInvariant
    {
        public string Name => "test-node1-offline";
        public string Description => "node 1 never comes online";
        public string? Check(CheckDriver d) => d.Machine.Kernel.NodeStates.Has(1, NodeState.Online) ? "node 1 is online" : null;
    }

    [Fact]
    public void The_check_section_shows_the_figures_and_the_counterexample_explained_and_pictured()
    {
        var spec = QemuCommandLine.Parse(CliHarness.OracleQemu).GetSpecOrThrow();
        var result = new ModelChecker(new CheckOptions
        {
            Spec = spec, Profile = KernelProfile.V6_1, Depth = 2, Families = OpFamilies.Parse("dimm", out _),
            Invariants = [.. Invariants.BuiltIn, new Node1StaysOffline()],
        }).Run();
        var v = Assert.IsType<Violation>(result.Violation);
        var sc = new Scenario("(counterexample)", "node 1 online", CliHarness.OracleQemu, null, "v6.1", [.. v.Steps, .. v.Expectations]);
        var replay = ReportRun.Replay(sc, spec, KernelProfile.V6_1);
        var r = new HtmlReport("check");
        r.Add(new CheckReportData("v6.1", 2, "dimm", 1, result, TopologyView.Of(Machine.Boot(spec)), replay));
        var html = r.Render();
        Assert.Contains("Violated: test-node1-offline", html);
        Assert.Contains("<td>distinct states</td>", html);
        Assert.Contains("acpi_memory_device_add", html);              // the counterexample's step explained
        Assert.Equal(1 + replay.Steps.Count(s => s.After is not null), Count(html, "frame"));
        // The picture after the DIMM: node 1 online with its blocks.
        var last = html[html.LastIndexOf("<figure class=\"frame\"", StringComparison.Ordinal)..];
        Assert.Matches(@"class=""numa-node"" data-node=""1"" data-online=""true"" data-blocks=""[1-9]", last);
    }

    [Fact]
    public void Cli_check_explains_its_counterexample_step_by_step_and_writes_the_report()
    {
        var dir = Directory.CreateTempSubdirectory("numasim-check-report-").FullName;
        try
        {
            var report = Path.Combine(dir, "check.html");
            var c = CliHarness.Run("check", "--qemu", CliHarness.OracleQemu, "--profile", "v4.19", "--ops", "cpu,kvm", "--depth", "4",
                "--out", Path.Combine(dir, "ce.yaml"), "--explain", "--report", report);
            Assert.Equal(1, c.Exit);
            Assert.Contains("the counterexample, step by step:", c.Out);
            Assert.Contains("numa_clear_node(cpu 2)", c.Out);
            Assert.Contains("~ cpu_to_node(2): 1 → -1 (NUMA_NO_NODE)", c.Out);
            Assert.Contains("__alloc_pages_node(nid -1, GFP_KERNEL, order 0)", c.Out);
            var html = File.ReadAllText(report);
            Assert.Contains("Violated: no-oops", html);
            Assert.Contains("numa_clear_node", html);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Report_into_a_missing_folder_is_refused_before_any_work()
    {
        var c = CliHarness.Run("run", Seed, "--report", "/nonexistent-folder/x.html");
        Assert.Equal(2, c.Exit);
        Assert.Equal(["numasim: report: /nonexistent-folder/x.html: No such file or directory (the folder does not exist)"], c.ErrLines);
        Assert.Equal("", c.Out);
    }
}
