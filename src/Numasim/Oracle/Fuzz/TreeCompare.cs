using System.Text;
using System.Text.RegularExpressions;
using Numasim.Kernel.Sysfs;

namespace Numasim.Oracle.Fuzz;

/// <summary>One file of the whole-tree comparison: its family (node, memory, cpu, proc), and each side's text (null: absent).</summary>
public sealed record TreeFile(string Path, string Family, string? Model, string? Kernel)
{
    public bool Equal => Model == Kernel;
}

/// <summary>
/// The whole-tree comparison of <c>numasim oracle fuzz</c> (issue 12 items 2 and 6): every file and link under
/// /sys/devices/system/{node,cpu,memory} and /proc/{meminfo,buddyinfo,zoneinfo}, in <see cref="KernelRun"/>'s dump form
/// ("PATH:LINE" per line as <c>grep -rs ''</c> prints it, "PATH -> TARGET" per link). A file on one side only counts as
/// compared and different.
///
/// The stated rule for what depends on the guest's userspace and timing rather than on the modelled mechanism (each such
/// value is shown as "*", the key stays compared): in /proc/meminfo and nodeN/meminfo every value except MemTotal,
/// SwapTotal, SwapFree, the HugePages_* and Hugepagesize/Hugetlb, VmallocTotal and CmaTotal/CmaFree; every value of
/// nodeN/vmstat and nodeN/numastat; the free-block counts of /proc/buddyinfo; in /proc/zoneinfo only the zone headers and
/// the spanned, present, managed, min, low, high and protection lines are kept; cpuidle's usage/time counters.
/// </summary>
public static partial class TreeCompare
{
    private static readonly string[] Roots = ["/sys/devices/system/node", "/sys/devices/system/cpu", "/sys/devices/system/memory"];
    private static readonly string[] ProcFiles = ["/proc/buddyinfo", "/proc/meminfo", "/proc/zoneinfo"];

    private static readonly HashSet<string> StableMeminfo =
    [
        "MemTotal", "SwapTotal", "SwapFree", "HugePages_Total", "HugePages_Free", "HugePages_Rsvd", "HugePages_Surp",
        "Hugepagesize", "Hugetlb", "VmallocTotal", "CmaTotal", "CmaFree",
    ];

    private static readonly HashSet<string> StableZoneinfo = ["spanned", "present", "managed", "min", "low", "high", "protection:"];

    /// <summary>The model's tree in the kernel dump's form (see <see cref="KernelRun"/>.Dump).</summary>
    public static string ModelDump(SysfsTree fs)
    {
        var lines = new List<string>();
        foreach (var root in Roots)
        {
            if (fs.Lookup(root, followLastLink: false) is not SysfsDirectory dir) continue;
            Walk(dir, root, lines);
        }
        lines.Sort(StringComparer.Ordinal);
        var b = new StringBuilder();
        foreach (var l in lines) b.Append(l).Append('\n');
        foreach (var p in ProcFiles)
        {
            var r = fs.Read(p);
            if (!r.Ok) continue;
            foreach (var l in SplitLines(r.Text)) b.Append(p).Append(':').Append(l).Append('\n');
        }
        return b.ToString();
    }

    private static void Walk(SysfsDirectory dir, string path, List<string> lines)
    {
        foreach (var c in dir.Children)
        {
            var p = path + "/" + c.Name;
            switch (c)
            {
                case SysfsDirectory d: Walk(d, p, lines); break;
                case SysfsLink l: lines.Add(p + " -> " + l.RelativeTarget); break;
                case SysfsAttribute { HasShow: true } a:
                    string text;
                    try { text = a.Show(); }
                    catch (InvalidOperationException) { continue; } // a show() that fails reads as an error: grep -s prints nothing
                    foreach (var line in SplitLines(text)) lines.Add(p + ":" + line);
                    break;
            }
        }
    }

    private static IEnumerable<string> SplitLines(string text)
    {
        if (text.Length == 0) yield break;
        var t = text.EndsWith('\n') ? text[..^1] : text;
        foreach (var l in t.Split('\n')) yield return l;
    }

    /// <summary>A dump as path -> text (lines joined with '\n'; a link's text is "-> TARGET").</summary>
    public static SortedDictionary<string, string> Parse(string dump)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in dump.Split('\n'))
        {
            if (line.Length == 0) continue;
            int colon = line.IndexOf(':'), arrow = line.IndexOf(" -> ", StringComparison.Ordinal);
            string path, text;
            if (arrow >= 0 && (colon < 0 || arrow < colon)) { path = line[..arrow]; text = "-> " + line[(arrow + 4)..]; }
            else if (colon > 0) { path = line[..colon]; text = line[(colon + 1)..]; }
            else continue;
            files[path] = files.TryGetValue(path, out var had) ? had + "\n" + text : text;
        }
        return files;
    }

    /// <summary>Every file of either dump, masked by the stated rule, in path order.</summary>
    public static IReadOnlyList<TreeFile> Compare(string modelDump, string kernelDump)
    {
        var m = Parse(modelDump);
        var k = Parse(kernelDump);
        var paths = new SortedSet<string>(m.Keys, StringComparer.Ordinal);
        paths.UnionWith(k.Keys);
        var result = new List<TreeFile>();
        foreach (var p in paths)
            result.Add(new TreeFile(p, Family(p), m.TryGetValue(p, out var mt) ? Mask(p, mt) : null, k.TryGetValue(p, out var kt) ? Mask(p, kt) : null));
        return result;
    }

    public static string Family(string path) =>
        path.StartsWith("/proc/", StringComparison.Ordinal) ? "proc"
        : path.StartsWith("/sys/devices/system/node", StringComparison.Ordinal) ? "node"
        : path.StartsWith("/sys/devices/system/memory", StringComparison.Ordinal) ? "memory" : "cpu";

    [GeneratedRegex(@"^(Node \d+ )?([A-Za-z0-9_()]+):(\s*)(.*)$")]
    private static partial Regex MeminfoLine();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();

    [GeneratedRegex(@"/node\d+/(vmstat|numastat)$")]
    private static partial Regex NodeCounters();

    [GeneratedRegex(@"/cpuidle/state\d+/(usage|time|above|below|rejected)$")]
    private static partial Regex CpuidleCounters();

    /// <summary>The file's text with what the stated rule excludes replaced by "*" (or dropped, for zoneinfo).</summary>
    public static string Mask(string path, string text)
    {
        if (path == "/proc/meminfo" || path.EndsWith("/meminfo", StringComparison.Ordinal) && path.StartsWith("/sys/devices/system/node/", StringComparison.Ordinal))
            return string.Join("\n", text.Split('\n').Select(l => MeminfoLine().Match(l) is { Success: true } mm && !StableMeminfo.Contains(mm.Groups[2].Value)
                ? mm.Groups[1].Value + mm.Groups[2].Value + ": *" : l));
        if (NodeCounters().IsMatch(path))
            return string.Join("\n", text.Split('\n').Select(l => l.Split(' ', 2)[0] + " *"));
        if (CpuidleCounters().IsMatch(path)) return "*";
        if (path == "/proc/buddyinfo")
            return string.Join("\n", text.Split('\n').Select(l => l.IndexOf("zone", StringComparison.Ordinal) is var z and >= 0
                ? Spaces().Replace(l[..z], " ") + "zone " + l[(z + 4)..].Trim().Split(' ', 2)[0] + " *" : l));
        if (path == "/proc/zoneinfo")
            return string.Join("\n", text.Split('\n').Where(l =>
            {
                var t = l.TrimStart();
                if (t.StartsWith("Node ", StringComparison.Ordinal)) return true;
                var first = t.Split(' ', 2)[0];
                return StableZoneinfo.Contains(first);
            }).Select(l => Spaces().Replace(l.Trim(), " ")));
        return text;
    }

    /// <summary>The first line where the two texts differ (1-based), with each side's line; null when equal.</summary>
    public static (int Line, string? Model, string? Kernel)? FirstDifference(TreeFile f)
    {
        if (f.Equal) return null;
        var m = f.Model?.Split('\n') ?? [];
        var k = f.Kernel?.Split('\n') ?? [];
        for (int i = 0; i < Math.Max(m.Length, k.Length); i++)
        {
            var a = i < m.Length ? m[i] : null;
            var b = i < k.Length ? k[i] : null;
            if (a != b) return (i + 1, a, b);
        }
        return (1, f.Model, f.Kernel);
    }
}
