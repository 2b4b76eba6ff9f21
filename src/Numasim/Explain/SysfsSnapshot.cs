using Numasim.Kernel.Sysfs;

namespace Numasim.Explain;

/// <summary>One file of the tree that a step changed: added (no <see cref="Before"/>), removed (no
/// <see cref="After"/>) or rewritten. A directory reads as "/", a link as "-> TARGET".</summary>
public sealed record SysfsChange(string Path, string? Before, string? After)
{
    public bool Added => Before is null;
    public bool Removed => After is null;
}

/// <summary>
/// The text of every entry of the tree at one moment (what <c>ls -lR</c> and <c>cat</c> of every file would show),
/// to tell which files a step changed. Reads run with the trace paused, so show() functions that decide things
/// (valid_zones) do not enter the step's explanation.
/// </summary>
public sealed class SysfsSnapshot
{
    private readonly Dictionary<string, string> _entries;

    private SysfsSnapshot(Dictionary<string, string> entries) => _entries = entries;

    public int Count => _entries.Count;

    /// <summary>Reads the whole tree of <paramref name="m"/>.</summary>
    public static SysfsSnapshot Take(Machine m)
    {
        using var pause = m.Kernel.Trace.Pause();
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var e in SysfsTree.Walk(m.Fs.Root))
        {
            entries[e.Path] = e switch
            {
                SysfsDirectory => "/",
                SysfsLink l => "-> " + l.RelativeTarget,
                SysfsAttribute { HasShow: true } a => a.Show(),
                _ => "(write-only)",
            };
        }
        return new SysfsSnapshot(entries);
    }

    /// <summary>What changed from <paramref name="before"/> to <paramref name="after"/>, in path order.</summary>
    public static IReadOnlyList<SysfsChange> Diff(SysfsSnapshot before, SysfsSnapshot after)
    {
        var changes = new List<SysfsChange>();
        foreach (var (path, text) in before._entries)
        {
            if (!after._entries.TryGetValue(path, out var now)) changes.Add(new SysfsChange(path, text, null));
            else if (now != text) changes.Add(new SysfsChange(path, text, now));
        }
        foreach (var (path, text) in after._entries)
            if (!before._entries.ContainsKey(path)) changes.Add(new SysfsChange(path, null, text));
        changes.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return changes;
    }
}
