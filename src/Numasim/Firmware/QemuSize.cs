using System.Globalization;

namespace Numasim.Firmware;

/// <summary>Size strings as QEMU takes them. Models qemu_strtosz(), util/cutils.c: a number (a fraction only with a
/// suffix), then an optional B/K/M/G/T/P/E suffix in powers of 1024, case-insensitive.</summary>
public static class QemuSize
{
    /// <summary>One KiB, MiB, GiB, TiB.</summary>
    public const ulong KiB = 1UL << 10, MiB = 1UL << 20, GiB = 1UL << 30, TiB = 1UL << 40;

    /// <summary>Parses <paramref name="text"/>; a bare number is multiplied by <paramref name="defaultUnit"/> (1 for bytes).</summary>
    public static bool TryParse(string text, ulong defaultUnit, out ulong bytes)
    {
        bytes = 0;
        var t = text.Trim();
        if (t.Length == 0) return false;
        ulong unit = defaultUnit;
        char last = char.ToUpperInvariant(t[^1]);
        int suffixShift = last switch { 'B' => 0, 'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, 'P' => 50, 'E' => 60, _ => -1 };
        bool hasSuffix = suffixShift >= 0;
        if (hasSuffix) { unit = 1UL << suffixShift; t = t[..^1]; }
        if (t.Length == 0 || t[0] == '-' || t[0] == '+') return false;
        if (ulong.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out var whole))
        {
            if (unit != 0 && whole > ulong.MaxValue / unit) return false;
            bytes = whole * unit;
            return true;
        }
        if (t.StartsWith("0x", StringComparison.OrdinalIgnoreCase) && !hasSuffix &&
            ulong.TryParse(t[2..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var hex))
        {
            bytes = hex;
            return true;
        }
        // QEMU accepts a fractional part only together with a suffix ("1.5G").
        if (hasSuffix && unit > 1 && decimal.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var frac))
        {
            // Compared before the multiplication: a long mantissa times the unit would overflow decimal itself.
            if (frac > (decimal)ulong.MaxValue / unit) return false;
            var v = frac * unit;
            if (v > ulong.MaxValue) return false;
            bytes = (ulong)v;
            return true;
        }
        return false;
    }

    /// <summary>Whether a size that <see cref="TryParse"/> refused is well formed but too big: qemu_strtosz()'s -ERANGE,
    /// which parse_option_size() reports as "Value '...' is out of range for parameter '...'".</summary>
    public static bool IsOutOfRange(string text) =>
        System.Text.RegularExpressions.Regex.IsMatch(text.Trim(), @"^(\d+|\d+\.\d*[bkmgtpeBKMGTPE]|\d+[bkmgtpeBKMGTPE])$");

    /// <summary>The shortest exact form: "1G", "512M", "4K" or the plain byte count.</summary>
    public static string Format(ulong bytes)
    {
        if (bytes == 0) return "0";
        (int shift, char c)[] units = [(40, 'T'), (30, 'G'), (20, 'M'), (10, 'K')];
        foreach (var (shift, c) in units)
            if (bytes % (1UL << shift) == 0) return (bytes >> shift).ToString(CultureInfo.InvariantCulture) + c;
        return bytes.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Hex as QEMU's error messages print sizes and addresses ("0x40000000").</summary>
    public static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);
}
