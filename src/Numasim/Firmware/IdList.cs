using System.Globalization;
using System.Text;

namespace Numasim.Firmware;

/// <summary>Lists of numbers in the kernel's list syntax ("0-3,8,10-11"), order kept: a machine file's CPU lists and
/// per-CPU id lists. Ranges ascend; a list that does not is written with commas.</summary>
public static class IdList
{
    /// <summary>The numbers of <paramref name="text"/> in the order given, or null when it is not a list.</summary>
    public static List<int>? Parse(string text)
    {
        var list = new List<int>();
        var t = text.Trim();
        if (t.Length == 0) return list;
        foreach (var part in t.Split(','))
        {
            int dash = part.IndexOf('-', 1);
            if (dash < 0)
            {
                if (!TryInt(part, out int v)) return null;
                list.Add(v);
                continue;
            }
            if (!TryInt(part[..dash], out int a) || !TryInt(part[(dash + 1)..], out int b) || b < a || b - a > 1 << 24) return null;
            for (int i = a; i <= b; i++) list.Add(i);
        }
        return list;
    }

    /// <summary>"0-3,8": runs of consecutive numbers as ranges, in the order given.</summary>
    public static string Format(IEnumerable<int> values)
    {
        var sb = new StringBuilder();
        int start = 0, prev = 0;
        bool open = false;
        void Flush()
        {
            if (sb.Length > 0) sb.Append(',');
            sb.Append(start.ToString(CultureInfo.InvariantCulture));
            if (prev != start) sb.Append('-').Append(prev.ToString(CultureInfo.InvariantCulture));
        }
        foreach (var v in values)
        {
            if (open && v == prev + 1 && prev != int.MaxValue) { prev = v; continue; }
            if (open) Flush();
            start = prev = v;
            open = true;
        }
        if (open) Flush();
        return sb.ToString();
    }

    private static bool TryInt(string s, out int v) =>
        int.TryParse(s.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out v) && v >= 0;
}
