using System.Text.RegularExpressions;
using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Profiles;

namespace Numasim.Scenarios;

/// <summary>The outcome of one step.</summary>
public sealed record StepResult(ScenarioStep Step, bool Passed, string Message)
{
    /// <summary>The uevents the kernel sent during the step (what `udevadm monitor --kernel` would print).</summary>
    public IReadOnlyList<Kernel.Log.Uevent> Uevents { get; init; } = [];

    /// <summary>The errno a write, modprobe or rmmod step got (None otherwise).</summary>
    public Errno Errno { get; init; }

    /// <summary>QEMU's error for a QMP step that QEMU refused (null otherwise).</summary>
    public string? QmpError { get; init; }

    /// <summary>Why the step did what it did (with <see cref="ScenarioRunOptions.Explain"/>; null otherwise and for expect steps).</summary>
    public Explain.StepExplanation? Explanation { get; init; }
}

/// <summary>The outcome of one scenario: every step's result, and the machine it ended with.</summary>
public sealed record ScenarioResult(Scenario Scenario, KernelProfile Profile, IReadOnlyList<StepResult> Steps, Machine Machine)
{
    public bool Passed => Steps.All(s => s.Passed);
}

/// <summary>What a run records beyond the verdicts: each step's explanation, and a look at the machine after
/// each step (the HTML report draws its pictures there).</summary>
public sealed record ScenarioRunOptions
{
    /// <summary>Record each step's <see cref="StepResult.Explanation"/> (--explain).</summary>
    public bool Explain { get; init; }

    /// <summary>Changes the scenario's machine before it boots (null: as the scenario says).</summary>
    public Func<MachineSpec, MachineSpec>? AdjustMachine { get; init; }

    /// <summary>Called after boot with the machine.</summary>
    public Action<Machine>? AfterBoot { get; init; }

    /// <summary>Called after each step with its index, its result and the machine.</summary>
    public Action<int, StepResult, Machine>? AfterStep { get; init; }
}

/// <summary>Runs scenario files against the model (CONTRACT §4).</summary>
public static class ScenarioRunner
{
    /// <summary>Boots the scenario's machine and runs its steps. Bad input (machine, profile, step arguments)
    /// throws <see cref="ScenarioFormatException"/>.</summary>
    public static ScenarioResult Run(Scenario sc, KernelProfile? profileOverride = null, ScenarioRunOptions? options = null)
    {
        var session = ScenarioSession.Start(sc, profileOverride, options?.Explain ?? false, options?.AdjustMachine);
        options?.AfterBoot?.Invoke(session.Machine);
        var results = new List<StepResult>();
        foreach (var step in sc.Steps)
        {
            var r = session.Apply(step);
            results.Add(r);
            options?.AfterStep?.Invoke(results.Count - 1, r, session.Machine);
        }
        return new ScenarioResult(sc, session.Profile, results, session.Machine);
    }

    /// <summary>Runs the scenario on its machine as <paramref name="adjustMachine"/> changes it (the oracle gives it the
    /// guest's initrd size).</summary>
    public static ScenarioResult Run(Scenario sc, KernelProfile? profileOverride, Func<MachineSpec, MachineSpec> adjustMachine) =>
        Run(sc, profileOverride, new ScenarioRunOptions { AdjustMachine = adjustMachine });

    /// <summary>The profile a run uses: the override, else the scenario's, else the default; refused when the
    /// scenario does not apply to it.</summary>
    internal static KernelProfile ResolveProfile(Scenario sc, KernelProfile? profileOverride)
    {
        var profile = profileOverride ?? (sc.Profile is null ? KernelProfile.Default
            : KernelProfile.Find(sc.Profile) ?? throw new ScenarioFormatException(sc.File, 1, $"unknown profile '{sc.Profile}'"));
        if (!sc.AppliesTo(profile.Name))
            throw new ScenarioFormatException(sc.File, 1, $"the scenario applies to {string.Join(", ", sc.Profiles!)} only, not {profile.Name}");
        return profile;
    }

    internal static MachineSpec LoadMachine(Scenario sc)
    {
        if (sc.MachineQemu is not null)
        {
            var r = QemuCommandLine.Parse(sc.MachineQemu);
            if (!r.Ok) throw new ScenarioFormatException(sc.File, 1, "machine: " + r.ErrorText);
            return r.Spec!;
        }
        var path = Path.IsPathRooted(sc.MachineFile!) ? sc.MachineFile! : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(sc.File)) ?? ".", sc.MachineFile!);
        return MachineFile.Load(path);
    }

    /// <summary>Runs one step; null when it passed, else why it failed.</summary>
    internal static string? Execute(Scenario sc, ScenarioStep step, RunState st)
    {
        var m = st.M;
        var a = step.Args;
        string Req(string key) => a.TryGetValue(key, out var v) ? v
            : throw new ScenarioFormatException(sc.File, step.Line, $"{step.Kind}: missing field '{key}'");
        int Int(string key, int def) => !a.TryGetValue(key, out var v) ? def
            : int.TryParse(v, out var n) ? n : throw new ScenarioFormatException(sc.File, step.Line, $"{step.Kind}.{key}: '{v}' is not a number");

        switch (step.Kind)
        {
            case "write":
            {
                var expected = a.TryGetValue("errno", out var en) ? ParseErrno(sc, step, en) : Errno.None;
                var got = st.LastErrno = m.Write(Req("path"), Req("value"), GuestToolSteps.WriterPolicy(sc, step));
                return got == expected ? null : $"write {a["path"]}: expected {Show(expected)}, got {Show(got)}";
            }
            case "device_add": return Qmp(step, st.Qmp(m.Qmp.DeviceAdd(Without(a, "error"))));
            case "device_del": return Qmp(step, st.Qmp(m.Qmp.DeviceDel(Without(a, "error"))));
            case "object-add": return Qmp(step, st.Qmp(m.Qmp.ObjectAdd(Without(a, "error"))));
            case "object-del": return Qmp(step, st.Qmp(m.Qmp.ObjectDel(Without(a, "error"))));
            case "qom-set": return Qmp(step, st.Qmp(m.Qmp.QomSet(Without(a, "error"))));
            case "modprobe":
            case "rmmod":
            {
                var module = step.Scalar ?? Req("module");
                var before = m.Oops;
                var err = st.LastErrno = step.Kind == "modprobe" ? m.Modprobe(module, Int("cpu", 0), a.GetValueOrDefault("params", "")) : m.Rmmod(module);
                if (m.Oops is not null && before is null)
                {
                    st.LastStepOopsed = true;
                    return null;
                }
                var want = a.TryGetValue("errno", out var men) ? ParseErrno(sc, step, men) : Errno.None;
                return err == want ? null : $"{step.Kind} {module}: expected {Show(want)}, got {Show(err)}";
            }
            case "alloc_pages":
            {
                if (!GfpFlags.TryParse(a.GetValueOrDefault("gfp", "GFP_KERNEL"), out var gfp, out var gerr))
                    throw new ScenarioFormatException(sc.File, step.Line, "alloc_pages.gfp: " + gerr);
                int cpu = Int("cpu", 0), order = Int("order", 0), nid = Int("nid", -1);
                var ctx = new AllocContext(cpu, a.GetValueOrDefault("comm", "numasim"), 1000, ["numasim_alloc_step"]);
                bool unchecked_ = a.GetValueOrDefault("fn", "alloc_pages_node") == "__alloc_pages_node";
                var page = m.Guard(() => unchecked_ ? m.PageAlloc.AllocPagesNodeUnchecked(nid, gfp, order, ctx)
                                                    : m.PageAlloc.AllocPagesNode(nid, gfp, order, ctx), null);
                if (m.Oops is not null) { st.LastStepOopsed = true; return null; }
                bool expectFail = a.GetValueOrDefault("fails", "false") == "true";
                if (page is null) return expectFail ? null : "alloc_pages: allocation failed";
                if (expectFail) return $"alloc_pages: expected failure, got pfn 0x{page.Pfn:x} on node {page.Node}";
                if (a.TryGetValue("as", out var name)) st.Pages[name] = page;
                return null;
            }
            case "free_pages":
            {
                var name = step.Scalar ?? Req("page");
                if (!st.Pages.Remove(name, out var page)) return $"free_pages: no page named '{name}'";
                var err = m.PageAlloc.FreePages(page.Pfn, Int("cpu", 0));
                return err == Errno.None ? null : $"free_pages {name}: {Show(err)}";
            }
            case "fail_page_alloc":
            {
                // The knobs of /sys/kernel/debug/fail_page_alloc/ on a kernel built with CONFIG_FAIL_PAGE_ALLOC (model-only).
                foreach (var knob in Kernel.FaultInject.FailPageAlloc.Knobs)
                    if (a.TryGetValue(knob, out var v) && m.PageAlloc.FailPageAlloc.Set(knob, v) is var e && e != Errno.None)
                        return $"fail_page_alloc.{knob} <- '{v}': {Show(e)}";
                return null;
            }
            case "expect": return Expect(sc, step, st);
            case "numactl" or "dd" or "fallocate" or "rm" or "snapshot" or "task": return GuestToolSteps.Execute(sc, step, st);
            default: throw new ScenarioFormatException(sc.File, step.Line, $"unknown step '{step.Kind}'");
        }
    }

    private static string? Expect(Scenario sc, ScenarioStep step, RunState st)
    {
        var m = st.M;
        var a = step.Args;
        if (a.TryGetValue("path", out var path))
        {
            var r = m.Read(path);
            if (a.TryGetValue("exists", out var ex))
            {
                bool want = ex == "true";
                return m.Fs.Exists(path) == want ? null : $"{path}: expected {(want ? "to exist" : "not to exist")}";
            }
            if (!r.Ok) return $"{path}: cannot read ({Show(r.Error)})";
            var text = r.Text.EndsWith('\n') ? r.Text[..^1] : r.Text;
            if (a.TryGetValue("delta", out var delta))
            {
                if (!st.Snapshots.TryGetValue(path, out var before))
                    throw new ScenarioFormatException(sc.File, step.Line, $"expect.delta: no snapshot of {path} before this step");
                var diff = GuestToolSteps.Delta(before, r.Text);
                return diff == delta ? null : $"{path} since its snapshot:\n    expected: {delta}\n    actual:   {diff}";
            }
            if (a.TryGetValue("equals", out var eq))
                return text == eq ? null : $"{path}:\n    expected: {eq}\n    actual:   {text}";
            if (a.TryGetValue("contains", out var c))
                return text.Contains(c, StringComparison.Ordinal) ? null : $"{path}: does not contain '{c}'; it reads:\n{text}";
            if (a.TryGetValue("matches", out var re))
            {
                // A user's pattern: a malformed one is bad input (found by fuzzing), and a match is bounded in time.
                bool matched;
                try { matched = Regex.IsMatch(text, re, RegexOptions.None, TimeSpan.FromSeconds(2)); }
                catch (ArgumentException e) { throw new ScenarioFormatException(sc.File, step.Line, "expect.matches: not a regular expression: " + Input.Printable.Escape(e.Message)); }
                catch (RegexMatchTimeoutException) { return $"{path}: matching /{re}/ took more than 2 s"; }
                return matched ? null : $"{path}: does not match /{re}/; it reads:\n{text}";
            }
            throw new ScenarioFormatException(sc.File, step.Line, "expect: give equals, contains, matches or exists");
        }
        if (a.TryGetValue("dmesg", out var d))
        {
            bool want = a.GetValueOrDefault("present", "true") == "true";
            bool found = m.Log.Since(st.LogMark).Any(rec => rec.Text.Contains(d, StringComparison.Ordinal));
            return found == want ? null : $"dmesg: {(want ? "no line contains" : "a line contains")} '{d}'";
        }
        if (a.TryGetValue("oops", out var o))
        {
            if (m.Oops is null) return $"oops: expected an oops containing '{o}', the kernel is alive";
            return m.Oops.Report.Contains(o, StringComparison.Ordinal) ? null : $"oops: report lacks '{o}':\n{m.Oops.Report}";
        }
        if (a.TryGetValue("no_oops", out _))
            return m.Oops is null ? null : "expected no oops:\n" + m.Oops.Report;
        if (a.TryGetValue("uevent", out var u))
        {
            bool found = m.Uevents.Skip(st.UeventMark).Any(e => $"{e.ActionName} {e.DevPath}".Contains(u, StringComparison.Ordinal));
            return found ? null : $"uevent: none matches '{u}'";
        }
        if (a.TryGetValue("demotion", out var dnode))
        {
            // Where a page of node N demotes to: mm/memory-tiers.c's node_demotion[N] as dump_demotion_targets() words it.
            if (!int.TryParse(dnode, out int nid) || nid < 0 || nid >= Kernel.Numa.NumaConstants.MaxNumNodes)
                throw new ScenarioFormatException(sc.File, step.Line, $"expect.demotion: '{dnode}' is not a node id");
            if (!a.TryGetValue("equals", out var want)) throw new ScenarioFormatException(sc.File, step.Line, "expect.demotion: give equals");
            var got = m.Subsystems.MemoryTiers.DemotionTargets(nid) ?? "none";
            return got == want ? null : $"demotion targets of node {nid}:\n    expected: {want}\n    actual:   {got}";
        }
        if (a.TryGetValue("vmcs", out var vcpu))
        {
            if (!int.TryParse(vcpu, out int cpu) || cpu < 0 || cpu >= m.KvmPages.Count) return $"vmcs: kvm_intel holds no VMCS page for CPU {vcpu}";
            var page = m.KvmPages[cpu];
            return a.TryGetValue("node", out var node) && node != page.Node.ToString()
                ? $"vmcs of CPU {cpu}: expected node {node}, got node {page.Node}" : null;
        }
        if (a.TryGetValue("page", out var pname))
        {
            if (!st.Pages.TryGetValue(pname, out var page)) return $"page: no page named '{pname}'";
            if (a.TryGetValue("node", out var node) && node != page.Node.ToString())
                return $"page {pname}: expected node {node}, got node {page.Node}";
            if (a.TryGetValue("zone", out var zone) && zone != page.Zone.Name)
                return $"page {pname}: expected zone {zone}, got zone {page.Zone.Name}";
            return null;
        }
        throw new ScenarioFormatException(sc.File, step.Line, "expect: give path, dmesg, oops, uevent or page");
    }

    private static string? Qmp(ScenarioStep step, Hypervisor.QmpResult r)
    {
        step.Args.TryGetValue("error", out var wantErr);
        if (wantErr is null) return r.Ok ? null : $"{step.Kind}: QMP error: {r.Error}";
        if (r.Ok) return $"{step.Kind}: expected QMP error containing '{wantErr}', it succeeded";
        return r.Error!.Contains(wantErr, StringComparison.Ordinal) ? null : $"{step.Kind}: QMP error '{r.Error}' lacks '{wantErr}'";
    }

    private static Dictionary<string, string> Without(IReadOnlyDictionary<string, string> a, string key) =>
        a.Where(kv => kv.Key != key && kv.Key != "when").ToDictionary(kv => kv.Key, kv => kv.Value);

    private static Errno ParseErrno(Scenario sc, ScenarioStep step, string name) =>
        ErrnoExtensions.TryParse(name, out var e) ? e : throw new ScenarioFormatException(sc.File, step.Line, $"write.errno: unknown errno '{name}'");

    private static string Show(Errno e) => e == Errno.None ? "success" : $"{e} ({e.Message()})";

    /// <summary>A one-line description of a step, as the runner prints it.</summary>
    public static string Describe(ScenarioStep s) => s.Kind switch
    {
        "write" => $"write {s.Args.GetValueOrDefault("path")} <- {s.Args.GetValueOrDefault("value")}" +
                   (s.Args.TryGetValue("errno", out var e) ? $" ({e})" : ""),
        "expect" => "expect " + string.Join(", ", s.Args.Where(kv => kv.Key != "when").Select(kv => $"{kv.Key}: {kv.Value}")),
        _ => $"{s.Kind} " + (s.Scalar ?? string.Join(", ", s.Args.Select(kv => $"{kv.Key}={kv.Value}"))),
    };
}
