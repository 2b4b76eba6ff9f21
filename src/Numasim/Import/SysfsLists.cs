using System.Globalization;

namespace Numasim.Import;

/// <summary>Parsers for the list and mask formats sysfs prints (bitmap_print_to_pagebuf: "%*pbl" and "%*pb").</summary>
public static class SysfsLists
{
    /// <summary>Parses a cpulist/nodelist ("0-3,8,10-11"; empty means none). Throws <see cref="ImportException"/>
    /// naming <paramref name="file"/> when malformed.</summary>
    public static SortedSet<int> ParseList(string text, string file)
    {
        var set = new SortedSet<int>();
        var t = text.Trim();
        if (t.Length == 0) return set;
        foreach (var part in t.Split(','))
        {
            var range = part.Split('-');
            if (range.Length is < 1 or > 2 || !TryInt(range[0], out int a) || (range.Length == 2 && !TryInt(range[1], out _)))
                throw new ImportException($"{file}: malformed list '{t}' (expected e.g. 0-3,8)");
            int b = range.Length == 2 ? int.Parse(range[1], NumberStyles.None, CultureInfo.InvariantCulture) : a;
            if (b < a || b - a > 1 << 20) throw new ImportException($"{file}: malformed list '{t}' (range {part} is reversed or too long)");
            for (int i = a; i <= b; i++) set.Add(i);
        }
        return set;
    }

    /// <summary>Parses a hexadecimal mask ("00000000,0000000f": 32-bit words, most significant first).</summary>
    public static SortedSet<int> ParseMask(string text, string file)
    {
        var set = new SortedSet<int>();
        var t = text.AsSpan().Trim();
        int bit = 0;
        // from the last (least significant) word; a wide mask is mostly zero words: only the set bits cost anything
        for (int end = t.Length; end >= 0; bit += 32)
        {
            int comma = t[..end].LastIndexOf(',');
            var word = t[(comma + 1)..end];
            if (word.IsEmpty || !uint.TryParse(word, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out uint v))
                throw new ImportException($"{file}: malformed mask '{t}' (expected hexadecimal words separated by commas)");
            for (uint rest = v; rest != 0; rest &= rest - 1) set.Add(bit + System.Numerics.BitOperations.TrailingZeroCount(rest));
            end = comma;
        }
        return set;
    }

    private static bool TryInt(string s, out int v) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out v);
}
