using System.Globalization;
using System.Runtime.CompilerServices;

namespace Numasim.Kernel.Trace;

/// <summary>
/// The text of a trace event as an interpolated string that is only formatted when the trace records: with the
/// trace off, <c>_k.Trace.Decide($"node {nid} ...")</c> costs a flag test, no formatting and no allocation.
/// </summary>
[InterpolatedStringHandler]
public ref struct TraceText
{
    private DefaultInterpolatedStringHandler _inner;
    private readonly bool _on;

    public TraceText(int literalLength, int formattedCount, KernelTrace trace, out bool enabled)
    {
        _on = enabled = trace.Enabled;
        _inner = enabled ? new DefaultInterpolatedStringHandler(literalLength, formattedCount, CultureInfo.InvariantCulture) : default;
    }

    public void AppendLiteral(string s)
    {
        if (_on) _inner.AppendLiteral(s);
    }

    public void AppendFormatted<T>(T value)
    {
        if (_on) _inner.AppendFormatted(value);
    }

    public void AppendFormatted<T>(T value, string? format)
    {
        if (_on) _inner.AppendFormatted(value, format);
    }

    public void AppendFormatted(string? value)
    {
        if (_on) _inner.AppendFormatted(value);
    }

    /// <summary>The text; empty when the trace is off.</summary>
    public string Text() => _on ? _inner.ToStringAndClear() : "";
}

/// <summary>Lists as trace texts show them: the first items, then how many more (a 1,024-node zonelist reads as 8).</summary>
public static class TraceList
{
    public static string Brief<T>(IEnumerable<T> items, string separator = ", ", int max = 8)
    {
        var list = items.Take(max + 1).ToList();
        if (list.Count <= max) return string.Join(separator, list);
        int total = items is IReadOnlyCollection<T> c ? c.Count : items.Count();
        return string.Join(separator, list.Take(max)) + $"{separator}… ({total} in all)";
    }
}
