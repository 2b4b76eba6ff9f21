using Numasim.Checker;
using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Profiles;
using Numasim.Scenarios;

namespace Numasim.Soak;

/// <summary>What went wrong in a walk: the step it happened at, why, and the scenario steps that led there.</summary>
public sealed record SoakFailure(int Step, string What, IReadOnlyList<ScenarioStep> Steps);

/// <summary>A walk's outcome: steps taken, invariant checks made, modelled oopses met (each ends a machine and a
/// fresh one is booted), and the first failure, if any.</summary>
public sealed record SoakWalkResult(long Steps, long Checks, int Oopses, SoakFailure? Failure);

/// <summary>
/// A random walk over every operation the model takes: the checker's (CPU and DIMM hotplug, onlining, kvm_intel,
/// allocations and frees) and <see cref="HostileOps"/> (sysfs writes of any value, bad QMP commands, notifier error
/// injection). After every step every invariant is checked, and a write refused with EINVAL must leave the state
/// as it was (the checker's fingerprint). A .NET exception out of the model is a failure too. Deterministic: the
/// walk is its list of <see cref="StepDraw"/>s, drawn from the seed, so a failing walk replays and shrinks.
/// </summary>
public static class SoakWalk
{
    private static readonly IReadOnlySet<string> AllFamilies = new HashSet<string>(OpFamilies.All);

    /// <summary>The draws of a walk of <paramref name="steps"/> steps from <paramref name="seed"/>.</summary>
    public static StepDraw[] Draws(ulong seed, int steps)
    {
        var r = new SoakRandom(seed);
        var d = new StepDraw[steps];
        for (int i = 0; i < steps; i++) d[i] = StepDraw.From(ref r);
        return d;
    }

    /// <summary>Runs the draws; with <paramref name="record"/> the scenario steps are kept (for a failure's scenario).</summary>
    public static SoakWalkResult Run(MachineSpec spec, KernelProfile profile, ReadOnlySpan<StepDraw> draws, bool record,
        IReadOnlyList<IInvariant>? invariantsToCheck = null)
    {
        var invariants = invariantsToCheck ?? Invariants.All;
        var driver = new CheckDriver(spec, profile, AllFamilies, record);
        var steps = record ? new List<ScenarioStep>() : null;
        var ops = new List<CheckOp>();
        long checks = 0;
        int oopses = 0;
        for (int i = 0; i < draws.Length; i++)
        {
            var d = draws[i];
            int recorded = driver.Steps.Count;
            try
            {
                if (d.Kind % 10 < 7)
                {
                    driver.EnabledOps(ops);
                    if (ops.Count > 0) driver.Apply(ops[(int)(d.Pick % (ulong)ops.Count)]);
                    steps?.AddRange(driver.Steps.Skip(recorded));
                }
                else
                {
                    ulong before = StateHasher.Hash(driver, symmetry: false);
                    var (step, err) = HostileOps.Run(driver, d);
                    steps?.Add(step);
                    if (err == Errno.EINVAL && StateHasher.Hash(driver, symmetry: false) != before)
                        return new(i + 1, checks, oopses, new(i, $"{ScenarioRunner.Describe(step)} was refused with EINVAL but changed the state", steps ?? []));
                }
            }
            catch (Exception e)
            {
                return new(i + 1, checks, oopses, new(i, $"{e.GetType().Name}: {e.Message}", steps ?? []));
            }
            if (driver.Machine.Oops is not null)
            {
                // A modelled oops is the kernel's (the seed's kvm_intel oops on v4.19): the walk goes on on a new machine.
                oopses++;
                driver = new CheckDriver(spec, profile, AllFamilies, record);
                steps?.Clear();
                continue;
            }
            foreach (var inv in invariants)
            {
                checks++;
                string? bad;
                try { bad = inv.Check(driver); }
                catch (Exception e) { bad = $"the invariant threw {e.GetType().Name}: {e.Message}"; }
                if (bad is not null) return new(i + 1, checks, oopses, new(i, $"{inv.Name}: {bad}", steps ?? []));
            }
        }
        return new(draws.Length, checks, oopses, null);
    }

    /// <summary>Shrinks a failing walk (delta debugging over its draws): the shortest sub-list found that still fails
    /// the same way (the same invariant or exception type), replayed with its scenario steps.</summary>
    public static (StepDraw[] Draws, SoakWalkResult Result) Shrink(MachineSpec spec, KernelProfile profile, StepDraw[] draws, SoakFailure failure,
        IReadOnlyList<IInvariant>? invariantsToCheck = null)
    {
        string Kind(SoakFailure f) => f.What.Split(':')[0];
        var want = Kind(failure);
        var cur = draws[..(failure.Step + 1)];
        int chunk = Math.Max(1, cur.Length / 2);
        while (chunk >= 1)
        {
            bool removed = false;
            for (int at = 0; at + chunk <= cur.Length; )
            {
                var candidate = cur[..at].Concat(cur[(at + chunk)..]).ToArray();
                var r = Run(spec, profile, candidate, record: false, invariantsToCheck);
                if (r.Failure is { } f && Kind(f) == want)
                {
                    cur = candidate[..(f.Step + 1)];
                    removed = true;
                }
                else at += chunk;
            }
            if (!removed) chunk /= 2;
        }
        return (cur, Run(spec, profile, cur, record: true, invariantsToCheck));
    }

    /// <summary>The failure as a scenario `numasim run` replays (the checker's writer's format).</summary>
    public static string ScenarioOf(SoakFailure f, KernelProfile profile, string machineQemu)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append("# Found by the soak (issue 19), shrunk: ").Append(f.What.ReplaceLineEndings(" ")).Append('\n');
        sb.Append("name: ").Append(ScenarioWriter.Q("soak failure after " + f.Steps.Count + " steps")).Append('\n');
        sb.Append("machine: {qemu: ").Append(ScenarioWriter.Q(machineQemu)).Append("}\n");
        sb.Append("profile: ").Append(ScenarioWriter.Q(profile.Name)).Append('\n');
        sb.Append("steps:\n");
        foreach (var s in f.Steps)
            sb.Append("  - ").Append(s.Kind).Append(": {").Append(string.Join(", ", s.Args.Select(kv => $"{kv.Key}: {ScenarioWriter.Q(kv.Value)}"))).Append("}\n");
        return sb.ToString();
    }
}
