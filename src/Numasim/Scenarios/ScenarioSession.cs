using Numasim.Explain;
using Numasim.Firmware;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Profiles;

namespace Numasim.Scenarios;

/// <summary>
/// A booted machine taking scenario steps one at a time: what <see cref="ScenarioRunner.Run"/> loops over, and what
/// the interactive shell feeds line by line. Steps behave exactly as in a scenario file.
/// </summary>
public sealed class ScenarioSession
{
    private readonly RunState _st;
    private SysfsSnapshot? _files;

    private ScenarioSession(Scenario sc, KernelProfile profile, Machine m, bool explain)
    {
        Scenario = sc;
        Profile = profile;
        _st = new RunState(m);
        Explain = explain;
    }

    /// <summary>Boots the scenario's machine (bad input throws <see cref="ScenarioFormatException"/>).</summary>
    public static ScenarioSession Start(Scenario sc, KernelProfile? profileOverride = null, bool explain = false,
        Func<MachineSpec, MachineSpec>? adjustMachine = null)
    {
        var profile = ScenarioRunner.ResolveProfile(sc, profileOverride);
        var spec = ScenarioRunner.LoadMachine(sc);
        if (adjustMachine is not null) spec = adjustMachine(spec);
        return new ScenarioSession(sc, profile, Machine.Boot(spec, profile), explain);
    }

    /// <summary>Boots <paramref name="spec"/> for steps that come from <paramref name="sc"/> (a file, a shell, a counterexample).</summary>
    public static ScenarioSession Start(Scenario sc, MachineSpec spec, KernelProfile profile, bool explain = false) =>
        new(sc, profile, Machine.Boot(spec, profile), explain);

    public Scenario Scenario { get; }
    public KernelProfile Profile { get; }
    public Machine Machine => _st.M;

    /// <summary>Named pages the steps allocated (alloc_pages ... as: NAME).</summary>
    public IReadOnlyDictionary<string, AllocatedPage> Pages => _st.Pages;

    /// <summary>Whether steps record their <see cref="StepResult.Explanation"/>.</summary>
    public bool Explain
    {
        get => Machine.Kernel.Trace.Enabled;
        set
        {
            if (value) Machine.Kernel.Trace.Start();
            else Machine.Kernel.Trace.Stop();
            _files = null;
        }
    }

    /// <summary>Runs one step (a step scoped to other profiles passes as skipped).</summary>
    public StepResult Apply(ScenarioStep step)
    {
        var m = Machine;
        if (step.Args.TryGetValue("when", out var when) && !when.Split(',', StringSplitOptions.TrimEntries).Any(w => KernelProfile.Find(w) == Profile))
            return new StepResult(step, true, ScenarioRunner.Describe(step) + " (skipped: not " + Profile.Name + ")");
        if (step.Kind == "expect")
        {
            // Expectations only read: their show() calls are no part of any step's explanation.
            using var pause = m.Kernel.Trace.Pause();
            var failed = ScenarioRunner.Execute(Scenario, step, _st);
            return new StepResult(step, failed is null, failed ?? ScenarioRunner.Describe(step));
        }
        _st.MarkStep();
        bool explain = Explain;
        if (explain)
        {
            _files ??= SysfsSnapshot.Take(m);
            m.Kernel.Trace.Take();
        }
        string? fail = m.Oops is not null
            ? "the modelled kernel has oopsed; only expect steps may follow"
            : ScenarioRunner.Execute(Scenario, step, _st);
        var sent = m.Uevents.Skip(_st.UeventMark).ToList();
        StepExplanation? why = null;
        if (explain)
        {
            var events = m.Kernel.Trace.Take();
            var after = SysfsSnapshot.Take(m);
            why = new StepExplanation(events, SysfsSnapshot.Diff(_files!, after),
                m.Log.Since(_st.LogMark).Select(r => r.ToString()).ToList(), sent.Select(u => u.ToString()).ToList());
            _files = after;
        }
        return new StepResult(step, fail is null, fail ?? ScenarioRunner.Describe(step))
        {
            Uevents = sent, Explanation = why, Errno = _st.LastErrno, QmpError = _st.LastQmpError,
        };
    }
}

/// <summary>What a scenario run keeps between steps: named pages, log and uevent marks.</summary>
internal sealed class RunState
{
    public RunState(Machine m)
    {
        M = m;
        // A named page that migration moves keeps its name, as a task's mapping follows its page.
        m.PageAlloc.PageMigrated += (oldPfn, page) =>
        {
            foreach (var name in Pages.Where(kv => kv.Value.Pfn == oldPfn).Select(kv => kv.Key).ToList())
                Pages[name] = page;
        };
    }

    public Machine M { get; }
    public Dictionary<string, AllocatedPage> Pages { get; } = [];

    /// <summary>Files read by snapshot steps, by path: the base of expect's delta.</summary>
    public Dictionary<string, string> Snapshots { get; } = [];
    public int LogMark { get; private set; }
    public int UeventMark { get; private set; }
    public bool LastStepOopsed { get; set; }

    /// <summary>Virtual time between two steps: the deterministic clock that stamps dmesg and uevents.</summary>
    private const long StepUs = 1_000_000;

    /// <summary>What the last step got: a write's or modprobe's errno, QEMU's refusal of a QMP command.</summary>
    public Kernel.Errno LastErrno { get; set; }
    public string? LastQmpError { get; private set; }

    public Hypervisor.QmpResult Qmp(Hypervisor.QmpResult r)
    {
        LastQmpError = r.Error;
        return r;
    }

    public void MarkStep()
    {
        LastErrno = Kernel.Errno.None;
        LastQmpError = null;
        M.Log.Advance(StepUs);
        LogMark = M.Log.Count;
        UeventMark = M.Uevents.Count;
        LastStepOopsed = false;
    }
}
