using System.CommandLine;
using System.Diagnostics;
using Numasim.Checker;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Report;
using Numasim.Scenarios;

namespace Numasim.Cli.Commands;

/// <summary>
/// <c>numasim check (--machine FILE | --qemu "ARGS") [--profile P] [--depth N] [--ops LIST] [--jobs N] [--out FILE]
/// [--max-states N] [--symmetry] [--por] [--fingerprint observed|exact] [--bitstate BITS] [--render-sample N] [--progress] [--explain] [--report FILE]
/// [--cluster N | --cluster-gateways PORTS | --cluster-redis CONN] [--partitions N] [--resume N]</c>,
/// or <c>numasim check --zoo [--depth N] [--jobs N] [--out DIR]</c> (the bug zoo, <see cref="ZooCheck"/>): breadth-first exploration of hotplug
/// operation sequences; a violated invariant is printed with the shortest sequence and written as a scenario (with
/// --explain, each of its steps explained). Exit 0 none, 1 violation.
/// </summary>
public static class CheckCommand
{
    public static Command Create()
    {
        var machine = new MachineOptions();
        var depth = new Option<int>("--depth") { Description = "longest operation sequence explored (default 6)", HelpName = "N", DefaultValueFactory = _ => 6 };
        var ops = new Option<string?>("--ops")
        {
            Description = $"operations explored, comma-separated: {string.Join(", ", OpFamilies.All)}; aliases cpu, dimm, mem, pages, all (default all)",
            HelpName = "LIST",
        };
        var jobs = new Option<int>("--jobs") { Description = "worker threads (default 1)", HelpName = "N", DefaultValueFactory = _ => 1 };
        var output = new Option<string?>("--out") { Description = "where to write the counterexample scenario (default check-counterexample.yaml)", HelpName = "FILE" };
        var maxStates = new Option<long>("--max-states") { Description = "stop after this many distinct states (default 20000000)", HelpName = "N", DefaultValueFactory = _ => 20_000_000 };
        var symmetry = new Option<bool>("--symmetry") { Description = "merge states equal up to DIMM slot, block number and CPU number" };
        var progress = new Option<bool>("--progress") { Description = "print progress on stderr even when it is not a terminal" };
        var por = new Option<bool>("--por") { Description = "partial-order reduction: skip an operation after an independent later one (same states, fewer transitions)" };
        var fingerprint = new Option<string>("--fingerprint") { Description = "what a state's fingerprint covers: observed (default) or exact (the whole state)", HelpName = "MODE", DefaultValueFactory = _ => "observed" };
        var bitstate = new Option<int>("--bitstate") { Description = "bitstate hashing with 2^BITS bits (10..40) instead of a fingerprint set", HelpName = "BITS" };
        var render = new Option<int>("--render-sample") { Description = "one state in N also has /sys and /proc compared with a replay from boot (0: only the counterexample; default 4096)", HelpName = "N", DefaultValueFactory = _ => 4096 };
        var explain = new Option<bool>("--explain") { Description = "explain each step of the counterexample: kernel call path, decisions, errnos, changed files" };
        var report = RunCommand.ReportOption();
        var cluster = new ClusterCheck();
        var zoo = new Option<bool>("--zoo") { Description = "run the bug zoo: each historical bug's profile must be found, its fix clean to the same depth (docs/checker.md)" };
        var command = new Command("check", "explore hotplug operation sequences and check the invariants");
        machine.AddTo(command);
        command.Options.Add(depth);
        command.Options.Add(ops);
        command.Options.Add(jobs);
        command.Options.Add(output);
        command.Options.Add(maxStates);
        command.Options.Add(symmetry);
        command.Options.Add(progress);
        command.Options.Add(por);
        command.Options.Add(fingerprint);
        command.Options.Add(bitstate);
        command.Options.Add(render);
        command.Options.Add(explain);
        command.Options.Add(report);
        command.Options.Add(zoo);
        cluster.AddTo(command);
        command.SetAction(parsed =>
        {
            var stdout = parsed.InvocationConfiguration.Output;
            var stderr = parsed.InvocationConfiguration.Error;
            if (parsed.GetValue(zoo))
                return ZooCheck.Run(stdout, parsed.GetResult(depth) is null ? Zoo.MaxDepth : parsed.GetValue(depth), parsed.GetValue(jobs), parsed.GetValue(output));
            var profile = MachineOptions.ResolveProfile(parsed.GetValue(machine.Profile));
            var spec = machine.ResolveSpec(parsed, "check", stderr);
            int d = parsed.GetValue(depth), j = parsed.GetValue(jobs);
            long max = parsed.GetValue(maxStates);
            if (d < 0) throw new CliException("check: --depth must be 0 or more");
            if (j < 1) throw new CliException("check: --jobs must be 1 or more");
            if (max < 1) throw new CliException("check: --max-states must be 1 or more");
            var fpMode = parsed.GetValue(fingerprint) switch
            {
                "observed" => FingerprintMode.Observed,
                "exact" => FingerprintMode.Exact,
                var other => throw new CliException($"check: --fingerprint: '{other}' is not observed or exact"),
            };
            int bits = parsed.GetValue(bitstate);
            if (bits != 0 && bits is < 10 or > 40) throw new CliException("check: --bitstate takes 10 to 40 (log2 of the bits)");
            if (parsed.GetValue(render) < 0) throw new CliException("check: --render-sample must be 0 or more");
            var families = OpFamilies.Parse(parsed.GetValue(ops), out var opsError) ?? throw new CliException("check: --ops: " + opsError);
            if (cluster.Requested(parsed)) cluster.Validate(parsed, bits);
            var reportFile = parsed.GetValue(report);
            if (reportFile is not null) ReportFile.Check(reportFile);
            var result = CliProgress.Run(stderr, bar =>
            {
                var errLock = new object();
                bool lines = parsed.GetValue(progress) && !Terminal.IsTerminal(stderr);
                var options = new CheckOptions
                {
                    Spec = spec, Profile = profile, Depth = d, Families = families, Jobs = j, MaxStates = max,
                    Symmetry = parsed.GetValue(symmetry), PartialOrder = parsed.GetValue(por), Fingerprint = fpMode,
                    BitstateLog2 = bits, RenderSample = parsed.GetValue(render),
                    Progress = p =>
                    {
                        var text = $"{p.States} states, {p.StatesPerSecond:F0} states/s, {p.Transitions} transitions, depth {p.Depth + 1}/{d}, queue {p.Queue}, {p.Elapsed.TotalSeconds:F1} s";
                        bar("check", p.Depth, d, "check: " + text);
                        if (lines) lock (errLock) stderr.WriteLine("numasim: check: " + text);
                    },
                };
                var r = cluster.Requested(parsed) ? cluster.Run(parsed, options, parsed.GetValue(machine.Qemu), stderr) : new ModelChecker(options).Run();
                bar("check", r.DepthReached, d, $"check: {r.States} states, depth {r.DepthReached}/{d}{(r.Violation is null ? "" : ", violation")}");
                lock (errLock) { }
                return r;
            });
            long peak = Process.GetCurrentProcess().PeakWorkingSet64;
            var opsText = parsed.GetValue(ops) ?? "all";
            Statistics(stdout, result, peak, j);
            ScenarioReportData? counterexample = null;
            if (result.Violation is { } v && (parsed.GetValue(explain) || reportFile is not null))
                counterexample = ReportRun.Replay(CounterexampleScenario(v, profile, parsed.GetValue(machine.Qemu), parsed.GetValue(machine.Machine)), spec, profile);
            if (reportFile is not null)
            {
                var html = new HtmlReport($"numasim check ({profile.Name}, depth {d})");
                html.Add(new CheckReportData(profile.Name, d, opsText, j, result, TopologyView.Of(Numasim.Machine.Boot(spec, profile)), counterexample));
                ReportFile.Write(reportFile, html);
            }
            int exit = Verdict(parsed, result, profile, d, machine, stdout, counterexample, parsed.GetValue(explain));
            if (reportFile is not null) stdout.WriteLine($"report: {reportFile}");
            return exit;
        });
        return command;
    }

    /// <summary>The figures of the search: one summary line (plain), or a table on a terminal.</summary>
    private static void Statistics(TextWriter stdout, CheckResult result, long peak, int jobs)
    {
        if (!Terminal.IsTerminal(stdout)) return;
        Terminal.Table(stdout, "check statistics", ["figure", "value"], [
            ["distinct states", $"{result.States:N0}"],
            ["transitions", $"{result.Transitions:N0}"],
            ["depth reached", $"{result.DepthReached}{(result.Exhausted ? " (state space exhausted)" : "")}{(result.Bounded ? " (stopped at --max-states)" : "")}"],
            ["states per depth", string.Join(" ", result.StatesPerDepth)],
            ["time", $"{result.Elapsed.TotalSeconds:F2} s"],
            ["states/s, transitions/s", $"{result.StatesPerSecond:F0}, {result.TransitionsPerSecond:F0}"],
            ["restores, skipped by --por, rendered", $"{result.Restores}, {result.Skipped}, {result.Rendered}"],
            ["boots", $"{result.Boots}"],
            ["bytes: a state, visited set and tree per state", $"{result.StateBytes}, {result.BytesPerState:F1}"],
            ["visited set, collision probability", $"{result.VisitedMode}, {result.CollisionProbability:G2}"],
            ["peak memory", $"{peak >> 20} MiB"],
            ["jobs", jobs.ToString()],
        ]);
    }

    private static int Verdict(System.CommandLine.ParseResult parsed, CheckResult result, KernelProfile profile, int d, MachineOptions machine,
        TextWriter stdout, ScenarioReportData? counterexample, bool explain)
    {
        long peak = Process.GetCurrentProcess().PeakWorkingSet64;
        int j = parsed.GetValue<int>("--jobs");
        var summary = $"{result.States} distinct states, {result.Transitions} transitions, depth {result.DepthReached}" +
                      $"{(result.Exhausted ? " (state space exhausted)" : "")}{(result.Bounded ? " (stopped at --max-states)" : "")}, " +
                      $"{result.Elapsed.TotalSeconds:F2} s, {result.StatesPerSecond:F0} states/s, {result.TransitionsPerSecond:F0} transitions/s, " +
                      $"{result.Restores} restores, {result.Skipped} skipped by --por, {result.Rendered} rendered, {result.Boots} boots, peak memory {peak >> 20} MiB, jobs {j}\n" +
                      $"  state {result.StateBytes} bytes; visited set and tree {result.BytesPerState:F1} bytes a state; {result.VisitedMode}, " +
                      $"collision probability {result.CollisionProbability:G2}";
        if (result.Violation is not { } v)
        {
            stdout.WriteLine($"check ({profile.Name}): no violation up to depth {result.DepthReached}");
            stdout.WriteLine("  " + summary);
            stdout.WriteLine("  states per depth: " + string.Join(" ", result.StatesPerDepth));
            return CliApp.ExitOk;
        }
        stdout.WriteLine($"check ({profile.Name}): VIOLATION of {v.Invariant.Name} ({v.Invariant.Description}) after {v.Path.Count} operations");
        foreach (var line in v.Message.Split('\n').Take(6)) stdout.WriteLine("  " + line.TrimEnd());
        stdout.WriteLine("shortest sequence:");
        for (int i = 0; i < v.Path.Count; i++) stdout.WriteLine($"  {i + 1}. {v.Path[i]}");
        if (!v.Reproduced) stdout.WriteLine("  (warning: a fresh replay of this sequence did not break the invariant again)");
        if (explain && counterexample is not null)
        {
            stdout.WriteLine("the counterexample, step by step:");
            ScenarioReport.WriteText(counterexample.Result, stdout, explain: true);
        }
        var file = parsed.GetValue<string?>("--out") ?? "check-counterexample.yaml";
        var machineFile = parsed.GetValue(machine.Machine);
        var yaml = ScenarioWriter.Write(v, profile.Name, parsed.GetValue(machine.Qemu), machineFile is null ? null : Path.GetFullPath(machineFile), d);
        try { File.WriteAllText(file, yaml); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CliException($"{file}: {e.Message}"); }
        stdout.WriteLine($"wrote {file} (numasim run {file})");
        stdout.WriteLine("  " + summary);
        return CliApp.ExitFailed;
    }

    /// <summary>The violation's steps and expectations as a scenario (what --out writes), to replay with explanations.</summary>
    private static Scenario CounterexampleScenario(Violation v, KernelProfile profile, string? qemu, string? machineFile) =>
        new("(counterexample)", $"{v.Invariant.Name} violated after {v.Path.Count} operations", qemu, machineFile, profile.Name,
            [.. v.Steps, .. v.Expectations]);
}
