using Spectre.Console;

namespace Numasim.Cli;

/// <summary>
/// A progress bar on stderr while long work runs (check, oracle, bench), when stderr is a terminal; elsewhere the
/// work runs with a reporter that draws nothing. The reporter may be called from any thread.
/// </summary>
internal static class CliProgress
{
    /// <summary>Sets a task's progress (0..its maximum) and its description.</summary>
    public delegate void Report(string task, double value, double max, string description);

    public static T Run<T>(TextWriter stderr, Func<Report, T> work)
    {
        if (!Terminal.IsTerminal(stderr) || stderr is TerminalWriter) return work(static (_, _, _, _) => { });
        T result = default!;
        Terminal.ConsoleFor(stderr).Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(ctx =>
            {
                var tasks = new Dictionary<string, ProgressTask>();
                var gate = new object();
                result = work((name, value, max, description) =>
                {
                    lock (gate)
                    {
                        if (!tasks.TryGetValue(name, out var t)) tasks[name] = t = ctx.AddTask(Markup.Escape(description), maxValue: Math.Max(max, 1));
                        t.MaxValue = Math.Max(max, 1);
                        t.Value = Math.Min(value, t.MaxValue);
                        t.Description = Markup.Escape(description);
                    }
                });
            });
        return result;
    }
}
