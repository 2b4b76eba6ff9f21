using System.Globalization;

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
public sealed class KernelLog
{
    private readonly List<LogRecord> _records = [];
    private long _nowUs;

    public IReadOnlyList<LogRecord> Records => _records;

    /// <summary>Virtual time now, in microseconds since boot.</summary>
    public long NowUs => _nowUs;

    /// <summary>Microseconds the clock moves per record.</summary>
    public long StepUs { get; init; } = 37;

    /// <summary>Models printk(): appends a line (or several, split on '\n').</summary>
    public void Printk(string text)
    {
        foreach (var line in text.Split('\n'))
        {
            _records.Add(new LogRecord(_nowUs, line));
            _nowUs += StepUs;
        }
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
}
