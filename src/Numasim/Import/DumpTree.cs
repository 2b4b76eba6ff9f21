using System.Globalization;
using System.Text.RegularExpressions;

namespace Numasim.Import;

/// <summary>
/// The importer's reading of a tree: paths relative to its root (which holds sys/ and, where present, proc/), read
/// through <see cref="ConfinedTree"/> only; errors name the path inside the tree.
/// </summary>
internal sealed partial class DumpTree(string root)
{
    public const string Sys = "sys/devices/system";

    private readonly ConfinedTree _t = new(root);

    public bool IsDir(string rel) => _t.IsDirectory(rel);

    /// <summary>Present and not a folder: a FIFO or device counts, so that reading it refuses it by name.</summary>
    public bool Exists(string rel) => _t.Kind(rel) is not (FileKind.Missing or FileKind.Directory);

    public static ImportException Missing(string rel) => new($"{rel}: missing (the model needs it)");

    /// <summary>The file's text. Some dumps pad attribute files with NUL bytes after the text; sysfs never prints them.</summary>
    public string Read(string rel) => TryRead(rel) ?? throw Missing(rel);

    /// <summary>The file's text, or null when it is missing.</summary>
    public string? TryRead(string rel)
    {
        if (_prefetched is not null && _prefetched.TryGetValue(rel, out var p)) return p;
        return _t.ReadText(rel)?.Replace("\0", "", StringComparison.Ordinal);
    }

    private System.Collections.Concurrent.ConcurrentDictionary<string, string?>? _prefetched;

    /// <summary>Reads <paramref name="files"/> ahead on two threads (a big machine's tree is half a million files; the
    /// reads are system calls, the rest is cheap), so that the importer's reads of them find the text at hand. A file
    /// that cannot be read is left for the importer's own read to report.</summary>
    public void Prefetch(IEnumerable<string> files)
    {
        var cache = _prefetched ??= new(StringComparer.Ordinal);
        var byDir = files.GroupBy(f => f[..f.LastIndexOf('/')]).ToList();
        Parallel.ForEach(byDir, new ParallelOptions { MaxDegreeOfParallelism = 2 }, g =>
        {
            try
            {
                var names = g.Select(f => f[(g.Key.Length + 1)..]).ToList();
                if (_t.ReadMany(g.Key, names) is not { } listing) return;
                foreach (var (name, text) in listing.Texts) cache[$"{g.Key}/{name}"] = text is null || !text.Contains('\0') ? text : text.Replace("\0", "", StringComparison.Ordinal);
                _links[g.Key] = listing.Links;
            }
            catch (ImportException) { }
        });
    }

    /// <summary>A cpulist or nodelist file.</summary>
    public SortedSet<int> List(string rel) => SysfsLists.ParseList(Read(rel), rel);

    /// <summary>A mask file ("%*pb").</summary>
    public SortedSet<int> Mask(string rel) => SysfsLists.ParseMask(Read(rel), rel);

    /// <summary>A CPU set from NAME (the mask, which real tools read) or else NAME_list; null when neither exists.</summary>
    public SortedSet<int>? MaskOrList(string dir, string name) =>
        Exists($"{dir}/{name}") && Read($"{dir}/{name}").Trim().Length > 0 ? Mask($"{dir}/{name}")
        : Exists($"{dir}/{name}_list") ? List($"{dir}/{name}_list") : null;

    /// <summary>A decimal integer file; <paramref name="fallback"/> when missing.</summary>
    public int Int(string rel, int fallback)
    {
        var text = TryRead(rel);
        if (text is null) return fallback;
        var s = text.Trim();
        return int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v : throw new ImportException($"{rel}: '{s}' is not an integer");
    }

    /// <summary>A decimal integer file, or null when missing or empty.</summary>
    public long? Long(string rel)
    {
        var s = TryRead(rel)?.Trim();
        if (string.IsNullOrEmpty(s)) return null;
        return long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v : throw new ImportException($"{rel}: '{s}' is not an integer");
    }

    /// <summary>A link's own target text (not followed), or null when <paramref name="rel"/> is not a link.</summary>
    public string? LinkTarget(string rel)
    {
        int slash = rel.LastIndexOf('/');
        if (slash > 0 && _links.TryGetValue(rel[..slash], out var links) && !links.Contains(rel[(slash + 1)..])) return null;
        return _t.LinkTarget(rel);
    }

    /// <summary>Whether <paramref name="rel"/> is a symbolic link (its folder's listing says so when <see cref="Prefetch"/>
    /// listed it; else an lstat).</summary>
    public bool IsLink(string rel)
    {
        int slash = rel.LastIndexOf('/');
        if (slash > 0 && _links.TryGetValue(rel[..slash], out var links)) return links.Contains(rel[(slash + 1)..]);
        return _t.LinkTarget(rel) is not null;
    }

    /// <summary>The links of the folders <see cref="Prefetch"/> listed.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, HashSet<string>> _links = new(StringComparer.Ordinal);

    /// <summary>The names in a folder, sorted (empty when missing).</summary>
    public IReadOnlyList<string> Names(string dir) => _t.List(dir);

    /// <summary>Entries name+number under <paramref name="dir"/> (folders or links), in number order.</summary>
    public List<(int Index, string Path)> Numbered(string dir, string prefix)
    {
        var list = new List<(int, string)>();
        foreach (var name in _t.List(dir))
        {
            if (name.Length <= prefix.Length || !name.StartsWith(prefix, StringComparison.Ordinal)) continue;
            var num = name.AsSpan(prefix.Length);
            if (num.Length > 9 || !int.TryParse(num, NumberStyles.None, CultureInfo.InvariantCulture, out int n)) continue;
            list.Add((n, $"{dir}/{name}"));
        }
        list.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        return list;
    }

    [GeneratedRegex(@"^(\d+)\s*kB$")]
    public static partial Regex KbRx();
}
