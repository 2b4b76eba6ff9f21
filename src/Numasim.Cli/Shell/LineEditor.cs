using System.Text;

namespace Numasim.Cli.Shell;

/// <summary>Where the line editor gets its keys (the console; a test's script).</summary>
internal interface IKeySource
{
    ConsoleKeyInfo ReadKey();
}

internal sealed class ConsoleKeys : IKeySource
{
    public ConsoleKeyInfo ReadKey() => Console.ReadKey(intercept: true);
}

/// <summary>
/// A line editor for a terminal: the line is redrawn after every key (carriage return, prompt, text, erase to the
/// end, cursor back), with Left/Right/Home/End, Backspace/Delete, Ctrl-A/E/U/K/W/L, Up/Down through the history,
/// Tab completion (a single candidate is taken, several give their common prefix or are listed), Ctrl-C to drop
/// the line and Ctrl-D on an empty line to end.
/// </summary>
internal sealed class LineEditor(IKeySource keys, TextWriter term, Func<string, int, (int Start, IReadOnlyList<string> Candidates)> complete)
{
    /// <summary>The line typed, or null at the end of input (Ctrl-D on an empty line).</summary>
    public string? ReadLine(string prompt, IReadOnlyList<string> history)
    {
        var buf = new StringBuilder();
        int pos = 0, hist = history.Count;
        string saved = "";
        term.Write(prompt);
        term.Flush();
        while (true)
        {
            var k = keys.ReadKey();
            bool ctrl = (k.Modifiers & ConsoleModifiers.Control) != 0;
            char ch = k.KeyChar;
            if (k.Key == ConsoleKey.Enter || ch is '\r' or '\n')
            {
                term.Write("\r\n");
                term.Flush();
                return buf.ToString();
            }
            if ((ctrl && k.Key == ConsoleKey.D) || ch == '\x04')
            {
                if (buf.Length == 0) { term.Write("\r\n"); term.Flush(); return null; }
                if (pos < buf.Length) buf.Remove(pos, 1);
            }
            else if ((ctrl && k.Key == ConsoleKey.C) || ch == '\x03')
            {
                term.Write("^C\r\n");
                buf.Clear();
                pos = 0;
                hist = history.Count;
                term.Write(prompt);
                term.Flush();
                continue;
            }
            else if (k.Key == ConsoleKey.Backspace || ch is '\b' or '\x7f') { if (pos > 0) buf.Remove(--pos, 1); }
            else if (k.Key == ConsoleKey.Delete) { if (pos < buf.Length) buf.Remove(pos, 1); }
            else if (k.Key == ConsoleKey.LeftArrow || ch == '\x02') { if (pos > 0) pos--; }
            else if (k.Key == ConsoleKey.RightArrow || ch == '\x06') { if (pos < buf.Length) pos++; }
            else if (k.Key == ConsoleKey.Home || ch == '\x01') pos = 0;
            else if (k.Key == ConsoleKey.End || ch == '\x05') pos = buf.Length;
            else if (ch == '\x15') { buf.Remove(0, pos); pos = 0; }
            else if (ch == '\x0b') buf.Length = pos;
            else if (ch == '\x17')
            {
                int start = pos;
                while (start > 0 && buf[start - 1] == ' ') start--;
                while (start > 0 && buf[start - 1] != ' ') start--;
                buf.Remove(start, pos - start);
                pos = start;
            }
            else if (ch == '\x0c') term.Write("\x1b[H\x1b[2J");
            else if (k.Key == ConsoleKey.UpArrow || ch == '\x10')
            {
                if (hist == 0) continue;
                if (hist == history.Count) saved = buf.ToString();
                Replace(buf, history[--hist], ref pos);
            }
            else if (k.Key == ConsoleKey.DownArrow || ch == '\x0e')
            {
                if (hist >= history.Count) continue;
                hist++;
                Replace(buf, hist == history.Count ? saved : history[hist], ref pos);
            }
            else if (k.Key == ConsoleKey.Tab || ch == '\t') Complete(buf, ref pos, prompt);
            else if (!char.IsControl(ch) && ch != '\0') buf.Insert(pos++, ch);
            else continue;
            Redraw(prompt, buf, pos);
        }
    }

    private static void Replace(StringBuilder buf, string text, ref int pos)
    {
        buf.Clear().Append(text);
        pos = buf.Length;
    }

    private void Redraw(string prompt, StringBuilder buf, int pos)
    {
        term.Write("\r" + prompt + buf + "\x1b[K");
        if (buf.Length > pos) term.Write($"\x1b[{buf.Length - pos}D");
        term.Flush();
    }

    private void Complete(StringBuilder buf, ref int pos, string prompt)
    {
        var line = buf.ToString();
        var (start, cands) = complete(line, pos);
        if (cands.Count == 0) return;
        string word = line[start..pos];
        string common = cands[0];
        foreach (var c in cands.Skip(1))
        {
            int n = 0;
            while (n < common.Length && n < c.Length && common[n] == c[n]) n++;
            common = common[..n];
        }
        if (cands.Count == 1 && !common.EndsWith('/') && !common.EndsWith(',')) common += " ";
        if (common.Length > word.Length || cands.Count == 1)
        {
            buf.Remove(start, pos - start).Insert(start, common);
            pos = start + common.Length;
            return;
        }
        // Nothing to add: list the candidates under the line, then the prompt again.
        term.Write("\r\n");
        int width = Math.Min(100, cands.Max(c => c.Length) + 2);
        int perLine = Math.Max(1, 100 / width);
        const int MaxListed = 200;
        for (int i = 0; i < Math.Min(cands.Count, MaxListed); i++)
        {
            var shown = cands[i].TrimEnd('/');
            shown = shown[(shown.LastIndexOf('/') + 1)..] + (cands[i].EndsWith('/') ? "/" : "");
            term.Write(shown.PadRight(width));
            if (i % perLine == perLine - 1 || i == Math.Min(cands.Count, MaxListed) - 1) term.Write("\r\n");
        }
        if (cands.Count > MaxListed) term.Write($"({cands.Count - MaxListed} more)\r\n");
        term.Write(prompt);
    }
}
