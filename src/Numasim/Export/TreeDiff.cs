using Numasim.Kernel.Sysfs;

namespace Numasim.Export;

/// <summary>
/// Compares two machines' virtual trees under given roots, as an export would show them: the same entries, the same
/// kinds, attribute texts and link targets. For round trips (export, import, boot) checked in memory, without writing
/// two trees of two million files.
/// </summary>
public static class TreeDiff
{
    /// <summary>The first <paramref name="max"/> differences under <paramref name="roots"/> (e.g. "/sys/devices/system"),
    /// one line each, in walk order; empty when the trees agree there. Paths <paramref name="ignore"/> accepts are not compared.</summary>
    public static List<string> Differences(SysfsTree a, SysfsTree b, IEnumerable<string> roots, int max = 20, Func<string, bool>? ignore = null)
    {
        var diffs = new List<string>();
        foreach (var root in roots)
        {
            var (ea, eb) = (a.Lookup(root, followLastLink: false), b.Lookup(root, followLastLink: false));
            Compare(root, ea, eb, diffs, max, ignore);
            if (diffs.Count >= max) break;
        }
        return diffs;
    }

    private static void Compare(string path, SysfsEntry? a, SysfsEntry? b, List<string> diffs, int max, Func<string, bool>? ignore)
    {
        if (diffs.Count >= max || ignore?.Invoke(path) == true) return;
        switch (a, b)
        {
            case (null, null): return;
            case (null, _): diffs.Add($"{path}: only in the second tree"); return;
            case (_, null): diffs.Add($"{path}: only in the first tree"); return;
            case (SysfsDirectory da, SysfsDirectory db):
                var na = da.Children.Select(c => c.Name).ToList();
                var nb = db.Children.Select(c => c.Name).ToList();
                foreach (var n in na.Union(nb).Order(StringComparer.Ordinal))
                    Compare(path + "/" + n, da.Child(n), db.Child(n), diffs, max, ignore);
                return;
            case (SysfsLink la, SysfsLink lb):
                if (la.Target != lb.Target) diffs.Add($"{path}: link to {la.Target} / {lb.Target}");
                return;
            case (SysfsAttribute fa, SysfsAttribute fb):
                var (ta, tb) = (fa.HasShow ? fa.Show() : "", fb.HasShow ? fb.Show() : "");
                if (ta != tb) diffs.Add($"{path}: '{Short(ta)}' / '{Short(tb)}'");
                else if (fa.Mode != fb.Mode) diffs.Add($"{path}: mode {Convert.ToString(fa.Mode, 8)} / {Convert.ToString(fb.Mode, 8)}");
                return;
            default:
                diffs.Add($"{path}: a {a.GetType().Name} / a {b.GetType().Name}");
                return;
        }
    }

    private static string Short(string s)
    {
        var one = s.ReplaceLineEndings("\\n");
        return one.Length > 60 ? one[..60] + "..." : one;
    }
}
