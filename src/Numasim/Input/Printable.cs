using System.Globalization;
using System.Text;

namespace Numasim.Input;

/// <summary>Text from a user's input, quoted in a one-line error: control characters become \n, \t, \r or \xNN.</summary>
public static class Printable
{
    public static string Escape(string s)
    {
        bool clean = true;
        foreach (var c in s) if (char.IsControl(c)) { clean = false; break; }
        if (clean) return s;
        var sb = new StringBuilder(s.Length + 8);
        foreach (var c in s)
        {
            switch (c)
            {
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (char.IsControl(c)) sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.ToString();
    }
}
