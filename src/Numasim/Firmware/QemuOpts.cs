namespace Numasim.Firmware;

/// <summary>Splits an option argument into key=value pairs. Models opts_do_parse() / get_opt_value(),
/// util/qemu-option.c: ",," is a literal comma, the first bare value takes the implied key, a later bare
/// "flag" means flag=on and "noflag" flag=off.</summary>
internal static class QemuOpts
{
    /// <summary>Key/value pairs in order (repeated keys kept), or an error message.</summary>
    public static List<KeyValuePair<string, string>>? Parse(string text, string? impliedKey, out string? error)
    {
        error = null;
        var result = new List<KeyValuePair<string, string>>();
        var parts = SplitEscaped(text);
        for (int i = 0; i < parts.Count; i++)
        {
            var p = parts[i];
            if (p.Length == 0) continue;
            int eq = p.IndexOf('=');
            if (eq < 0)
            {
                if (i == 0 && impliedKey is not null) result.Add(new(impliedKey, p));
                else if (p.StartsWith("no", StringComparison.Ordinal) && p.Length > 2) result.Add(new(p[2..], "off"));
                else result.Add(new(p, "on"));
                continue;
            }
            var key = p[..eq];
            if (key.Length == 0) { error = $"Invalid parameter '{p}'"; return null; }
            result.Add(new(key, p[(eq + 1)..]));
        }
        return result;
    }

    private static List<string> SplitEscaped(string text)
    {
        var parts = new List<string>();
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == ',')
            {
                if (i + 1 < text.Length && text[i + 1] == ',') { sb.Append(','); i++; continue; }
                parts.Add(sb.ToString());
                sb.Clear();
                continue;
            }
            sb.Append(text[i]);
        }
        parts.Add(sb.ToString());
        return parts;
    }

    /// <summary>Splits a command line into words as a POSIX shell would for simple quoting ('..', "..", backslash).</summary>
    public static List<string>? Tokenize(string args, out string? error)
    {
        error = null;
        var words = new List<string>();
        var sb = new System.Text.StringBuilder();
        bool inWord = false;
        char quote = '\0';
        for (int i = 0; i < args.Length; i++)
        {
            char c = args[i];
            if (quote != '\0')
            {
                if (c == quote) quote = '\0';
                else if (c == '\\' && quote == '"' && i + 1 < args.Length && args[i + 1] is '"' or '\\') sb.Append(args[++i]);
                else sb.Append(c);
                continue;
            }
            if (char.IsWhiteSpace(c))
            {
                if (inWord) { words.Add(sb.ToString()); sb.Clear(); inWord = false; }
                continue;
            }
            inWord = true;
            if (c is '"' or '\'') quote = c;
            else if (c == '\\' && i + 1 < args.Length) sb.Append(args[++i]);
            else sb.Append(c);
        }
        if (quote != '\0') { error = "unterminated quote"; return null; }
        if (inWord) words.Add(sb.ToString());
        return words;
    }
}
