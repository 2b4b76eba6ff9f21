using System.CommandLine;
using System.CommandLine.Completions;

namespace Numasim.Cli.Commands;

/// <summary>
/// Shell completion: <c>numasim completion bash</c> prints a bash script (<c>source &lt;(numasim completion bash)</c>)
/// whose function asks <c>numasim __complete LINE POINT</c> for the words that fit where the cursor is: commands,
/// options, profile names, --format values. Where numasim offers nothing (a file argument), bash completes file names.
/// </summary>
public static class CompletionCommand
{
    public const string BashScript = """
        # bash completion for numasim: source <(numasim completion bash), or copy it to /etc/bash_completion.d/numasim
        _numasim() {
            local IFS=$'\n' cur="${COMP_WORDS[COMP_CWORD]}"
            COMPREPLY=( $(compgen -W "$("${COMP_WORDS[0]}" __complete "$COMP_LINE" "$COMP_POINT" 2>/dev/null)" -- "$cur") )
        }
        complete -o default -o bashdefault -F _numasim numasim ./numasim

        """;

    public static Command Create()
    {
        var shell = new Argument<string>("SHELL") { Description = "the shell to complete for (bash)" };
        shell.AcceptOnlyFromAmong("bash");
        var command = new Command("completion", "print the shell completion script: source <(numasim completion bash)");
        command.Arguments.Add(shell);
        command.SetAction(parsed =>
        {
            parsed.InvocationConfiguration.Output.Write(BashScript);
            return CliApp.ExitOk;
        });
        return command;
    }

    /// <summary>The hidden <c>__complete LINE POINT</c> the script calls: one completion a line.</summary>
    public static Command CreateHelper(Func<Command> root)
    {
        var line = new Argument<string>("LINE");
        var point = new Argument<int>("POINT");
        var command = new Command("__complete", "complete a command line (used by the completion script)") { Hidden = true };
        command.Arguments.Add(line);
        command.Arguments.Add(point);
        command.SetAction(parsed =>
        {
            var text = parsed.GetValue(line) ?? "";
            int pos = Math.Clamp(parsed.GetValue(point), 0, text.Length);
            // The program's own name (numasim, ./numasim, a path) is not part of what the root command parses.
            int first = 0;
            while (first < text.Length && !char.IsWhiteSpace(text[first])) first++;
            while (first < text.Length && char.IsWhiteSpace(text[first])) first++;
            var rest = text[first..];
            pos = Math.Max(0, pos - first);
            foreach (var item in root().Parse(rest).GetCompletions(pos))
                if (!item.Label.StartsWith("__", StringComparison.Ordinal)) parsed.InvocationConfiguration.Output.WriteLine(item.Label);
            return CliApp.ExitOk;
        });
        return command;
    }
}
