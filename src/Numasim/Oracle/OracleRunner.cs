using System.Diagnostics;
using System.Text.RegularExpressions;
using Numasim.Kernel.Profiles;
using Numasim.Scenarios;

namespace Numasim.Oracle;

/// <summary>One step where the model and the kernel disagree.</summary>
public sealed record StepDifference(string File, int Line, string Step, string Model, string Kernel);

/// <summary>The comparison of one scenario.</summary>
public sealed record ScenarioComparison(string File, string Name, IReadOnlyList<StepDifference> Differences, int StepsCompared,
    int FilesCompared, int FilesEqual, int Skipped, TimeSpan Boot, TimeSpan Total, string? GuestError)
{
    /// <summary>The boot reservations per (caller, node), model against the guest's memblock=debug log.</summary>
    public IReadOnlyList<ReservationGroup> Reservations { get; init; } = [];

    /// <summary>Why the first QEMU died before the guest's shell, when the boot was made a second time.</summary>
    public string? BootRetried { get; init; }

    /// <summary>The whole tree at the scenario's end (Fuzz/TreeCompare: /sys/devices/system/{node,cpu,memory} and
    /// /proc/{meminfo,buddyinfo,zoneinfo} by the fuzz's rule): counted in the agreement figure, shown with its first
    /// difference; the verdict stays the steps' and the reservations'. Null when the guest gave no tree.</summary>
    public IReadOnlyList<Fuzz.TreeFile>? WholeTree { get; init; }

    public bool Equal => Differences.Count == 0 && GuestError is null && Reservations.All(r => r.Equal);
}

public sealed record OracleOptions(string Kernel, string? RecordDir, bool KeepGoing)
{
    /// <summary>Told where the run is: (phase, done, total, what), phases "kernel", "scenarios", "steps".</summary>
    public Action<string, int, int, string>? Progress { get; init; }

    /// <summary>Handed the whole comparison at the end (the CLI's table and --report).</summary>
    public Action<OracleSummary>? Finished { get; init; }
}

/// <summary>A whole oracle run: the kernel and profile compared, every scenario's comparison, the refusals.</summary>
public sealed record OracleSummary(string Kernel, string Profile, IReadOnlyList<ScenarioComparison> Scenarios, IReadOnlyList<string> Refused, TimeSpan Elapsed);

/// <summary><c>numasim oracle</c>: each scenario on the real kernel under QEMU and on the model, step by step.</summary>
public static partial class OracleRunner
{
    /// <summary>Runs everything; returns 0 nothing differs, 1 something differs or a guest failed, 2 bad input or refused.</summary>
    public static int Run(IReadOnlyList<string> files, OracleOptions opt, TextWriter stdout, TextWriter stderr)
    {
        var total = Stopwatch.StartNew();
        var scenarios = new List<Scenario>();
        foreach (var f in files)
        {
            if (!File.Exists(f)) throw new OracleSetupException($"{f}: No such file or directory");
            try { scenarios.Add(ScenarioParser.Load(f)); }
            catch (ScenarioFormatException e) { throw new OracleSetupException(e.Message); }
        }
        Toolchain.CheckHostTools();
        opt.Progress?.Invoke("kernel", 0, 1, $"kernel {opt.Kernel}: finding (and fetching) the package");
        var kernel = Toolchain.ResolveKernel(opt.Kernel, stderr);
        opt.Progress?.Invoke("kernel", 1, 1, $"kernel {kernel.Spec}: ready");
        var profile = KernelProfile.Find(kernel.Profile) ?? KernelProfile.Default;

        // refuse up front what QEMU 7.2 TCG cannot run
        var refused = new List<string>();
        foreach (var sc in scenarios)
            if (QemuLimits.Refusal(sc, kernel, profile) is { } why) refused.Add(why);
        foreach (var r in refused) stderr.WriteLine("numasim: " + r);
        if (refused.Count > 0 && !opt.KeepGoing) return 2;
        var runnable = scenarios.Where(sc => QemuLimits.Refusal(sc, kernel, profile) is null).ToList();

        var initrd = Toolchain.Initramfs();
        stdout.WriteLine($"oracle: kernel {kernel.Spec} ({kernel.Package ?? kernel.Image}), model profile {profile.Name}, {runnable.Count} scenario(s)");
        var results = new List<ScenarioComparison>();
        foreach (var sc in runnable)
        {
            opt.Progress?.Invoke("scenarios", results.Count, runnable.Count, $"{Path.GetFileName(sc.File)}: booting the guest");
            var c = RunOne(sc, kernel, profile, initrd, opt.RecordDir, opt.Progress);
            results.Add(c);
            opt.Progress?.Invoke("scenarios", results.Count, runnable.Count, $"{results.Count}/{runnable.Count} scenarios, {results.Count(r => !r.Equal)} differ");
            Print(c, stdout);
            if (!c.Equal && !opt.KeepGoing) break;
        }
        int filesCompared = results.Sum(r => r.FilesCompared), filesEqual = results.Sum(r => r.FilesEqual);
        int resCompared = results.Sum(r => r.Reservations.Count), resEqual = results.Sum(r => r.Reservations.Count(g => g.Equal));
        int equal = results.Count(r => r.Equal);
        int treeCompared = results.Sum(r => r.WholeTree?.Count ?? 0), treeEqual = results.Sum(r => r.WholeTree?.Count(f => f.Equal) ?? 0);
        stdout.WriteLine();
        stdout.WriteLine($"agreement: files {filesEqual}/{filesCompared} equal ({Pct(filesEqual, filesCompared)}), whole trees {treeEqual}/{treeCompared} files equal ({Pct(treeEqual, treeCompared)}), boot reservations {resEqual}/{resCompared} equal ({Pct(resEqual, resCompared)}), scenarios {equal}/{results.Count} equal ({Pct(equal, results.Count)}); {refused.Count} refused; {total.Elapsed.TotalSeconds:0.0} s");
        // refused scenarios (only run at all under --keep-going) are neither passed nor failed: they were not run
        stdout.WriteLine($"{equal} passed, {results.Count - equal} failed");
        opt.Finished?.Invoke(new OracleSummary(kernel.Spec, profile.Name, results, refused, total.Elapsed));
        return results.Any(r => !r.Equal) ? 1 : results.Count == 0 ? 2 : 0;
    }

    internal static string Pct(int a, int b) => b == 0 ? "-" : $"{100.0 * a / b:0.#}%";

    /// <summary>One scenario, with the whole tree read at its end and compared as the fuzz compares it.</summary>
    private static ScenarioComparison RunOne(Scenario sc, OracleKernel kernel, KernelProfile profile, string initrd, string? recordDir,
        Action<string, int, int, string>? progress)
    {
        var (c, model, kr) = RunCase(sc, kernel, profile, initrd, recordDir, dump: true, progress);
        if (model is null || kr.Dump is null) return c;
        return c with { WholeTree = Fuzz.TreeCompare.Compare(Fuzz.TreeCompare.ModelDump(model.Machine.Fs), kr.Dump) };
    }

    /// <summary>One scenario on the model and on the kernel, step by step; with <paramref name="dump"/>, the kernel's whole
    /// tree and dmesg are read at the end (<c>oracle fuzz</c> compares them). Model is null when the model itself failed.</summary>
    internal static (ScenarioComparison Comparison, ScenarioResult? Model, KernelScenarioRun Kernel) RunCase(Scenario sc, OracleKernel kernel,
        KernelProfile profile, string initrd, string? recordDir, bool dump, Action<string, int, int, string>? progress = null)
    {
        ScenarioResult model;
        // the model boots what the guest boots: the same initrd (its size places the early allocations), which grows
        // with the programs the steps run in the guest
        var programs = GuestPrograms.For(sc);
        if (!programs.IsEmpty) initrd = Toolchain.Initramfs(null, programs);
        ulong initrdBytes = (ulong)new FileInfo(initrd).Length;
        try { model = ScenarioRunner.Run(sc, profile, spec => spec with { InitrdBytes = initrdBytes }); }
        catch (Exception e) when (e is not ScenarioFormatException)
        {
            // the model itself failed: nothing to compare; counted as a difference, the kernel is not booted
            return (new ScenarioComparison(sc.File, sc.Name, [new StepDifference(sc.File, 1, "boot and run on the model",
                $"internal error: {e.GetType().Name}: {e.Message}", "(not run)")], 0, 0, 0, 0, TimeSpan.Zero, TimeSpan.Zero, null), null,
                new KernelScenarioRun([], TimeSpan.Zero, TimeSpan.Zero, "not run", new Dictionary<string, string>(), null, null));
        }
        KernelScenarioRun kr;
        string? bootRetried = null;
        try
        {
            var modules = GuestModules.For(kernel, sc);
            var (machineArgs, append) = MachineArgs(sc.MachineQemu!);
            using var g = QemuGuest.BootRetrying(kernel, modules.IsEmpty ? initrd : Toolchain.Initramfs(modules, programs.IsEmpty ? null : programs),
                machineArgs, append, out bootRetried);
            kr = KernelRun.Run(sc, profile, g, dump, modules,
                (done, total) => progress?.Invoke("steps", done, total, $"{Path.GetFileName(sc.File)}: step {done}/{total}"));
        }
        catch (GuestException e)
        {
            kr = new KernelScenarioRun([], TimeSpan.Zero, TimeSpan.Zero, e.Message, new Dictionary<string, string>(), null, null);
        }
        var diffs = new List<StepDifference>();
        int compared = 0, filesCompared = 0, filesEqual = 0, skipped = 0;
        for (int i = 0; i < sc.Steps.Count && i < kr.Steps.Count; i++)
        {
            var step = sc.Steps[i];
            var k = kr.Steps[i];
            if (k.Status == StepStatus.Skipped) { skipped++; continue; }
            var m = ModelObservation(step, model.Steps[i]);
            compared++;
            bool isFile = step.Kind == "expect" && step.Args.ContainsKey("path");
            bool same = m.Observation == k.Observation;
            if (isFile) { filesCompared++; if (same) filesEqual++; }
            if (!same) diffs.Add(new StepDifference(sc.File, step.Line, ScenarioRunner.Describe(step), m.Text, k.Text));
            // Agreement on a failed expectation is no agreement with the scenario: its expectation is wrong.
            else if (k.Status == StepStatus.Failed)
                diffs.Add(new StepDifference(sc.File, step.Line, ScenarioRunner.Describe(step),
                    "expectation fails on the model too: " + m.Text, "expectation fails on the kernel: " + k.Text));
        }
        if (recordDir is not null) Record(sc, profile, kr, recordDir);
        return (new ScenarioComparison(sc.File, sc.Name, diffs, compared, filesCompared, filesEqual, skipped, kr.Boot, kr.Total, kr.GuestError)
        { Reservations = ReservationCompare.Compare(model.Machine.Kernel, kr.BootLog), BootRetried = bootRetried }, model, kr);
    }

    [GeneratedRegex(@"got (E[A-Z0-9]+|success)")]
    private static partial Regex GotErrno();

    /// <summary>What the model showed, in the kernel side's terms, from the runner's verdict and message.</summary>
    internal static StepObservation ModelObservation(ScenarioStep step, StepResult r)
    {
        var st = r.Passed ? StepStatus.Passed : StepStatus.Failed;
        var a = step.Args;
        switch (step.Kind)
        {
            case "write":
            {
                if (r.Passed) { var o = a.GetValueOrDefault("errno") ?? "ok"; return new(st, o, o); }
                var got = GotErrno().Match(r.Message) is { Success: true } mm ? (mm.Groups[1].Value == "success" ? "ok" : mm.Groups[1].Value) : "fails";
                return new(st, got, r.Message);
            }
            case "expect" when a.TryGetValue("path", out var path):
            {
                if (a.TryGetValue("exists", out var ex))
                {
                    bool exists = (ex == "true") == r.Passed;
                    var o = exists ? "exists" : "absent";
                    return new(st, o, o);
                }
                if (r.Message.Contains(": cannot read (", StringComparison.Ordinal))
                {
                    var errno = Regex.Match(r.Message, @"cannot read \((E[A-Z0-9]+)") is { Success: true } e ? e.Groups[1].Value : "EUNKNOWN";
                    return new(st, "cannot read: " + errno, r.Message);
                }
                if (a.TryGetValue("equals", out var eq) || a.TryGetValue("delta", out eq))
                {
                    if (r.Passed) return new(st, eq, eq);
                    int at = r.Message.IndexOf("\n    actual:   ", StringComparison.Ordinal);
                    var actual = at >= 0 ? r.Message[(at + 15)..] : r.Message;
                    return new(st, actual, actual);
                }
                return new(st, r.Passed ? "holds" : "fails", r.Passed ? "holds" : r.Message);
            }
            case "numactl" or "dd" or "fallocate" or "task":
            {
                var want = a.GetValueOrDefault("outcome") ?? (!a.ContainsKey("of") ? "ok" : $"{a.GetValueOrDefault("count")} pages");
                if (r.Passed) return new(st, want, want);
                int at = r.Message.LastIndexOf(", got ", StringComparison.Ordinal);
                var got = at >= 0 ? r.Message[(at + 6)..] : r.Message;
                return new(st, got, r.Message);
            }
            case "snapshot" or "rm":
                return new(st, r.Passed ? "done" : "fails", r.Message);
            default:
                return new(st, r.Passed ? "holds" : "fails", r.Message);
        }
    }

    /// <summary>The machine's QEMU options as words (quotes resolved, as a shell would) without its -append, and
    /// that -append's text (the last one, as QEMU takes it), for the guest's command line.</summary>
    internal static (IReadOnlyList<string> Args, string? Append) MachineArgs(string machineQemu)
    {
        var words = Firmware.QemuOpts.Tokenize(machineQemu, out var err) ?? throw new OracleSetupException("machine: " + err);
        var args = new List<string>();
        string? append = null;
        for (int i = 0; i < words.Count; i++)
        {
            if (words[i] is "-append" or "--append" && i + 1 < words.Count) append = words[++i];
            else args.Add(words[i]);
        }
        return (args, append);
    }

    private static string Show(string s) => s.Replace("\n", "\\n");

    internal static void Print(ScenarioComparison c, TextWriter o)
    {
        o.WriteLine($"== {c.File}: {c.Name}");
        o.WriteLine($"   boot {c.Boot.TotalSeconds:0.0} s, scenario {c.Total.TotalSeconds:0.0} s; {c.StepsCompared} steps compared, {c.Skipped} skipped on the kernel, "
                    + $"{c.FilesEqual}/{c.FilesCompared} files equal; {(c.Equal ? "EQUAL" : $"{c.Differences.Count} difference(s)")}");
        if (c.GuestError is not null) o.WriteLine($"   guest failure: {c.GuestError}");
        if (c.BootRetried is not null) o.WriteLine($"   booted twice: the first QEMU died before the shell ({c.BootRetried})");
        if (c.Reservations.Count > 0)
            o.WriteLine($"   boot reservations (caller, node; memblock=debug): {c.Reservations.Count(r => r.Equal)}/{c.Reservations.Count} equal");
        if (c.WholeTree is { } tree)
        {
            var differ = tree.Where(f => !f.Equal).ToList();
            o.WriteLine($"   whole tree at the end: {tree.Count - differ.Count}/{tree.Count} files equal");
            if (differ.Count > 0 && Fuzz.TreeCompare.FirstDifference(differ[0]) is { } d)
                o.WriteLine($"   first differing file {differ[0].Path} line {d.Line}: model '{Show(d.Model ?? "(none)")}', kernel '{Show(d.Kernel ?? "(none)")}'; {differ.Count} file(s) differ");
        }
        foreach (var r in c.Reservations.Where(r => !r.Equal))
            o.WriteLine($"   reservation {r.Caller} node {r.Node}: model {r.ModelBytes} bytes in {r.ModelPieces}, kernel {r.KernelBytes} bytes in {r.KernelPieces}");
        foreach (var d in c.Differences)
        {
            o.WriteLine($"   {d.File}:{d.Line}  {Show(d.Step)}");
            o.WriteLine($"       model:  {Show(d.Model)}");
            o.WriteLine($"       kernel: {Show(d.Kernel)}");
        }
    }

    /// <summary>--record DIR: DIR/NAME/steps.txt (what the kernel showed at each step), files/ (every expectation's
    /// file), dmesg.txt, dump.txt (normalized /sys/devices/system/{node,cpu,memory} and /proc/{buddyinfo,meminfo}).</summary>
    private static void Record(Scenario sc, KernelProfile profile, KernelScenarioRun kr, string dir)
    {
        var root = Path.Combine(dir, Path.GetFileNameWithoutExtension(sc.File));
        Directory.CreateDirectory(root);
        using (var w = new StreamWriter(Path.Combine(root, "steps.txt")) { NewLine = "\n" })
        {
            w.WriteLine($"# {sc.Name} ({sc.File}), profile {profile.Name}; boot {kr.Boot.TotalSeconds:0.0} s, run {kr.Total.TotalSeconds:0.0} s");
            if (kr.GuestError is not null) w.WriteLine("# guest failure: " + kr.GuestError);
            for (int i = 0; i < kr.Steps.Count; i++)
                w.WriteLine($"{sc.Steps[i].Line}: {ScenarioRunner.Describe(sc.Steps[i])}\n    {kr.Steps[i].Status}: {Show(kr.Steps[i].Text)}");
        }
        foreach (var (path, text) in kr.Files)
        {
            var target = Path.Combine(root, "files", path.TrimStart('/'));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllText(target, text + "\n");
        }
        if (kr.Dmesg is not null) File.WriteAllText(Path.Combine(root, "dmesg.txt"), kr.Dmesg);
        if (kr.Dump is not null) File.WriteAllText(Path.Combine(root, "dump.txt"), kr.Dump);
    }
}
