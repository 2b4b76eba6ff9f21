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
    public string? TryRead(string rel) => _t.ReadText(rel)?.Replace("\0", "", StringComparison.Ordinal);

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
    public string? LinkTarget(string rel) => _t.LinkTarget(rel);

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
