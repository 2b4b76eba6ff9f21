using System.CommandLine;
using System.Diagnostics;
using Numasim.Checker;

namespace Numasim.Cli.Commands;

/// <summary>
/// <c>numasim check (--machine FILE | --qemu "ARGS") [--profile P] [--depth N] [--ops LIST] [--jobs N] [--out FILE]
/// [--max-states N] [--symmetry] [--progress]</c>: breadth-first exploration of hotplug operation sequences; a
/// violated invariant is printed with the shortest sequence and written as a scenario. Exit 0 none, 1 violation.
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
        command.SetAction(parsed =>
        {
            var stdout = parsed.InvocationConfiguration.Output;
            var stderr = parsed.InvocationConfiguration.Error;
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
            bool showProgress = parsed.GetValue(progress) || (ReferenceEquals(stderr, Console.Error) && !Console.IsErrorRedirected);
            var errLock = new object();
            var options = new CheckOptions
            {
                Spec = spec, Profile = profile, Depth = d, Families = families, Jobs = j, MaxStates = max,
                Symmetry = parsed.GetValue(symmetry), PartialOrder = parsed.GetValue(por), Fingerprint = fpMode,
                BitstateLog2 = bits, RenderSample = parsed.GetValue(render),
                Progress = showProgress ? p =>
                {
                    lock (errLock)
                        stderr.WriteLine($"numasim: check: {p.States} states, {p.StatesPerSecond:F0} states/s, {p.Transitions} transitions, depth {p.Depth + 1}/{d}, queue {p.Queue}, {p.Elapsed.TotalSeconds:F1} s");
                } : null,
            };
            var result = new ModelChecker(options).Run();
            lock (errLock) { }
            long peak = Process.GetCurrentProcess().PeakWorkingSet64;
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
            var file = parsed.GetValue(output) ?? "check-counterexample.yaml";
            var machineFile = parsed.GetValue(machine.Machine);
            var yaml = ScenarioWriter.Write(v, profile.Name, parsed.GetValue(machine.Qemu), machineFile is null ? null : Path.GetFullPath(machineFile), d);
            try { File.WriteAllText(file, yaml); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new CliException($"{file}: {e.Message}"); }
            stdout.WriteLine($"wrote {file} (numasim run {file})");
            stdout.WriteLine("  " + summary);
            return CliApp.ExitFailed;
        });
        return command;
    }
}
