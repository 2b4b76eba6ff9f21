namespace Numasim.Kernel.Init;

/// <summary>
/// The string helpers the kernel parses its command line and parameters with: next_arg(), memparse(),
/// get_option(), parse_option_str() (lib/cmdline.c), simple_strtoull() (lib/vsprintf.c), kstrtobool() and
/// kstrtouint() (lib/kstrtox.c), parameq() (kernel/params.c). Same results for the same bytes, including the
/// odd ones ("movablecore=abc" is 0 bytes, not an error).
/// </summary>
public static class CmdlineParsing
{
    /// <summary>One word of the command line: the parameter and its value (null without '=').</summary>
    public readonly record struct Arg(string Param, string? Val);

    /// <summary>Models parse_args()'s loop over next_arg(): the words in order, up to (not including) a bare "--";
    /// <paramref name="afterDashes"/> gets what follows it (the init process's arguments), or null.</summary>
    public static List<Arg> SplitArgs(string args, out string? afterDashes)
    {
        var list = new List<Arg>();
        afterDashes = null;
        int i = SkipSpaces(args, 0);
        while (i < args.Length)
        {
            var arg = NextArg(args, ref i);
            if (arg.Val is null && arg.Param == "--")
            {
                afterDashes = args[i..];
                break;
            }
            list.Add(arg);
        }
        return list;
    }

    /// <summary>Models next_arg(): a word ends at unquoted white space; quotes around the value (or the whole word)
    /// are dropped, one '"' may be left inside as the kernel leaves it.</summary>
    public static Arg NextArg(string args, ref int pos)
    {
        int start = pos;
        bool inQuote = false, quoted = false;
        if (start < args.Length && args[start] == '"')
        {
            start++;
            inQuote = quoted = true;
        }
        int i = start, equals = -1;
        for (; i < args.Length; i++)
        {
            if (IsSpace(args[i]) && !inQuote) break;
            if (equals < 0 && args[i] == '=') equals = i;
            if (args[i] == '"') inQuote = !inQuote;
        }
        int end = i;  // args[start..end) is the word; the kernel cuts quotes by writing NULs into it
        string param;
        string? val = null;
        if (equals < 0)
        {
            if (quoted && end > start && args[end - 1] == '"') end--;
            param = args[start..end];
        }
        else
        {
            param = args[start..equals];
            int vs = equals + 1, ve = end;
            if (vs < args.Length && vs < end && args[vs] == '"')
            {
                vs++;
                if (args[end - 1] == '"') ve = end - 1;
            }
            else if (quoted && end > start && args[end - 1] == '"') ve = end - 1;
            val = vs <= ve ? args[vs..ve] : "";
        }
        pos = SkipSpaces(args, i < args.Length ? i + 1 : i);
        return new Arg(param, val);
    }

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f' or '\v';

    private static int SkipSpaces(string s, int i)
    {
        while (i < s.Length && IsSpace(s[i])) i++;
        return i;
    }

    /// <summary>Models parameq(): names equal with '-' and '_' interchangeable.</summary>
    public static bool ParamEq(string a, string b)
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++)
            if (Dash(a[i]) != Dash(b[i])) return false;
        return true;
    }

    /// <summary>Models parameqn(): the first <paramref name="n"/> characters equal in that sense.</summary>
    public static bool ParamEqN(string a, string b, int n)
    {
        if (a.Length < n || b.Length < n) return false;
        for (int i = 0; i < n; i++)
            if (Dash(a[i]) != Dash(b[i])) return false;
        return true;
    }

    private static char Dash(char c) => c == '-' ? '_' : c;

    /// <summary>Models simple_strtoull(s, &amp;end, 0): 0x for hex, a leading 0 for octal, digits until the first
    /// non-digit; overflow wraps as the C code does. <paramref name="end"/> is the index after the last digit.</summary>
    public static ulong SimpleStrtoull(string s, int start, out int end)
    {
        int i = start, radix = 10;
        if (i < s.Length && s[i] == '0')
        {
            if (i + 2 < s.Length && (s[i + 1] is 'x' or 'X') && Uri.IsHexDigit(s[i + 2]))
            {
                radix = 16;
                i += 2;
            }
            else radix = 8;
        }
        ulong v = 0;
        for (; i < s.Length; i++)
        {
            int d = DigitValue(s[i]);
            if (d < 0 || d >= radix) break;
            v = unchecked(v * (ulong)radix + (ulong)d);
        }
        end = i;
        return v;
    }

    private static int DigitValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>Models memparse(): a number with an optional K, M, G, T, P or E suffix (either case).</summary>
    public static ulong Memparse(string s, out int end)
    {
        ulong v = SimpleStrtoull(s, 0, out end);
        int shift = end < s.Length ? char.ToUpperInvariant(s[end]) switch
        {
            'K' => 10, 'M' => 20, 'G' => 30, 'T' => 40, 'P' => 50, 'E' => 60, _ => 0,
        } : 0;
        if (shift > 0)
        {
            v = shift >= 64 ? 0 : unchecked(v << shift);
            end++;
        }
        return v;
    }

    /// <summary>Models get_option(): 0 when no number starts the text, 1 a number, 2 a number and a comma, 3 a
    /// number and a hyphen. The value is the C int the kernel stores (truncated, negated after a '-').</summary>
    public static int GetOption(string? s, out int value)
    {
        value = 0;
        if (string.IsNullOrEmpty(s)) return 0;
        int start = s[0] == '-' ? 1 : 0;
        ulong v = SimpleStrtoull(s, start, out int end);
        int iv = unchecked((int)v);
        value = start == 1 ? unchecked(-iv) : iv;
        if (end == start) return 0;
        if (end < s.Length && s[end] == ',') return 2;
        if (end < s.Length && s[end] == '-') return 3;
        return 1;
    }

    /// <summary>Models parse_option_str(): whether <paramref name="option"/> is one of the comma-separated words.</summary>
    public static bool ParseOptionStr(string s, string option)
    {
        foreach (var w in s.Split(','))
            if (w == option) return true;
        return false;
    }

    /// <summary>Models kstrtobool() of v6.1 and v6.12: y/Y/t/T/1 true, n/N/f/F/0 false, on/off; else null (-EINVAL).</summary>
    public static bool? KstrToBool(string? s)
    {
        if (string.IsNullOrEmpty(s)) return null;
        switch (s[0])
        {
            case 'y': case 'Y': case 't': case 'T': case '1': return true;
            case 'n': case 'N': case 'f': case 'F': case '0': return false;
            case 'o': case 'O':
                if (s.Length > 1 && s[1] is 'n' or 'N') return true;
                if (s.Length > 1 && s[1] is 'f' or 'F') return false;
                return null;
            default: return null;
        }
    }

    /// <summary>Models kstrtouint(s, 0, &amp;v): the whole text (one trailing newline allowed) is a number: EINVAL when
    /// it is not, ERANGE when it does not fit.</summary>
    public static Errno KstrToUint(string? s, out uint value)
    {
        value = 0;
        if (s is null) return Errno.EINVAL;
        if (s.EndsWith('\n')) s = s[..^1];
        if (s.StartsWith('+')) s = s[1..];
        if (s.Length == 0) return Errno.EINVAL;
        int start = 0, radix = 10;
        if (s.Length > 1 && s[0] == '0' && (s[1] is 'x' or 'X')) { radix = 16; start = 2; }
        else if (s[0] == '0') radix = 8;
        if (start >= s.Length) return Errno.EINVAL;
        ulong v = 0;
        bool overflow = false;
        for (int i = start; i < s.Length; i++)
        {
            int d = DigitValue(s[i]);
            if (d < 0 || d >= radix) return Errno.EINVAL;
            if (v > (ulong.MaxValue - (ulong)d) / (ulong)radix) overflow = true;
            else v = v * (ulong)radix + (ulong)d;
        }
        if (overflow || v > uint.MaxValue) return Errno.ERANGE;
        value = (uint)v;
        return Errno.None;
    }
}
