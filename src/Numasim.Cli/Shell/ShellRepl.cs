namespace Numasim.Cli.Shell;

/// <summary>
/// The shell's loop: a line editor with history and completion when stdin is a terminal, plain lines otherwise
/// (a script piped in). Every line goes to the <see cref="ShellSession"/>; nothing a line does ends the loop but
/// exit, quit or the end of input.
/// </summary>
internal static class ShellRepl
{
    public static void Run(ShellSession shell, TextReader input, TextWriter output, IKeySource? keys)
    {
        var editor = keys is null ? null : new LineEditor(keys, output, (line, pos) => Complete(shell, line, pos));
        while (true)
        {
            var line = editor is not null ? editor.ReadLine(Prompt(shell), shell.History) : input.ReadLine();
            if (line is null || !shell.Execute(line)) break;
            output.Flush();
        }
    }

    public static string Prompt(ShellSession shell) => $"numasim {shell.Profile.Name}{(shell.Machine.Oops is null ? "" : " (oopsed)")} {shell.Files.Cwd}$ ";

    /// <summary>Tab completion: a command for the first word; a driver, module or explain argument where they go;
    /// a path of the tree anywhere else.</summary>
    public static (int Start, IReadOnlyList<string> Candidates) Complete(ShellSession shell, string line, int pos)
    {
        int start = pos;
        while (start > 0 && !char.IsWhiteSpace(line[start - 1]) && line[start - 1] != '>') start--;
        var word = line[start..pos];
        var before = line[..start].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        IEnumerable<string> cands = before.Length == 0 ? ShellSession.Commands
            : (before[0], before.Length) switch
            {
                ("device_add", 1) => ["pc-dimm,", "qemu64-x86_64-cpu,"],
                ("object_add" or "object-add", 1) => ["memory-backend-ram,"],
                ("modprobe" or "rmmod", 1) => ["kvm_intel"],
                ("explain", 1) => ["on", "off"],
                _ => shell.Files.CompletePath(word),
            };
        return (start, cands.Where(c => c.StartsWith(word, StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList());
    }
}
