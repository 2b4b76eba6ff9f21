using Numasim.Kernel;
using Numasim.Kernel.Trace;

namespace Numasim.Explain;

/// <summary>
/// An explanation as text: the call tree (a call that only calls the next is one line, "a → b → c"), each event
/// under the call it happened in ("= " a decision, "~ " a change, "✗ ERRNO: " a failed check, "!! " an oops), then
/// the files that changed (a directory that came or went with everything in it is one line), the log and uevents.
/// </summary>
public static class ExplainText
{
    /// <summary>Files listed before the rest are only counted.</summary>
    public const int MaxFiles = 40;

    public static void Write(StepExplanation x, TextWriter w, string indent)
    {
        var calls = x.Calls;
        if (calls.Count == 0) w.WriteLine(indent + "(no modelled kernel code ran)");
        foreach (var node in calls) WriteNode(node, w, indent);
        WriteFiles(x.Files, w, indent);
        foreach (var line in x.Dmesg) w.WriteLine($"{indent}dmesg: {line}");
        foreach (var u in x.Uevents) w.WriteLine($"{indent}uevent: {u}");
    }

    /// <summary>The call tree alone (the boot's, for instance).</summary>
    public static void WriteCalls(IReadOnlyList<TraceEvent> events, TextWriter w, string indent)
    {
        foreach (var node in CallNode.Build(events)) WriteNode(node, w, indent);
    }

    private static void WriteNode(CallNode node, TextWriter w, string indent)
    {
        if (!node.IsCall)
        {
            w.WriteLine(indent + EventLine(node.Event));
            return;
        }
        var (chain, last) = node.Chain();
        w.WriteLine(indent + string.Join(" → ", chain.Select(c => c.Label)));
        foreach (var child in last.Children) WriteNode(child, w, indent + "  ");
    }

    /// <summary>One event as its line ("= ...", "~ ...", "✗ EINVAL: ...", "!! ...").</summary>
    public static string EventLine(TraceEvent e) => e.Kind switch
    {
        TraceKind.Decision => "= " + e.Text,
        TraceKind.Change => "~ " + e.Text,
        TraceKind.Error => $"✗ {e.Errno} ({e.Errno.Message()}): {e.Text}",
        TraceKind.Oops => "!! oops: " + e.Text,
        _ => e.Text,
    };

    private static void WriteFiles(IReadOnlyList<SysfsChange> files, TextWriter w, string indent)
    {
        var lines = FileLines(files);
        if (lines.Count == 0) return;
        w.WriteLine($"{indent}files: {files.Count} changed");
        foreach (var line in lines.Take(MaxFiles)) w.WriteLine(indent + "  " + line);
        if (lines.Count > MaxFiles) w.WriteLine($"{indent}  ... and {lines.Count - MaxFiles} more (--format json and --report list them all)");
    }

    /// <summary>The changes as lines: "+ dir/ (N entries)" for a directory that came with its contents, "- dir/"
    /// for one that went, "path: old → new" for a one-line file, "-old"/"+new" lines under a longer one.</summary>
    public static IReadOnlyList<string> FileLines(IReadOnlyList<SysfsChange> files)
    {
        var lines = new List<string>();
        string? coveredAdd = null, coveredRemove = null;
        for (int i = 0; i < files.Count; i++)
        {
            var c = files[i];
            if (coveredAdd is not null && c.Added && c.Path.StartsWith(coveredAdd, StringComparison.Ordinal)) continue;
            if (coveredRemove is not null && c.Removed && c.Path.StartsWith(coveredRemove, StringComparison.Ordinal)) continue;
            if (c.Added && c.After == "/")
            {
                coveredAdd = c.Path + "/";
                int n = files.Skip(i + 1).TakeWhile(f => f.Added && f.Path.StartsWith(coveredAdd, StringComparison.Ordinal)).Count();
                lines.Add(n == 0 ? $"+ {c.Path}/" : $"+ {c.Path}/ ({n} entries)");
            }
            else if (c.Removed && c.Before == "/")
            {
                coveredRemove = c.Path + "/";
                int n = files.Skip(i + 1).TakeWhile(f => f.Removed && f.Path.StartsWith(coveredRemove, StringComparison.Ordinal)).Count();
                lines.Add(n == 0 ? $"- {c.Path}/" : $"- {c.Path}/ ({n} entries)");
            }
            else if (c.Added) lines.Add($"+ {c.Path} {Value(c.After!)}");
            else if (c.Removed) lines.Add($"- {c.Path}");
            else if (IsOneLine(c.Before!) && IsOneLine(c.After!)) lines.Add($"{c.Path}: {Trim(c.Before!)} → {Trim(c.After!)}");
            else
            {
                var d = LineDiff(c.Before!, c.After!).ToList();
                int changed = d.Count(l => l[0] != '@');
                if (changed > MaxLinesPerFile) lines.Add($"{c.Path}: {changed} lines changed");
                else
                {
                    lines.Add(c.Path + ":");
                    foreach (var l in d) lines.Add("    " + l);
                }
            }
        }
        return lines;
    }

    /// <summary>Changed lines shown per multi-line file; past that they are only counted.</summary>
    public const int MaxLinesPerFile = 12;

    /// <summary>The lines of a multi-line file that differ, "-" before and "+" after, in file order (a longest
    /// common subsequence of lines is kept). A changed line of an indented section (zoneinfo's "Node 0, zone
    /// Normal", cpuinfo's "processor : 2") comes after an "@ section" line naming it.</summary>
    public static IEnumerable<string> LineDiff(string before, string after)
    {
        var a = before.TrimEnd('\n').Split('\n');
        var b = after.TrimEnd('\n').Split('\n');
        int head = 0;
        while (head < a.Length && head < b.Length && a[head] == b[head]) head++;
        int tail = 0;
        while (tail < a.Length - head && tail < b.Length - head && a[^(tail + 1)] == b[^(tail + 1)]) tail++;
        int n = a.Length - head - tail, m = b.Length - head - tail;
        var diff = new List<(char Sign, string[] Lines, int At)>();
        if ((long)n * m > 4_000_000)
        {
            for (int i = 0; i < n; i++) diff.Add(('-', a, head + i));
            for (int j = 0; j < m; j++) diff.Add(('+', b, head + j));
        }
        else
        {
            var lcs = new int[n + 1, m + 1];
            for (int i = n - 1; i >= 0; i--)
                for (int j = m - 1; j >= 0; j--)
                    lcs[i, j] = a[head + i] == b[head + j] ? lcs[i + 1, j + 1] + 1 : Math.Max(lcs[i + 1, j], lcs[i, j + 1]);
            int x = 0, y = 0;
            while (x < n || y < m)
            {
                if (x < n && y < m && a[head + x] == b[head + y]) { x++; y++; }
                else if (x < n && (y == m || lcs[x + 1, y] >= lcs[x, y + 1])) diff.Add(('-', a, head + x++));
                else diff.Add(('+', b, head + y++));
            }
        }
        string? section = null;
        foreach (var (sign, lines, at) in diff)
        {
            var s = Section(lines, at);
            if (s is not null && s != section) yield return "@ " + s;
            section = s;
            yield return sign + lines[at];
        }
    }

    /// <summary>The nearest line above <paramref name="at"/> that starts a section (not indented), for an indented line.</summary>
    private static string? Section(string[] lines, int at)
    {
        if (lines[at].Length == 0 || !char.IsWhiteSpace(lines[at][0])) return null;
        for (int i = at - 1; i >= 0; i--)
            if (lines[i].Length > 0 && !char.IsWhiteSpace(lines[i][0])) return lines[i];
        return null;
    }

    private static bool IsOneLine(string s) => s.TrimEnd('\n').IndexOf('\n') < 0;

    private static string Trim(string s) => s.TrimEnd('\n') is { Length: > 0 } t ? t : "(empty)";

    private static string Value(string s) => s switch
    {
        "/" => "/",
        _ when s.StartsWith("-> ", StringComparison.Ordinal) => s,
        _ when IsOneLine(s) => "= " + Trim(s),
        _ => $"({s.TrimEnd('\n').Split('\n').Length} lines)",
    };
}
