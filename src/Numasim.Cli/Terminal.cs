using Spectre.Console;

namespace Numasim.Cli;

/// <summary>
/// Whether output goes to a person: tables and progress bars (Spectre.Console) when it is a terminal, plain text
/// otherwise, so that files and pipes get the same bytes as before. A <see cref="TerminalWriter"/> stands for a
/// terminal (tests, the shell).
/// </summary>
public static class Terminal
{
    /// <summary>True for the process's own stdout or stderr when not redirected, and for a <see cref="TerminalWriter"/>.</summary>
    public static bool IsTerminal(TextWriter w) =>
        w is TerminalWriter
        || (ReferenceEquals(w, Console.Out) && !Console.IsOutputRedirected)
        || (ReferenceEquals(w, Console.Error) && !Console.IsErrorRedirected);

    /// <summary>A Spectre.Console console writing to <paramref name="w"/> (no colours or cursor moves for a TerminalWriter).</summary>
    public static IAnsiConsole ConsoleFor(TextWriter w)
    {
        bool fake = w is TerminalWriter;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(w),
            Ansi = fake ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = fake ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = fake ? InteractionSupport.No : InteractionSupport.Detect,
        });
        if (fake) console.Profile.Width = 120;
        return console;
    }

    /// <summary>A table: a Spectre.Console table on a terminal, aligned plain columns elsewhere.</summary>
    public static void Table(TextWriter w, string? title, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var list = rows.ToList();
        if (IsTerminal(w))
        {
            var t = new Table { Border = TableBorder.Rounded };
            if (title is not null) t.Title = new TableTitle(Markup.Escape(title));
            foreach (var h in header) t.AddColumn(new TableColumn("[bold]" + Markup.Escape(h) + "[/]"));
            foreach (var row in list) t.AddRow(row.Select(c => (Spectre.Console.Rendering.IRenderable)new Text(c)).ToArray());
            ConsoleFor(w).Write(t);
            return;
        }
        if (title is not null) w.WriteLine(title);
        var widths = header.Select((h, i) => Math.Max(h.Length, list.Select(r => i < r.Count ? r[i].Length : 0).DefaultIfEmpty(0).Max())).ToArray();
        w.WriteLine(Row(header, widths).TrimEnd());
        foreach (var row in list) w.WriteLine(Row(row, widths).TrimEnd());
    }

    private static string Row(IReadOnlyList<string> cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => c.PadRight(widths[i])));
}

/// <summary>A captured output that counts as a terminal (for tests of what a person sees).</summary>
public sealed class TerminalWriter : StringWriter
{
    public TerminalWriter() => NewLine = "\n";
}
