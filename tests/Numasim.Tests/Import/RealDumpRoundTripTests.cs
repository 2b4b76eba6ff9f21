using Numasim.Import;
using Numasim.Tests.RealTools;
using Xunit.Abstractions;

namespace Numasim.Tests.Import;

/// <summary>
/// Round trips over real data written by others (/work/shared/data, see its README): every hwloc-linux dump with two
/// or more nodes and util-linux's lscpu and lsmem dumps are imported, booted (v6.1), exported, and the real tools are
/// run on the original tree and on the export:
/// <list type="bullet">
/// <item>lscpu -s ROOT -e=CPU,NODE,SOCKET,CORE,ONLINE (every dump with cpu/): trailing blanks only;</item>
/// <item>numactl --hardware over a bind mount (every dump with nodeN/meminfo): free figures become F; sizes within
///   128 MiB or 3% are taken as equal (<see cref="RoundTrip.ReconcileSizes"/>);</item>
/// <item>lstopo-no-graphics -i ROOT reduced to NUMANode and PU lines (every hwloc dump): sizes as for numactl;</item>
/// <item>lsmem -s ROOT with every option set of util-linux's expected__lsmem__* file (the lsmem dumps): trailing blanks only.</item>
/// </list>
/// Every comparison not listed in <see cref="Exceptions"/> must be equal; every one listed must differ (so a fixed
/// exception fails until it is removed here and in docs/conformance.md). The counts are printed.
/// </summary>
public class RealDumpRoundTripTests(ITestOutputHelper output)
{
    /// <summary>(dump, tool) pairs known to differ, each with its reason; mirrored in docs/conformance.md.</summary>
    public static readonly Dictionary<(string Dump, string Tool), string> Exceptions = new()
    {
    };

    private sealed record Dump(string Name, string Path, bool IsLsmem, string? LsmemExpected);

    private static List<Dump> Dumps(string data)
    {
        var list = new List<Dump>();
        foreach (var f in Directory.GetFiles(Path.Combine(data, "hwloc-linux"), "*.tar.bz2").Order(StringComparer.Ordinal))
            list.Add(new Dump(Path.GetFileName(f)[..^".tar.bz2".Length], f, false, null));
        foreach (var f in Directory.GetFiles(Path.Combine(data, "util-linux"), "ts__*").Order(StringComparer.Ordinal))
        {
            var name = Path.GetFileName(f);
            name = name[..name.IndexOf(".tar", StringComparison.Ordinal)];
            bool lsmem = name.StartsWith("ts__lsmem__dumps__", StringComparison.Ordinal);
            var exp = lsmem ? Path.Combine(data, "util-linux", "expected__lsmem__lsmem-" + name["ts__lsmem__dumps__".Length..]) : null;
            list.Add(new Dump(name, f, lsmem, exp));
        }
        return list;
    }

    [Fact]
    public void Every_real_dump_round_trips_through_the_real_tools()
    {
        var data = RoundTrip.DataDir();
        if (data is null)
        {
            if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("CI"))) Assert.Fail("../shared/data not found from the repository root");
            output.WriteLine("NOTE: ../shared/data not found; round trips not run");
            return;
        }
        bool lscpu = RealTool.Require("lscpu", output), lsmem = RealTool.Require("lsmem", output);
        bool lstopo = RealTool.Require("lstopo-no-graphics", output);
        bool numactl = RealTool.Require("numactl", output) && RealTool.Require("unshare", output) && RealTool.IsRoot
            && RealTool.Run("unshare", "-m", "true").Exit == 0;
        if (!numactl) output.WriteLine("NOTE: numactl --hardware comparisons need root and unshare -m; not run");

        int imported = 0, compared = 0, equal = 0, unreadable = 0;
        var failures = new List<string>();
        var seenExceptions = new HashSet<(string, string)>();
        // Import, boot, export and run the tools over 2 dumps at a time (the tools are separate processes); report in
        // dump order afterwards.
        var dumps = Dumps(data);
        var outcomes = new DumpOutcome[dumps.Count];
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Parallel.For(0, dumps.Count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
            outcomes[i] = RunDump(dumps[i], lscpu, lsmem, lstopo, numactl));
        for (int i = 0; i < dumps.Count; i++)
        {
            var d = dumps[i];
            var oc = outcomes[i];
            if (oc.Error is not null)
            {
                output.WriteLine($"FAILED  {d.Name}: import/boot/export: {oc.Error.GetType().Name}: {oc.Error.Message}");
                failures.Add($"{d.Name}: import/boot/export failed: {oc.Error}");
                continue;
            }
            imported++;
            output.WriteLine($"        {d.Name}: import+boot+export {oc.ExportSeconds:F1} s");
            foreach (var (tool, orig, exp) in oc.Results)
            {
                if (RoundTrip.Unreadable(orig) is string why)
                {
                    unreadable++;
                    output.WriteLine($"n/a     {d.Name}: {tool}: {why}");
                    continue;
                }
                compared++;
                bool same = orig == exp;
                if (same) equal++;
                var key = (d.Name, tool);
                bool excepted = Exceptions.ContainsKey(key);
                if (excepted) seenExceptions.Add(key);
                output.WriteLine($"{(same ? "equal  " : excepted ? "EXCEPT " : "DIFFER ")} {d.Name}: {tool}");
                if (!same && !excepted)
                    failures.Add($"{d.Name}: {tool} differs\n--- original\n{orig}--- export\n{exp}");
                if (same && excepted)
                    failures.Add($"{d.Name}: {tool} is now equal: remove its exception here and in docs/conformance.md");
            }
            foreach (var n in oc.Notes) output.WriteLine($"        note: {n}");
        }
        output.WriteLine($"round trips: {clock.Elapsed.TotalSeconds:F0} s");
        output.WriteLine($"dumps imported: {imported}; real-tool outputs equal: {equal} of {compared}; exceptions: {compared - equal}; " +
            $"not comparable (the tool cannot read the original): {unreadable}");
        Assert.True(imported > 0, "no dumps found");
        foreach (var key in Exceptions.Keys.Where(k => !seenExceptions.Contains(k)))
            if (lscpu && lsmem && lstopo && numactl) failures.Add($"exception {key} matched no comparison: remove it");
        Assert.True(failures.Count == 0, string.Join("\n\n", failures));
    }

    private sealed record DumpOutcome(Exception? Error, List<(string Tool, string Orig, string Exp)> Results, IReadOnlyList<string> Notes, double ExportSeconds);

    private static DumpOutcome RunDump(Dump d, bool lscpu, bool lsmem, bool lstopo, bool numactl)
    {
        var results = new List<(string Tool, string Orig, string Exp)>();
        using var src = TreeSource.Open(d.Path);
        var root = src.Root;
        string export;
        IReadOnlyList<string> notes;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        try { (_, export, notes) = RoundTrip.ImportBootExport(root, d.Name, new ImportOptions(FillMissing: true)); }
        catch (Exception e) { return new DumpOutcome(e, results, [], 0); }
        double seconds = sw.Elapsed.TotalSeconds;
        try
        {
            bool hasCpu = Directory.Exists(Path.Combine(root, "sys/devices/system/cpu"));
            bool hasMeminfo = Directory.Exists(Path.Combine(root, "sys/devices/system/node/node0")) &&
                Directory.GetDirectories(Path.Combine(root, "sys/devices/system/node"), "node*").All(n => File.Exists(Path.Combine(n, "meminfo")));
            if (lscpu && hasCpu) results.Add(("lscpu -e", RoundTrip.Lscpu(root), RoundTrip.Lscpu(export)));
            if (numactl && hasMeminfo)
            {
                var o = RoundTrip.Numactl(root);
                results.Add(("numactl --hardware", o, RoundTrip.ReconcileSizes(o, RoundTrip.Numactl(export), 128)));
            }
            if (lstopo && !d.Name.StartsWith("ts__", StringComparison.Ordinal))
            {
                var o = RoundTrip.Lstopo(root);
                results.Add(("lstopo", o, RoundTrip.ReconcileSizes(o, RoundTrip.Lstopo(export), 128)));
            }
            if (lsmem && d.IsLsmem)
                foreach (var opts in RoundTrip.LsmemOptionSets(d.LsmemExpected!))
                    results.Add(("lsmem " + string.Join(' ', opts), RoundTrip.Lsmem(root, opts), RoundTrip.Lsmem(export, opts)));
            return new DumpOutcome(null, results, notes, seconds);
        }
        catch (Exception e) { return new DumpOutcome(e, results, notes, seconds); }
        finally { Directory.Delete(export, recursive: true); }
    }
}
