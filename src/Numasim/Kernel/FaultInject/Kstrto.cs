namespace Numasim.Kernel.FaultInject;

/// <summary>lib/kstrtox.c: the strict integer parsers sysfs and debugfs stores use.</summary>
internal static class Kstrto
{
    /// <summary>Models kstrtoll(s, 0, &amp;res): an optional sign, then "0x" hex, "0" octal or decimal digits, at most one
    /// trailing newline, nothing else; -EINVAL for anything else and -ERANGE on overflow.</summary>
    public static Errno Ll(string s, out long value)
    {
        value = 0;
        int i = 0;
        bool neg = false;
        if (i < s.Length && (s[i] == '+' || s[i] == '-')) { neg = s[i] == '-'; i++; }
        var err = Ull(s[i..], out var u);
        if (err != Errno.None) return err;
        if (neg ? u > 1UL << 63 : u > long.MaxValue) return Errno.ERANGE;
        value = neg ? (long)(0 - u) : (long)u;
        return Errno.None;
    }

    /// <summary>Models kstrtoull(s, 0, &amp;res) (_parse_integer_fixup_radix() and _parse_integer()).</summary>
    public static Errno Ull(string s, out ulong value)
    {
        value = 0;
        int i = 0, radix = 10;
        if (s.StartsWith("+", StringComparison.Ordinal)) i++;
        if (i + 1 < s.Length && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X') && i + 2 < s.Length && IsHex(s[i + 2])) { radix = 16; i += 2; }
        else if (i < s.Length && s[i] == '0') radix = 8;
        int start = i;
        ulong acc = 0;
        bool overflow = false;
        for (; i < s.Length; i++)
        {
            int d = s[i] switch { >= '0' and <= '9' => s[i] - '0', >= 'a' and <= 'f' => s[i] - 'a' + 10, >= 'A' and <= 'F' => s[i] - 'A' + 10, _ => 99 };
            if (d >= radix) break;
            if (acc > (ulong.MaxValue - (ulong)d) / (ulong)radix) overflow = true;
            acc = unchecked(acc * (ulong)radix + (ulong)d);
        }
        if (i == start) return Errno.EINVAL;
        if (overflow) return Errno.ERANGE;
        if (i < s.Length && s[i] == '\n') i++;
        if (i != s.Length) return Errno.EINVAL;
        value = acc;
        return Errno.None;
    }

    private static bool IsHex(char c) => c is >= '0' and <= '9' or >= 'a' and <= 'f' or >= 'A' and <= 'F';
}
