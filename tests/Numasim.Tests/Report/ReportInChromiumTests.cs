using System.Text.Json.Nodes;
using Numasim.Kernel.Profiles;
using Numasim.Report;
using Numasim.Scenarios;
using Xunit.Abstractions;

namespace Numasim.Tests.Report;

/// <summary>
/// The HTML report of the seed run opens in headless Chromium (Debian's chromium, which .ci/run installs) without
/// script errors, and every picture of its timeline draws the nodes and memory blocks the model had at that step:
/// counted in the page's DOM (SVG elements and their data-* attributes), against counts read from the model's
/// /sys in a separate run. A screenshot is taken and checked to be a real PNG.
/// </summary>
public class ReportInChromiumTests(ITestOutputHelper output)
{
    private static string SeedFile => Path.Combine(RepoRoot(), "scenarios", "seed", "kvm-after-node-hot-remove.yaml");

    internal static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Numasim.slnx"))) dir = Path.GetDirectoryName(dir);
        return dir ?? throw new InvalidOperationException("repository root not found");
    }

    /// <summary>What /sys of a fresh run shows after boot and after each step that can change the machine:
    /// (possible nodes, memory blocks, memory blocks of node 1).</summary>
    private static List<(int Nodes, int Blocks, int Node1Blocks)> CountsFromSysfs(Scenario sc, KernelProfile profile)
    {
        var counts = new List<(int, int, int)>();
        static (int, int, int) Read(Machine m)
        {
            var possible = m.Read("/sys/devices/system/node/possible").Text.Trim();
            int nodes = possible.Split(',').Sum(r => r.Contains('-') ? int.Parse(r.Split('-')[1]) - int.Parse(r.Split('-')[0]) + 1 : 1);
            int blocks = m.Fs.List("/sys/devices/system/memory")!.Count(n => n.StartsWith("memory", StringComparison.Ordinal));
            int node1 = m.Fs.List("/sys/devices/system/node/node1")?.Count(n => n.StartsWith("memory", StringComparison.Ordinal)) ?? 0;
            return (nodes, blocks, node1);
        }
        ScenarioRunner.Run(sc, profile, new ScenarioRunOptions
        {
            AfterBoot = m => counts.Add(Read(m)),
            AfterStep = (_, r, m) =>
            {
                if (r.Step.Kind != "expect" && !r.Message.Contains("(skipped:", StringComparison.Ordinal)) counts.Add(Read(m));
            },
        });
        return counts;
    }

    [Fact]
    public async Task Seed_report_opens_without_script_errors_and_every_picture_shows_the_nodes_and_blocks_of_its_step()
    {
        var chromium = HeadlessChromium.FindBinary();
        if (chromium is null)
        {
            var ci = Environment.GetEnvironmentVariable("CI");
            if (!string.IsNullOrEmpty(ci)) Assert.Fail($"chromium is not installed but CI={ci}: .ci/run installs it (apt-get install chromium)");
            output.WriteLine("NOTE: chromium is not installed; the report was not rendered (it is required when CI is set)");
            return;
        }
        var sc = ScenarioParser.Load(SeedFile);
        var data = ReportRun.Run(sc, KernelProfile.V4_19);
        var report = new HtmlReport("seed");
        report.Add(data);
        var dir = Directory.CreateTempSubdirectory("numasim-report-").FullName;
        try
        {
            var file = Path.Combine(dir, "seed.html");
            File.WriteAllText(file, report.Render());
            var expected = CountsFromSysfs(sc, KernelProfile.V4_19);

            await using var browser = await HeadlessChromium.StartAsync(chromium);
            await browser.NavigateAsync(new Uri(file).AbsoluteUri);
            var frames = (await browser.EvaluateAsync("""
                Array.from(document.querySelectorAll('figure.frame')).map(function (f) {
                  var blocks = f.querySelectorAll('.mem-block').length;
                  f.querySelectorAll('.mem-run').forEach(function (r) { blocks += Number(r.getAttribute('data-count')); });
                  var n1 = f.querySelector('.numa-node[data-node="1"]');
                  return { nodes: f.querySelectorAll('svg .numa-node').length, blocks: blocks,
                           node1: n1 ? n1.querySelectorAll('.mem-block').length : -1,
                           cpus: f.querySelectorAll('svg .cpu').length, slots: f.querySelectorAll('svg .dimm-slot').length,
                           hidden: f.hidden };
                })
                """))!.AsArray();
            Assert.Empty(browser.Errors);
            Assert.Equal(expected.Count, frames.Count);
            for (int i = 0; i < frames.Count; i++)
            {
                var f = frames[i]!;
                Assert.Equal(expected[i].Nodes, (int)f["nodes"]!);
                Assert.Equal(expected[i].Blocks, (int)f["blocks"]!);
                Assert.Equal(expected[i].Node1Blocks, (int)f["node1"]!);
                Assert.Equal(4, (int)f["cpus"]!);   // every possible CPU is drawn, in its node or under "no node"
                Assert.Equal(4, (int)f["slots"]!);  // -m slots=4
            }
            Assert.Equal(2, expected[0].Nodes);
            Assert.Contains(expected, e => e.Node1Blocks == 4); // the DIMM's blocks appeared under node 1
            // The script shows the last picture, and the previous-step button moves the timeline back one.
            Assert.Equal(frames.Count - 1, frames.Select((f, i) => (f, i)).Single(x => !(bool)x.f!["hidden"]!).i);
            var shown = await browser.EvaluateAsync("""
                (function () { document.querySelector('.timeline button[data-move="-1"]').click();
                  return Array.from(document.querySelectorAll('figure.frame')).findIndex(function (f) { return !f.hidden; }); })()
                """);
            Assert.Equal(frames.Count - 2, (int)shown!);
            // At the end CPU 2 sits in the "no node" box: v4.19 cleared its cpu_to_node().
            var noNodeCpus = await browser.EvaluateAsync("Array.from(Array.from(document.querySelectorAll('figure.frame')).pop().querySelectorAll('.no-node .cpu')).map(function (c) { return Number(c.getAttribute('data-cpu')); })");
            Assert.Equal([2], noNodeCpus!.AsArray().Select(n => (int)n!));
            Assert.Equal(-1, data.Result.Machine.Kernel.Cpus.CpuToNode(2));
            Assert.Empty(browser.Errors);

            var png = await browser.ScreenshotAsync();
            Assert.True(png.Length > 10_000, $"screenshot of {png.Length} bytes");
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
            int width = (png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19];
            int height = (png[20] << 24) | (png[21] << 16) | (png[22] << 8) | png[23];
            Assert.True(width >= 1000 && height >= 1000, $"screenshot {width}x{height}");
            var shot = Path.Combine(Path.GetTempPath(), "numasim-seed-report.png");
            File.WriteAllBytes(shot, png);
            output.WriteLine($"screenshot: {shot} ({width}x{height}, {png.Length} bytes)");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

/// <summary>The harness itself sees a script error (so that "no script errors" above can fail).</summary>
public class HeadlessChromiumTests(ITestOutputHelper output)
{
    [Fact]
    public async Task An_uncaught_exception_in_a_page_is_reported_as_a_script_error()
    {
        var chromium = HeadlessChromium.FindBinary();
        if (chromium is null)
        {
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))) Assert.Fail("chromium is not installed but CI is set");
            output.WriteLine("NOTE: chromium is not installed; not run");
            return;
        }
        var dir = Directory.CreateTempSubdirectory("numasim-page-").FullName;
        try
        {
            var file = Path.Combine(dir, "bad.html");
            File.WriteAllText(file, "<!DOCTYPE html><html><body><p id=\"p\">x</p><script>document.getElementById('p').textContent = noSuchFunction();</script></body></html>");
            await using var browser = await HeadlessChromium.StartAsync(chromium);
            await browser.NavigateAsync(new Uri(file).AbsoluteUri);
            Assert.Contains(browser.Errors, e => e.Contains("noSuchFunction", StringComparison.Ordinal));
            Assert.Equal("x", (string?)(await browser.EvaluateAsync("document.getElementById('p').textContent")));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
