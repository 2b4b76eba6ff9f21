using System.Text;

namespace Numasim.Import;

/// <summary>
/// Entry names as strings, one string per distinct name and thread: a big machine's tree repeats a few dozen names
/// ("size", "level", "state", ...) hundreds of thousands of times, so a listing decodes into a lookup, not a new string.
/// </summary>
internal static class NameTable
{
    /// <summary>Distinct names kept per thread; past it, names are new strings.</summary>
    private const int Capacity = 4096;

    [ThreadStatic] private static Dictionary<string, string>? t_names;

    /// <summary>The string of a UTF-8 entry name (at most NAME_MAX, 255 bytes).</summary>
    public static string Get(ReadOnlySpan<byte> utf8)
    {
        var names = t_names ??= new Dictionary<string, string>(StringComparer.Ordinal);
        Span<char> chars = stackalloc char[256];
        int n = Encoding.UTF8.GetChars(utf8[..Math.Min(utf8.Length, 255)], chars);
        var span = chars[..n];
        if (span.IsEmpty) return "";
        var lookup = names.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(span, out var known)) return known;
        var s = new string(span);
        // numbered names (cpuN, memoryN, nodeN) are many and each seen a few times: not kept
        if (names.Count < Capacity && !char.IsAsciiDigit(s[^1])) names[s] = s;
        return s;
    }
}
