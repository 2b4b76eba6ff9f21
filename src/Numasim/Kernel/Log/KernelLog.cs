using System.Globalization;
using System.Runtime.CompilerServices;

namespace Numasim.Kernel.Log;

/// <summary>One printk record: virtual time stamp in microseconds and the text without its trailing newline.</summary>
public readonly record struct LogRecord(long TimestampUs, string Text)
{
    /// <summary>The line as dmesg prints it: "[    1.234567] text".</summary>
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"[{TimestampUs / 1_000_000,5}.{TimestampUs % 1_000_000:D6}] {Text}");
}

/// <summary>
/// The printk ring (kernel/printk/printk.c) with a deterministic virtual clock: every record advances
/// the clock by a fixed step, and callers can advance it explicitly (a step of a scenario).
/// </summary>
/// <remarks>
/// The log is not part of a machine's compact state (docs/checker.md): the model checker explores with it
/// switched off (<see cref="Enabled"/> false), and then a printk costs a flag test, not the formatting of its
/// text, because interpolated calls bind to <see cref="LazyText"/>. Its counterexample is replayed from
/// boot with the log on, so the records a scenario sees are always exact.
/// </remarks>
public sealed class KernelLog : IRecorder
{
    private List<LogRecord> _records = [];
    private long _nowUs;

    public IReadOnlyList<LogRecord> Records => _records;

    /// <summary>Whether printk records anything (and the clock moves); off while the checker explores.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Virtual time now, in microseconds since boot.</summary>
    public long NowUs => _nowUs;

    /// <summary>Microseconds the clock moves per record.</summary>
    public long StepUs { get; init; } = 37;

    /// <summary>Models printk(): appends a line (or several, split on '\n').</summary>
    public void Printk(string text)
    {
        if (!Enabled) return;
        foreach (var line in text.Split('\n'))
        {
            _records.Add(new LogRecord(_nowUs, line));
            _nowUs += StepUs;
        }
    }

    /// <summary>Models printk() of a formatted line: the text is formatted only when the log is on.</summary>
    public void Printk([InterpolatedStringHandlerArgument("")] ref LazyText text)
    {
        if (!text.Enabled) return;
        Printk(text.ToStringAndClear());
    }

    /// <summary>Moves the virtual clock forward.</summary>
    public void Advance(long us)
    {
        if (us < 0) throw new ArgumentOutOfRangeException(nameof(us));
        _nowUs += us;
    }

    /// <summary>Records written since <paramref name="mark"/> (a value of <see cref="Count"/> taken earlier).</summary>
    public IEnumerable<LogRecord> Since(int mark) => _records.Skip(mark);

    public int Count => _records.Count;

    /// <summary>The same records and clock in another log (for a clone of the machine).</summary>
    internal void CopyTo(KernelLog other)
    {
        other._records = [.. _records];
        other._nowUs = _nowUs;
        other.Enabled = Enabled;
    }
}

/// <summary>Something that records formatted text only when switched on (the log, the uevents).</summary>
public interface IRecorder
{
    bool Enabled { get; }
}

/// <summary>Formats an interpolated text only when its recorder records (C# interpolated string handler): how a
/// printk or a uevent's devpath costs a flag test while the checker explores.</summary>
[InterpolatedStringHandler]
public ref struct LazyText
{
    private DefaultInterpolatedStringHandler _inner;

    public LazyText(int literalLength, int formattedCount, IRecorder recorder, out bool enabled)
    {
        Enabled = enabled = recorder.Enabled;
        _inner = enabled ? new DefaultInterpolatedStringHandler(literalLength, formattedCount, CultureInfo.InvariantCulture) : default;
    }

    public bool Enabled { get; }

    public void AppendLiteral(string s) => _inner.AppendLiteral(s);
    public void AppendFormatted<T>(T value) => _inner.AppendFormatted(value);
    public void AppendFormatted<T>(T value, string? format) => _inner.AppendFormatted(value, format);
    public void AppendFormatted<T>(T value, int alignment) => _inner.AppendFormatted(value, alignment);
    public void AppendFormatted<T>(T value, int alignment, string? format) => _inner.AppendFormatted(value, alignment, format);
    public void AppendFormatted(string? value) => _inner.AppendFormatted(value);

    internal string ToStringAndClear() => _inner.ToStringAndClear();
}
