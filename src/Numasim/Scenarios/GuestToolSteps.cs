using System.Globalization;
using System.Text;
using Numasim.Userspace;

namespace Numasim.Scenarios;

/// <summary>
/// Scenario steps that run guest programs, on the model and (Oracle/KernelRun) in the real guest:
/// <c>numactl</c> (a memory policy for dd or for a tmpfs file's range), <c>dd</c> (a tmpfs file written with the
/// default policy), <c>fallocate</c> (huge pages in a hugetlbfs file, under numactl's policy when one is given),
/// <c>rm</c>, and <c>snapshot</c> of a file whose numbers a later <c>expect: {path, delta}</c>
/// compares as differences (numastat counters move with everything the guest does; their deltas do not).
/// </summary>
public static class GuestToolSteps
{
    public static readonly string[] Kinds = ["numactl", "dd", "fallocate", "rm", "snapshot", "task"];

    public static readonly string[] PolicyFields = ["membind", "interleave", "preferred", "preferred-many", "localalloc"];

    public static readonly string[] NumactlFields = [.. PolicyFields, "file", "length", "offset", "touch", "of", "count", "conv", "cpu", "outcome"];
    public static readonly string[] DdFields = ["of", "count", "conv", "cpu", "outcome"];
    public static readonly string[] TaskFields = ["name", .. PolicyFields, "of", "count", "conv", "cpu", "outcome"];
    public static readonly string[] FallocateFields = [.. PolicyFields, "file", "length", "offset", "cpu", "outcome"];

    /// <summary>The numactl run a step describes (the model's and the guest's command line come from it).</summary>
    public static NumactlRun Parse(Scenario sc, ScenarioStep step)
    {
        var a = step.Args;
        var policies = PolicyFields.Where(a.ContainsKey).ToList();
        if (step.Kind == "fallocate") return ParseFallocate(sc, step, policies);
        if (step.Kind == "numactl" && policies.Count != 1 || policies.Count > 1)
            throw new ScenarioFormatException(sc.File, step.Line, "numactl: give one of " + string.Join(", ", PolicyFields));
        var policy = policies.Count == 0 ? NumactlPolicy.None : PolicyOf(policies[0]);
        string nodes = policies.Count == 0 ? "" : a[policies[0]];
        long Size(string key) => a.TryGetValue(key, out var v) ? ParseSize(sc, step, key, v) : 0;
        long count = a.TryGetValue("count", out var c) ? long.TryParse(c, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= 1 << 22 ? n
            : throw new ScenarioFormatException(sc.File, step.Line, $"{step.Kind}.count: '{c}' is not a page count") : 0;
        var conv = a.GetValueOrDefault("conv");
        if (conv is not null and not "notrunc") throw new ScenarioFormatException(sc.File, step.Line, $"{step.Kind}.conv: only notrunc is modelled");
        var run = new NumactlRun(policy, nodes, a.GetValueOrDefault("file"), Size("length"), Size("offset"),
            a.GetValueOrDefault("touch") == "true", a.GetValueOrDefault("of"), count, conv == "notrunc",
            a.TryGetValue("cpu", out var cpu) && int.TryParse(cpu, out var cn) ? cn : 0);
        if (step.Kind == "task" && run.File is null && (run.Of is null) == (policies.Count == 0))
            throw new ScenarioFormatException(sc.File, step.Line, "task: give a policy (start it under numactl) or of and count (dd in it)");
        if (step.Kind != "task" && (run.File is null) == (run.Of is null))
            throw new ScenarioFormatException(sc.File, step.Line, $"{step.Kind}: give file (a shared policy) or of and count (dd)");
        if (run.File is not null && (!run.File.StartsWith("/tmp/", StringComparison.Ordinal) && !Kernel.Mm.Hugetlbfs.IsOnMount(run.File) || run.File.Contains("..")))
            throw new ScenarioFormatException(sc.File, step.Line,
                $"{step.Kind}.file: only files under /tmp (the guest's tmpfs) and {Kernel.Mm.Hugetlbfs.MountPoint} (its hugetlbfs) are modelled");
        if (run.Of is not null && (!run.Of.StartsWith("/tmp/", StringComparison.Ordinal) || run.Of.Contains("..")))
            throw new ScenarioFormatException(sc.File, step.Line, $"{step.Kind}.of: only files under /tmp (the guest's tmpfs) are modelled");
        return run;
    }

    /// <summary>A fallocate step: a file under the hugetlbfs mount, a length, at most one policy.</summary>
    private static NumactlRun ParseFallocate(Scenario sc, ScenarioStep step, List<string> policies)
    {
        var a = step.Args;
        if (policies.Count > 1) throw new ScenarioFormatException(sc.File, step.Line, "fallocate: give at most one of " + string.Join(", ", PolicyFields));
        var file = a.GetValueOrDefault("file");
        if (file is null || !Kernel.Mm.Hugetlbfs.IsOnMount(file) || file.Contains(".."))
            throw new ScenarioFormatException(sc.File, step.Line, $"fallocate.file: give a file under {Kernel.Mm.Hugetlbfs.MountPoint} (the guest's hugetlbfs mount)");
        if (!a.TryGetValue("length", out var length)) throw new ScenarioFormatException(sc.File, step.Line, "fallocate: give length");
        var policy = policies.Count == 0 ? NumactlPolicy.None : PolicyOf(policies[0]);
        return new NumactlRun(policy, policies.Count == 0 ? "" : a[policies[0]], file, ParseSize(sc, step, "length", length),
            a.TryGetValue("offset", out var o) ? ParseSize(sc, step, "offset", o) : 0,
            Cpu: a.TryGetValue("cpu", out var cpu) && int.TryParse(cpu, out var cn) ? cn : 0);
    }

    /// <summary>The numactl policy a write step is made under (one of the policy fields), or null.</summary>
    public static NumactlRun? WriterPolicy(Scenario sc, ScenarioStep step)
    {
        var policies = PolicyFields.Where(step.Args.ContainsKey).ToList();
        if (policies.Count > 1) throw new ScenarioFormatException(sc.File, step.Line, "write: give at most one of " + string.Join(", ", PolicyFields));
        return policies.Count == 0 ? null : new NumactlRun(PolicyOf(policies[0]), step.Args[policies[0]]);
    }

    private static NumactlPolicy PolicyOf(string field) => field switch
    {
        "membind" => NumactlPolicy.Membind, "interleave" => NumactlPolicy.Interleave, "preferred" => NumactlPolicy.Preferred,
        "preferred-many" => NumactlPolicy.PreferredMany, _ => NumactlPolicy.Localalloc,
    };

    /// <summary>What the step expects: its outcome field, else success ("ok", or "N pages" for dd).</summary>
    public static string ExpectedOutcome(NumactlRun r, ScenarioStep step) =>
        step.Args.GetValueOrDefault("outcome") ?? (r.Of is null ? "ok" : $"{r.Count} pages");

    /// <summary>numactl's size argument: a number with an optional k, m or g suffix (memsize()).</summary>
    private static long ParseSize(Scenario sc, ScenarioStep step, string key, string v)
    {
        long mult = 1;
        var t = v.Trim();
        if (t.Length > 0 && char.ToLowerInvariant(t[^1]) is 'k' or 'm' or 'g' && t[^1] is var s)
        {
            mult = char.ToLowerInvariant(s) switch { 'k' => 1L << 10, 'm' => 1L << 20, _ => 1L << 30 };
            t = t[..^1];
        }
        if (!long.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > (1L << 40) / mult)
            throw new ScenarioFormatException(sc.File, step.Line, $"{step.Kind}.{key}: '{v}' is not a size");
        return n * mult;
    }

    /// <summary>Runs a guest tool step on the model; null when it did what the step expects.</summary>
    internal static string? Execute(Scenario sc, ScenarioStep step, RunState st)
    {
        var m = st.M;
        switch (step.Kind)
        {
            case "snapshot":
            {
                var path = step.Scalar ?? step.Args.GetValueOrDefault("path")
                           ?? throw new ScenarioFormatException(sc.File, step.Line, "snapshot: give the path of a file");
                var r = m.Read(path);
                if (!r.Ok) return $"{path}: cannot read ({r.Error})";
                st.Snapshots[path] = r.Text;
                return null;
            }
            case "rm":
            {
                var path = step.Scalar ?? throw new ScenarioFormatException(sc.File, step.Line, "rm: give the path of a file");
                m.RemoveFile(path);
                return null;
            }
            default:
            {
                var run = Parse(sc, step);
                string got;
                try
                {
                    got = step.Kind switch
                    {
                        "task" => m.Task(step.Args.GetValueOrDefault("name") ?? throw new ScenarioFormatException(sc.File, step.Line, "task: give its name"), run).Text,
                        "fallocate" => m.Fallocate(run).Text,
                        _ => m.Numactl(run).Text,
                    };
                }
                catch (NotSupportedException e) { throw new ScenarioFormatException(sc.File, step.Line, e.Message); }
                var want = ExpectedOutcome(run, step);
                return got == want ? null : $"{step.Kind}: expected {want}, got {got}";
            }
        }
    }

    /// <summary>The differences of a file's numbers since its snapshot: each line with a trailing number as the line's
    /// label and the difference ("numa_hit 512"); lines without one are left out.</summary>
    public static string Delta(string before, string after)
    {
        var old = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (label, v) in Numbers(before)) old[label] = v;
        var sb = new StringBuilder();
        foreach (var (label, v) in Numbers(after))
            sb.Append(label).Append(' ').Append((v - old.GetValueOrDefault(label)).ToString(CultureInfo.InvariantCulture)).Append('\n');
        return sb.ToString().TrimEnd('\n');
    }

    private static IEnumerable<(string Label, long Value)> Numbers(string text)
    {
        foreach (var raw in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var words = raw.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int i = words.Length - 1;
            if (i >= 0 && words[i] == "kB") i--;
            if (i < 1 || !long.TryParse(words[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)) continue;
            yield return (string.Join(' ', words[..i]), v);
        }
    }
}
