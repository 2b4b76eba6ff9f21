using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Numasim.Kernel;
using Numasim.Kernel.Profiles;
using Numasim.Scenarios;

namespace Numasim.Oracle;

/// <summary>What one side (kernel or model) showed for one step. <see cref="Observation"/> is what is compared;
/// <see cref="Text"/> what is printed.</summary>
public sealed record StepObservation(StepStatus Status, string Observation, string Text);

public enum StepStatus { Passed, Failed, Skipped }

/// <summary>The kernel's side of one scenario.</summary>
public sealed record KernelScenarioRun(IReadOnlyList<StepObservation> Steps, TimeSpan Boot, TimeSpan Total, string? GuestError,
    IReadOnlyDictionary<string, string> Files, string? Dmesg, string? Dump)
{
    /// <summary>The guest's log right after boot (timestamps stripped): memblock=debug's reservations.</summary>
    public IReadOnlyList<string> BootLog { get; init; } = [];
}

/// <summary>Runs a scenario's steps in a booted guest (CONTRACT §4 semantics, on the real kernel).</summary>
public static partial class KernelRun
{
    /// <summary>Steps the real kernel cannot run: reported as skipped, never as passed.</summary>
    public static bool IsModelOnly(ScenarioStep s) =>
        (s.Kind is "modprobe" or "rmmod" && !GuestModules.RunsLive(s)) || s.Kind is "alloc_pages" or "free_pages" or "fail_page_alloc"
        || (s.Kind == "expect" && (s.Args.ContainsKey("oops") || s.Args.ContainsKey("no_oops") || s.Args.ContainsKey("uevent")
                                   || s.Args.ContainsKey("page") || s.Args.ContainsKey("vmcs") || s.Args.ContainsKey("demotion")));

    /// <summary>glibc's strerror texts (busybox-static is glibc), as busybox sh prints them after a failed redirection.</summary>
    private static readonly Dictionary<string, string> StrError = new()
    {
        ["Operation not permitted"] = "EPERM", ["No such file or directory"] = "ENOENT", ["Input/output error"] = "EIO",
        ["No such device or address"] = "ENXIO", ["Argument list too long"] = "E2BIG", ["Resource temporarily unavailable"] = "EAGAIN",
        ["Cannot allocate memory"] = "ENOMEM", ["Permission denied"] = "EACCES", ["Bad address"] = "EFAULT",
        ["Device or resource busy"] = "EBUSY", ["File exists"] = "EEXIST", ["No such device"] = "ENODEV",
        ["Not a directory"] = "ENOTDIR", ["Is a directory"] = "EISDIR", ["Invalid argument"] = "EINVAL",
        ["No space left on device"] = "ENOSPC", ["Numerical result out of range"] = "ERANGE", ["Operation not supported"] = "EOPNOTSUPP",
        ["Read-only file system"] = "EROFS", ["Function not implemented"] = "ENOSYS", ["Nonexistent directory"] = "ENOENT",
    };

    /// <summary>The errno name a shell's error line stands for ("sh: write error: Invalid argument" → EINVAL).</summary>
    public static string ErrnoOf(string shellError)
    {
        var lines = shellError.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        for (int i = lines.Length - 1; i >= 0; i--)
        {
            var msg = lines[i][(lines[i].LastIndexOf(": ", StringComparison.Ordinal) is var k and >= 0 ? k + 2 : 0)..];
            foreach (var (text, name) in StrError)
                if (msg.Equals(text, StringComparison.OrdinalIgnoreCase)) return name;
        }
        return "EUNKNOWN";
    }

    internal static string Q(string s) => "'" + s.Replace("'", "'\\''") + "'";

    [GeneratedRegex(@"^\[\s*\d+\.\d+\] ?")]
    private static partial Regex Timestamp();

    /// <summary>Runs the steps; a guest failure (timeout, QEMU exit) ends the run with the remaining steps unobserved.</summary>
    public static KernelScenarioRun Run(Scenario sc, KernelProfile profile, QemuGuest g, bool record, GuestModules? modules = null,
        Action<int, int>? stepDone = null)
    {
        var sw = Stopwatch.StartNew();
        var obs = new List<StepObservation>();
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var snapshots = new Dictionary<string, string>(StringComparer.Ordinal);
        int dmesgMark = 0;
        List<string>? dmesgCache = null;
        string? error = null;
        List<string> Dmesg() => dmesgCache ??= g.Shell("dmesg").Split('\n').Select(l => Timestamp().Replace(l, "")).Where(l => l.Length > 0).ToList();
        IReadOnlyList<string> bootLog = [];
        try
        {
            bootLog = Dmesg();
            dmesgMark = 0; // before the first non-expect step, dmesg steps see the boot log
            if (modules is not null)
            {
                GuestModules.PreloadInto(g, sc, modules);
                VirtioMemSettle.WaitColdPlugged(g, sc);
                dmesgCache = null;   // the first dmesg steps see what the modules printed
            }
            foreach (var step in sc.Steps)
            {
                stepDone?.Invoke(obs.Count, sc.Steps.Count);
                if (!QemuLimits.InProfile(step, profile)) { obs.Add(new(StepStatus.Skipped, "skipped", "skipped (not " + profile.Name + ")")); continue; }
                if (IsModelOnly(step)) { obs.Add(new(StepStatus.Skipped, "skipped", "skipped (model-only)")); continue; }
                if (step.Kind != "expect")
                {
                    dmesgCache = null;
                    dmesgMark = int.Parse(g.Shell("dmesg | wc -l").Trim(), CultureInfo.InvariantCulture);
                }
                obs.Add(step.Kind switch
                {
                    "write" => Write(sc, step, g),
                    "device_add" or "device_del" or "object-add" or "object-del" or "qom-set" => Qmp(step, g),
                    "modprobe" or "rmmod" when modules is not null => Module(step, g, modules),
                    "numactl" or "dd" or "fallocate" or "task" => GuestTool(sc, step, g),
                    "rm" => Remove(step, g),
                    "snapshot" => Snapshot(step, g, snapshots),
                    "expect" when step.Args.TryGetValue("path", out var path) => ExpectPath(step, path, g, files, snapshots),
                    "expect" when step.Args.TryGetValue("dmesg", out var d) => ExpectDmesg(step, d, Dmesg().Skip(dmesgMark)),
                    _ => new(StepStatus.Failed, "unsupported", $"the oracle cannot run '{ScenarioRunner.Describe(step)}'"),
                });
                if (step.Kind != "expect") dmesgCache = null;
            }
        }
        catch (GuestException e) { error = e.Message; }
        string? dmesgAll = null, dump = null;
        if (record && error is null)
        {
            try
            {
                dmesgAll = string.Join("\n", Dmesg()) + "\n";
                dump = Dump(g);
            }
            catch (GuestException e) { error = e.Message; }
        }
        return new KernelScenarioRun(obs, g.BootTime, sw.Elapsed, error, files, dmesgAll, dump) { BootLog = bootLog };
    }

    private static StepObservation Write(Scenario sc, ScenarioStep step, QemuGuest g)
    {
        var path = step.Args.GetValueOrDefault("path") ?? "";
        var value = step.Args.GetValueOrDefault("value") ?? "";
        var echo = $"echo {Q(value)} > {Q(path)}";
        var under = GuestToolSteps.WriterPolicy(sc, step);
        var (ok, msg) = ShellStatus(g, under is null ? echo : $"{CommandLine(under)} sh -c {Q(echo)}");
        var got = ok ? "ok" : ErrnoOf(msg);
        var want = step.Args.GetValueOrDefault("errno") ?? "ok";
        return new(got == want ? StepStatus.Passed : StepStatus.Failed, got, ok ? "ok" : $"{got} ({msg})");
    }

    /// <summary>Runs a shell line in the guest: whether it exited 0, and what it printed.</summary>
    private static (bool Ok, string Output) ShellStatus(QemuGuest g, string line)
    {
        var output = g.Shell($"{line}; echo \"@@rc=$?\"");
        int at = output.LastIndexOf("@@rc=", StringComparison.Ordinal);
        var msg = at >= 0 ? output[..at].Trim() : output.Trim();
        return (at >= 0 && output[(at + 5)..].Trim() == "0", msg);
    }

    /// <summary>modprobe/rmmod of a module <see cref="GuestModules"/> put in the initramfs: insmod (dependencies first)
    /// or rmmod; the observation is the model's ("holds" when the errno is the expected one).</summary>
    private static StepObservation Module(ScenarioStep step, QemuGuest g, GuestModules modules)
    {
        var name = GuestModules.Canonical(step.Scalar ?? step.Args["module"]);
        var cmd = step.Kind == "modprobe" ? modules.InsmodCommand(name, step.Args.GetValueOrDefault("params") ?? "") : $"rmmod {name} || exit 1; ";
        var (ok, msg) = ShellStatus(g, $"( {cmd}) 2>&1");
        var got = ok ? "ok" : ErrnoOf(msg);
        var want = step.Args.GetValueOrDefault("errno") ?? "ok";
        var st = got == want ? StepStatus.Passed : StepStatus.Failed;
        return new(st, st == StepStatus.Passed ? "holds" : "fails", ok ? "ok" : $"{got} ({msg})");
    }

    private static readonly HashSet<string> StringArgs = ["id", "driver", "memdev", "qom-type", "bus", "mem-path", "policy", "path", "property"];

    private static StepObservation Qmp(ScenarioStep step, QemuGuest g)
    {
        var args = new JsonObject();
        foreach (var (k, v) in step.Args)
        {
            if (k is "error" or "when") continue;
            if (!StringArgs.Contains(k) && long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n)) args[k] = n;
            else if (!StringArgs.Contains(k) && v is "true" or "false") args[k] = v == "true";
            else args[k] = v;
        }
        var id = step.Args.GetValueOrDefault("id");
        var driver = step.Args.GetValueOrDefault("driver");
        int mark = g.EventMark;
        var err = g.Execute(step.Kind, args);
        string note = "";
        if (err is null && step.Kind == "device_add" && (QemuLimits.IsCpuDriver(driver) || driver == "pc-dimm"))
        {
            var ev = g.WaitEvent(mark, e => IsOst(e, id, null), QemuGuest.EventTimeout, $"ACPI_DEVICE_OST for {id ?? driver} after device_add (the guest did not finish the hot-add)");
            var status = OstStatus(ev);
            if (status != 0) note = $" (guest _OST status 0x{status:x})";
        }
        else if (err is null && step.Kind == "device_del")
        {
            // the guest reports _OST 0x84 (eject in progress), QEMU sends DEVICE_DELETED (for a CPU only its lapic child's path), then the guest's final
            // _OST (source 3, status 0); a refused eject is an _OST with another non-zero status (0x80-0x83, 1, 2)
            var ev = g.WaitEvent(mark, e => IsDeleted(e, id) || (IsOst(e, id, null) && OstStatus(e) is not 0 and not OstEjectInProgress),
                QemuGuest.EventTimeout, $"DEVICE_DELETED or a failed ACPI_DEVICE_OST for {id} after device_del");
            if (!IsDeleted(ev, id)) note = $" (eject refused by the guest: _OST status 0x{OstStatus(ev):x})";
            else
            {
                int after = g.EventIndex(ev) + 1;
                g.WaitEvent(after, e => e["event"]?.GetValue<string>() == "ACPI_DEVICE_OST" && e["data"]?["info"]?["source"]?.GetValue<int>() == 3 && OstStatus(e) == 0,
                    QemuGuest.EventTimeout, $"the guest's final ACPI_DEVICE_OST after {id} was deleted");
            }
        }
        if (err is null && (step.Kind == "qom-set" || (step.Kind == "device_add" && driver == Hypervisor.VirtioMemDevice.Driver)))
            note = VirtioMemSettle.Wait(g, step);
        var wantErr = step.Args.GetValueOrDefault("error");
        StepStatus st = wantErr is null ? (err is null ? StepStatus.Passed : StepStatus.Failed)
            : err is not null && err.Contains(wantErr, StringComparison.Ordinal) ? StepStatus.Passed : StepStatus.Failed;
        return new(st, st == StepStatus.Passed ? "holds" : "fails", (err is null ? "ok" : "QMP error: " + err) + note);
    }

    private static bool IsOst(JsonObject e, string? id, int? source) =>
        e["event"]?.GetValue<string>() == "ACPI_DEVICE_OST"
        && (id is null || e["data"]?["info"]?["device"]?.GetValue<string>() == id)
        && (source is null || e["data"]?["info"]?["source"]?.GetValue<int>() == source);

    private const int OstEjectInProgress = 0x84;


    private static bool IsDeleted(JsonObject e, string? id) =>
        e["event"]?.GetValue<string>() == "DEVICE_DELETED"
        && (e["data"]?["device"]?.GetValue<string>() == id || (e["data"]?["path"]?.GetValue<string>() is { } p && (p == "/machine/peripheral/" + id || p.StartsWith("/machine/peripheral/" + id + "/", StringComparison.Ordinal))));

    private static int OstStatus(JsonObject e) => e["data"]?["info"]?["status"]?.GetValue<int>() ?? -1;

    private static StepObservation ExpectPath(ScenarioStep step, string path, QemuGuest g, IDictionary<string, string> files,
        IReadOnlyDictionary<string, string> snapshots)
    {
        var a = step.Args;
        if (a.TryGetValue("exists", out var ex))
        {
            bool exists = g.Shell($"if [ -e {Q(path)} ] || [ -L {Q(path)} ]; then echo yes; else echo no; fi").Trim() == "yes";
            var o = exists ? "exists" : "absent";
            return new((ex == "true") == exists ? StepStatus.Passed : StepStatus.Failed, o, o);
        }
        var output = g.Shell($"cat {Q(path)} 2>&1; echo \"@@rc=$?\"");
        int at = output.LastIndexOf("@@rc=", StringComparison.Ordinal);
        var text = at >= 0 ? output[..at] : output;
        if (at < 0 || output[(at + 5)..].Trim() != "0")
        {
            var o = "cannot read: " + ErrnoOf(text);
            return new(StepStatus.Failed, o, o + " (" + text.Trim() + ")");
        }
        if (text.EndsWith('\n')) text = text[..^1];
        files[path] = text;
        if (a.TryGetValue("delta", out var delta))
        {
            var d = GuestToolSteps.Delta(snapshots.GetValueOrDefault(path) ?? "", text);
            return new(d == delta ? StepStatus.Passed : StepStatus.Failed, d, d);
        }
        if (a.TryGetValue("equals", out var eq)) return new(text == eq ? StepStatus.Passed : StepStatus.Failed, text, text);
        bool holds = a.TryGetValue("contains", out var c) ? text.Contains(c, StringComparison.Ordinal)
            : a.TryGetValue("matches", out var re) && Regex.IsMatch(text, re);
        return new(holds ? StepStatus.Passed : StepStatus.Failed, holds ? "holds" : "fails", text);
    }

    private static StepObservation ExpectDmesg(ScenarioStep step, string d, IEnumerable<string> lines)
    {
        bool want = step.Args.GetValueOrDefault("present", "true") == "true";
        var line = lines.FirstOrDefault(l => l.Contains(d, StringComparison.Ordinal));
        var st = (line is not null) == want ? StepStatus.Passed : StepStatus.Failed;
        return new(st, st == StepStatus.Passed ? "holds" : "fails", line ?? $"no line contains '{d}'");
    }

    /// <summary>A normalized dump: every line of every readable file ("PATH:LINE", grep -r) and every link ("PATH -> TARGET")
    /// under /sys/devices/system/{node,cpu,memory}, sorted, then /proc/buddyinfo, /proc/meminfo and /proc/zoneinfo. One process each, no
    /// fork per file: the guest runs under TCG.</summary>
    private static string Dump(QemuGuest g)
    {
        const string dirs = "/sys/devices/system/node /sys/devices/system/cpu /sys/devices/system/memory";
        var files = g.Shell($"grep -rs '' {dirs}", TimeSpan.FromSeconds(300));
        var links = g.Shell($"find {dirs} -type l -exec ls -l {{}} +", TimeSpan.FromSeconds(300));
        var proc = g.Shell("grep -H '' /proc/buddyinfo /proc/meminfo /proc/zoneinfo");
        var lines = files.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Concat(links.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.IndexOf(" /sys/", StringComparison.Ordinal) is var i and >= 0 ? l[(i + 1)..] : l))
            .OrderBy(l => l, StringComparer.Ordinal);
        return string.Join("\n", lines) + "\n" + proc.TrimEnd('\n') + "\n";
    }
}
