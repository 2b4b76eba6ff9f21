using System.Diagnostics;
using Numasim.Kernel.Profiles;

namespace Numasim.Oracle.Fuzz;

/// <summary><see cref="StepsOnly"/>: the "N passed, N failed" line counts a case as passed when its steps and boot
/// reservations agree (the whole tree is still compared and counted in the agreement line).</summary>
public sealed record FuzzOptions(string Kernel, int Seed, int Cases, string OutDir, int First = 0, bool StepsOnly = false);

/// <summary>What one fuzz case showed: the step comparison and the whole tree at its end.</summary>
public sealed record FuzzCaseResult(FuzzCase Case, ScenarioComparison Steps, IReadOnlyList<TreeFile> Tree)
{
    /// <summary>Both dumps as read (kept for the --out files).</summary>
    public string? ModelDump { get; init; }
    public string? KernelDump { get; init; }

    public bool Equal => Steps.Equal && Tree.All(f => f.Equal);
    public TreeFile? FirstTreeDifference => Tree.FirstOrDefault(f => !f.Equal);
}

/// <summary>
/// <c>numasim oracle fuzz --kernel 6.1|6.12 --seed S --cases N --out DIR</c> (issue 12 item 6): generated cases run on the
/// model and on the real kernel under QEMU, one guest at a time; each compared step by step (as <c>numasim oracle</c>) and
/// then by the whole tree (<see cref="TreeCompare"/>). Prints per case and per file family, then
/// <c>agreement: cases E/R, files E/C</c>; each disagreeing case goes to DIR as a scenario file that <c>numasim oracle</c>
/// replays, ending with an expectation of the first differing file as the model shows it.
/// </summary>
public static class FuzzRunner
{
    public static int Run(FuzzOptions opt, TextWriter stdout, TextWriter stderr)
    {
        if (opt.Cases < 1) throw new OracleSetupException("--cases: must be at least 1");
        PrepareOut(opt.OutDir);
        var total = Stopwatch.StartNew();
        Toolchain.CheckHostTools();
        var kernel = Toolchain.ResolveKernel(opt.Kernel, stderr);
        var profile = KernelProfile.Find(kernel.Profile) ?? KernelProfile.Default;
        var gen = new FuzzGenerator(opt.Seed, profile, kernel.CpuHotAddWorks);
        var initrd = Toolchain.Initramfs();
        stdout.WriteLine($"oracle fuzz: kernel {kernel.Spec} ({kernel.Package ?? kernel.Image}), model profile {profile.Name}, seed {opt.Seed}, cases {opt.First}..{opt.First + opt.Cases - 1}");
        var results = new List<FuzzCaseResult>();
        for (int i = opt.First; i < opt.First + opt.Cases; i++)
        {
            var c = gen.Case(i);
            if (QemuLimits.Refusal(c.Scenario, kernel, profile) is { } why)
            {
                // the generator keeps to the limits; a refusal here is the generator's bug, shown, not hidden
                stdout.WriteLine($"== case {i}: refused: {why}");
                continue;
            }
            var (cmp, model, kr) = OracleRunner.RunCase(c.Scenario, kernel, profile, initrd, null, dump: true);
            var modelDump = model is null ? null : TreeCompare.ModelDump(model.Machine.Fs);
            var tree = modelDump is not null && kr.Dump is not null ? TreeCompare.Compare(modelDump, kr.Dump) : [];
            var r = new FuzzCaseResult(c, cmp, tree) { ModelDump = modelDump, KernelDump = kr.Dump };
            results.Add(r);
            Print(r, stdout);
            if (!r.Equal)
            {
                File.WriteAllText(Path.Combine(opt.OutDir, c.Scenario.File), Replay(gen, r));
                var stem = Path.Combine(opt.OutDir, Path.GetFileNameWithoutExtension(c.Scenario.File));
                File.WriteAllText(stem + ".tree.txt", TreeDifferences(r));
                if (r.KernelDump is not null) File.WriteAllText(stem + ".kernel-dump.txt", r.KernelDump);
                if (r.ModelDump is not null) File.WriteAllText(stem + ".model-dump.txt", r.ModelDump);
            }
        }
        Summary(results, stdout, total.Elapsed, opt.StepsOnly);
        return results.Any(r => !(opt.StepsOnly ? r.Steps.Equal : r.Equal)) ? 1 : results.Count == 0 ? 2 : 0;
    }

    /// <summary>--out DIR: created when missing; files are written only there, and only fuzz-*.yaml.</summary>
    private static void PrepareOut(string dir)
    {
        try { Directory.CreateDirectory(dir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new OracleSetupException($"{dir}: {e.Message}"); }
    }

    private static void Print(FuzzCaseResult r, TextWriter o)
    {
        OracleRunner.Print(r.Steps, o);
        int eq = r.Tree.Count(f => f.Equal);
        o.WriteLine($"   whole tree: {eq}/{r.Tree.Count} files equal{(r.Steps.GuestError is not null ? " (guest failed: no tree)" : "")}");
        if (r.FirstTreeDifference is { } f && TreeCompare.FirstDifference(f) is { } d)
            o.WriteLine($"   first differing file {f.Path} line {d.Line}: model {Show(d.Model)}, kernel {Show(d.Kernel)}; {r.Tree.Count(t => !t.Equal)} file(s) differ");
    }

    /// <summary>DIR/fuzz-S-I.tree.txt: every differing file of the case, both sides (masked by the rule).</summary>
    internal static string TreeDifferences(FuzzCaseResult r)
    {
        var b = new System.Text.StringBuilder();
        foreach (var f in r.Tree.Where(f => !f.Equal))
            b.Append("== ").Append(f.Path).Append("\n-- model:\n").Append(f.Model ?? "(absent)").Append("\n-- kernel:\n").Append(f.Kernel ?? "(absent)").Append('\n');
        return b.ToString();
    }

    private static string Show(string? s) => s is null ? "(absent)" : "'" + s.Replace("\n", "\\n") + "'";

    /// <summary>Per family, then overall: cases equal/run, files equal/compared (the steps' files and the trees' files).</summary>
    internal static void Summary(IReadOnlyList<FuzzCaseResult> results, TextWriter o, TimeSpan elapsed, bool stepsOnly = false)
    {
        o.WriteLine();
        foreach (var fam in new[] { "node", "memory", "cpu", "proc" })
        {
            var files = results.SelectMany(r => r.Tree).Where(f => f.Family == fam).ToList();
            var both = files.Where(f => f.Model is not null && f.Kernel is not null).ToList();
            o.WriteLine($"  {fam,-7} {files.Count(f => f.Equal)}/{files.Count} files equal ({OracleRunner.Pct(files.Count(f => f.Equal), files.Count)}); "
                        + $"of those on both sides {both.Count(f => f.Equal)}/{both.Count}; kernel only {files.Count(f => f.Model is null)}, model only {files.Count(f => f.Kernel is null)}");
        }
        int stepFiles = results.Sum(r => r.Steps.FilesCompared), stepEqual = results.Sum(r => r.Steps.FilesEqual);
        int treeFiles = results.Sum(r => r.Tree.Count), treeEqual = results.Sum(r => r.Tree.Count(f => f.Equal));
        int steps = results.Sum(r => r.Steps.StepsCompared), stepsEqual = steps - results.Sum(r => r.Steps.Differences.Count);
        int cases = results.Count(r => r.Equal);
        o.WriteLine($"  steps   {stepsEqual}/{steps} equal ({OracleRunner.Pct(stepsEqual, steps)})");
        o.WriteLine($"agreement: cases {cases}/{results.Count} equal ({OracleRunner.Pct(cases, results.Count)}), files {stepEqual + treeEqual}/{stepFiles + treeFiles} equal ({OracleRunner.Pct(stepEqual + treeEqual, stepFiles + treeFiles)}); {elapsed.TotalSeconds:0.0} s");
        int passed = stepsOnly ? results.Count(r => r.Steps.Equal) : cases;
        if (stepsOnly) o.WriteLine($"cases whose steps and boot reservations agree: {passed}/{results.Count}");
        o.WriteLine($"{passed} passed, {results.Count - passed} failed");
    }

    /// <summary>The case as a scenario file: the generated steps up to the first differing one (all of them when only the
    /// tree differs), then an expectation of the first differing tree file as the model shows it.</summary>
    internal static string Replay(FuzzGenerator gen, FuzzCaseResult r)
    {
        var sc = r.Case.Scenario;
        var lines = r.Case.Text.Split('\n');
        int stepsAt = Array.FindIndex(lines, l => l.StartsWith("steps:", StringComparison.Ordinal));
        var stepLines = lines.Skip(stepsAt + 1).Where(l => l.StartsWith("  - ", StringComparison.Ordinal)).Select(l => l[4..]).ToList();
        var header = new List<string> { $"Replay of case {r.Case.Index}: the model and Debian's kernel disagree." };
        if (r.Steps.Differences.FirstOrDefault() is { } d)
        {
            int idx = sc.Steps.ToList().FindIndex(s => s.Line == d.Line);
            if (idx >= 0) stepLines = stepLines.Take(idx + 1).ToList();
            header.Add($"first differing step: {d.Step}; model: {d.Model.Replace("\n", "\\n")}; kernel: {d.Kernel.Replace("\n", "\\n")}");
        }
        else if (r.FirstTreeDifference is { } f && TreeCompare.FirstDifference(f) is { } fd)
        {
            header.Add($"first differing file: {f.Path} line {fd.Line}: model {Show(fd.Model)}, kernel {Show(fd.Kernel)}");
            stepLines.Add(Expectation(f, fd.Model));
        }
        if (r.Steps.GuestError is not null) header.Add("guest failure: " + r.Steps.GuestError);
        return gen.Render(sc.Name, sc.MachineQemu!, stepLines, header);
    }

    private static string Expectation(TreeFile f, string? modelLine)
    {
        if (f.Model is null) return $"expect: {{path: {f.Path}, exists: \"false\"}}";
        if (f.Kernel is null) return $"expect: {{path: {f.Path}, exists: \"true\"}}";
        if (f.Model.StartsWith("-> ", StringComparison.Ordinal)) return $"expect: {{path: {f.Path}, exists: \"true\"}}";
        // a masked file (meminfo, zoneinfo...) is expected to contain the model's differing line, not to equal a masked text
        // zoneinfo and buddyinfo are compared with their spaces collapsed (and buddyinfo's counts masked): a pattern
        if (f.Path is "/proc/zoneinfo" or "/proc/buddyinfo" && modelLine is not null)
        {
            var words = (modelLine.EndsWith(" *", StringComparison.Ordinal) ? modelLine[..^2] : modelLine).Split(' ');
            return $"expect: {{path: {f.Path}, matches: {Yaml(string.Join(@"\s+", words.Select(System.Text.RegularExpressions.Regex.Escape)))}}}";
        }
        bool masked = f.Model.Contains('*') || f.Path.StartsWith("/proc/", StringComparison.Ordinal);
        return masked && modelLine is not null && !modelLine.Contains('*')
            ? $"expect: {{path: {f.Path}, contains: {Yaml(modelLine)}}}"
            : $"expect: {{path: {f.Path}, equals: {Yaml(f.Model)}}}";
    }

    private static string Yaml(string s) => "\"" + s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n") + "\"";
}
