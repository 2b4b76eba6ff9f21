using Numasim.Checker;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Scenarios;

namespace Numasim.Report;

/// <summary>A step of a reported run: its result (with its explanation) and the machine after it (null for a step
/// that only read, or was skipped).</summary>
public sealed record StepFrame(int Index, StepResult Result, TopologyView? After);

/// <summary>A run as a report shows it: the results, the machine after boot, each step with its picture.</summary>
public sealed record ScenarioReportData(ScenarioResult Result, TopologyView Boot, IReadOnlyList<StepFrame> Steps);

/// <summary>A model-checker search as a report shows it: the search's figures and, when it found one, the violation
/// with its counterexample replayed step by step.</summary>
public sealed record CheckReportData(string Profile, int Depth, string Ops, int Jobs, CheckResult Result,
    TopologyView Boot, ScenarioReportData? Counterexample);

/// <summary>Runs scenarios with everything a report needs: explanations on, a picture after boot and after each step
/// that can change the machine.</summary>
public static class ReportRun
{
    /// <summary>Runs <paramref name="sc"/> under the profile given (else its own).</summary>
    public static ScenarioReportData Run(Scenario sc, KernelProfile? profile) =>
        Collect(o => ScenarioRunner.Run(sc, profile, o));

    /// <summary>Replays steps that came from elsewhere (a checker counterexample) on <paramref name="spec"/>.</summary>
    public static ScenarioReportData Replay(Scenario sc, MachineSpec spec, KernelProfile profile) =>
        Collect(o =>
        {
            var session = ScenarioSession.Start(sc, spec, profile, explain: true);
            o.AfterBoot!(session.Machine);
            var results = new List<StepResult>();
            foreach (var step in sc.Steps)
            {
                results.Add(session.Apply(step));
                o.AfterStep!(results.Count - 1, results[^1], session.Machine);
            }
            return new ScenarioResult(sc, profile, results, session.Machine);
        });

    private static ScenarioReportData Collect(Func<ScenarioRunOptions, ScenarioResult> run)
    {
        TopologyView? boot = null;
        var frames = new List<StepFrame>();
        var options = new ScenarioRunOptions
        {
            Explain = true,
            AfterBoot = m => boot = TopologyView.Of(m),
            AfterStep = (i, r, m) => frames.Add(new StepFrame(i, r, r.Explanation is null ? null : TopologyView.Of(m))),
        };
        var result = run(options);
        return new ScenarioReportData(result, boot!, frames);
    }
}
