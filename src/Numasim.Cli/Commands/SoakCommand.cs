using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Soak;

namespace Numasim.Cli.Commands;

/// <summary>
/// <c>numasim soak [--steps N] [--walk N] [--seed S] [--out DIR]</c>: random walks of N steps in all over every
/// machine shape and profile (walks of --walk steps each, seeds S, S+1, ...), every invariant checked after every
/// step. Prints the steps, checks, oopses and time; a failure is shrunk and written as a scenario under DIR.
/// </summary>
public static class SoakCommand
{
    public static Command Create()
    {
        var steps = new Option<long>("--steps") { Description = "steps in all", DefaultValueFactory = _ => 100_000 };
        var walk = new Option<int>("--walk") { Description = "steps of one walk (one boot)", DefaultValueFactory = _ => 2_000 };
        var seed = new Option<ulong>("--seed") { Description = "seed of the first walk", DefaultValueFactory = _ => 1 };
        var jobs = new Option<int>("--jobs") { Description = "walks run at once", DefaultValueFactory = _ => 1 };
        var outDir = new Option<string?>("--out") { Description = "where a failing walk's shrunk scenario is written", HelpName = "DIR" };
        var command = new Command("soak", "random walks over every operation with every invariant checked after each step");
        command.Options.Add(steps);
        command.Options.Add(walk);
        command.Options.Add(seed);
        command.Options.Add(jobs);
        command.Options.Add(outDir);
        command.SetAction(p => Execute(p.GetValue(steps), p.GetValue(walk), p.GetValue(seed), p.GetValue(jobs), p.GetValue(outDir),
            p.InvocationConfiguration.Output));
        return command;
    }

    public static int Execute(long totalSteps, int walkSteps, ulong seed, int jobs, string? outDir, TextWriter stdout)
    {
        if (totalSteps < 1 || walkSteps < 1 || jobs < 1) throw new CliException("soak: --steps, --walk and --jobs must be positive");
        var configs = (from s in SoakShapes.All from p in KernelProfile.All select (Shape: s, Profile: p)).ToList();
        long walks = (totalSteps + walkSteps - 1) / walkSteps;
        var sw = Stopwatch.StartNew();
        var results = new (SoakWalkResult R, StepDraw[] Draws)[walks];
        Parallel.For(0L, walks, new ParallelOptions { MaxDegreeOfParallelism = jobs }, w =>
        {
            var (shape, profile) = configs[(int)(w % configs.Count)];
            var draws = SoakWalk.Draws(seed + (ulong)w, (int)Math.Min(walkSteps, totalSteps - w * walkSteps));
            results[w] = (SoakWalk.Run(QemuCommandLine.Parse(shape.Qemu).Spec!, profile, draws, record: false), draws);
        });
        var elapsed = sw.Elapsed;
        long done = results.Sum(r => r.R.Steps), checks = results.Sum(r => r.R.Checks);
        int oopses = results.Sum(r => r.R.Oopses);
        var failures = Enumerable.Range(0, (int)walks).Where(w => results[w].R.Failure is not null).ToList();
        var inv = CultureInfo.InvariantCulture;
        stdout.WriteLine(string.Create(inv, $"soak: {done:N0} steps in {walks:N0} walks ({SoakShapes.All.Count} shapes x {KernelProfile.All.Count} profiles), {checks:N0} invariant checks, {oopses} modelled oopses, {failures.Count} failures; {elapsed.TotalSeconds:0.0} s, {done / Math.Max(elapsed.TotalSeconds, 1e-9):N0} steps/s"));
        foreach (var w in failures.Take(3))
        {
            var (shape, profile) = configs[(int)(w % configs.Count)];
            var spec = QemuCommandLine.Parse(shape.Qemu).Spec!;
            var (small, r) = SoakWalk.Shrink(spec, profile, results[w].Draws, results[w].R.Failure!);
            var f = r.Failure ?? results[w].R.Failure!;
            stdout.WriteLine($"  walk {w} (seed {seed + (ulong)w}, {shape.Name}, {profile.Name}): step {results[w].R.Failure!.Step}: {CliApp.OneLine(f.What)}; shrunk to {small.Length} draws, {f.Steps.Count} steps");
            if (outDir is not null)
            {
                Directory.CreateDirectory(outDir);
                var file = Path.Combine(outDir, $"soak-{seed + (ulong)w}-{shape.Name}-{profile.Name}.yaml");
                File.WriteAllText(file, SoakWalk.ScenarioOf(f, profile, shape.Qemu));
                stdout.WriteLine("    written: " + file);
            }
        }
        stdout.WriteLine($"{(failures.Count == 0 ? 1 : 0)} passed, {(failures.Count == 0 ? 0 : 1)} failed");
        return failures.Count == 0 ? CliApp.ExitOk : CliApp.ExitFailed;
    }
}
