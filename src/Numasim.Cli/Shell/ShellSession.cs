using System.Text;
using Numasim.Checker;
using Numasim.Explain;
using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Profiles;
using Numasim.Scenarios;

namespace Numasim.Cli.Shell;

/// <summary>
/// What `numasim shell` does with a line: scenario steps (QMP, echo V &gt; FILE, modprobe, any step in file syntax)
/// on a booted machine, the file commands (cat, ls, tree, cd, pwd, dmesg), and undo, save, explain, history, help.
/// A step's outcome is annotated on it (a write's errno, QEMU's error) so that `save` writes a scenario that replays
/// the same. Undo boots again and replays the steps before the last one: the model is deterministic, so the
/// machine is the one it was.
/// </summary>
internal sealed class ShellSession
{
    private readonly MachineSpec _spec;
    private readonly KernelProfile _profile;
    private readonly string? _qemu, _machineFile;
    private readonly TextWriter _out;
    private readonly List<ScenarioStep> _steps = [];
    private readonly List<string> _history = [];
    private ScenarioSession _session;
    private StepResult? _last;
    private int _lineNo;

    public ShellSession(MachineSpec spec, KernelProfile profile, string? qemu, string? machineFile, bool explain, TextWriter output)
    {
        _spec = spec;
        _profile = profile;
        _qemu = qemu;
        _machineFile = machineFile;
        _out = output;
        Explain = explain;
        _session = Boot();
        _logSeen = _session.Machine.Log.Count;
        Files = new ShellFiles(() => _session.Machine, output);
    }

    public ShellFiles Files { get; }
    public bool Explain { get; private set; }
    public Machine Machine => _session.Machine;
    public KernelProfile Profile => _profile;
    public IReadOnlyList<string> History => _history;

    /// <summary>The commands the shell knows (for help and completion).</summary>
    public static readonly IReadOnlyList<string> Commands =
    [
        "cat", "cd", "device_add", "device_del", "dmesg", "echo", "exit", "expect", "explain", "free_pages", "help", "history",
        "ls", "modprobe", "alloc_pages", "object-add", "object-del", "object_add", "object_del", "pwd", "quit", "rmmod", "save",
        "tree", "undo",
    ];

    private ScenarioSession Boot() =>
        ScenarioSession.Start(new Scenario("(shell)", "shell", _qemu, _machineFile, _profile.Name, []), _spec, _profile, Explain);

    /// <summary>Runs one line; false when it asks the shell to end. Never throws for bad input.</summary>
    public bool Execute(string line)
    {
        _lineNo++;
        var trimmed = line.Trim();
        if (trimmed.Length == 0 || trimmed.StartsWith('#')) return true;
        _history.Add(trimmed);
        try
        {
            return Dispatch(trimmed);
        }
        catch (ScenarioFormatException e) { Error(e.Message.StartsWith($"{e.File}:{e.LineNumber}: ", StringComparison.Ordinal) ? e.Message[$"{e.File}:{e.LineNumber}: ".Length..] : e.Message); }
        catch (CliException e) { Error(e.Message); }
        catch (Exception e) { Error($"internal error: {CliApp.OneLine(e.Message)}"); }
        return true;
    }

    private bool Dispatch(string line)
    {
        if (line.StartsWith('{')) return Apply(ShellLine.Json(line, _lineNo, out var jerr), jerr);
        var words = ShellLine.Words(line, out var werr);
        if (words is null) { Error(werr!); return true; }
        var cmd = words[0];
        if (cmd.EndsWith(':') || cmd == "-") return Apply(ShellLine.Yaml(line, _lineNo, out var yerr), yerr);
        var args = words.Skip(1).ToList();
        if (ShellLine.QmpCommands.TryGetValue(cmd, out var kind)) return Apply(ShellLine.Step(kind, args, _lineNo, out var err), err);
        switch (cmd)
        {
            case "exit" or "quit": return false;
            case "echo": return Echo(args);
            case "modprobe" or "rmmod" or "alloc_pages" or "free_pages": return Apply(ShellLine.Step(cmd, args, _lineNo, out var kerr), kerr);
            case "expect": return Apply(ShellLine.Yaml("expect: {" + string.Join(", ", args.Select(a => a.Replace("=", ": ", StringComparison.Ordinal))) + "}", _lineNo, out var eerr), eerr);
            case "undo": Undo(args); return true;
            case "save": Save(args); return true;
            case "explain": ExplainCommand(args); return true;
            case "history":
                for (int i = 0; i < _history.Count; i++) _out.WriteLine($"{i + 1,5}  {_history[i]}");
                return true;
            case "help": Help(); return true;
            default:
                if (!Files.Run(cmd, args)) Error($"{cmd}: command not found (help lists the commands)");
                return true;
        }
    }

    /// <summary>echo VALUE &gt; FILE: a write step (echo's trailing newline included, as in a scenario).</summary>
    private bool Echo(List<string> args)
    {
        int gt = args.IndexOf(">");
        if (gt < 0)
        {
            _out.WriteLine(string.Join(' ', args));
            return true;
        }
        if (gt != args.Count - 2) { Error("echo: usage: echo VALUE > FILE"); return true; }
        var path = Files.Resolve(args[^1]);
        var step = new ScenarioStep("write", new Dictionary<string, string> { ["path"] = path, ["value"] = string.Join(' ', args.Take(gt)) }, null, _lineNo);
        return Apply(step, null);
    }

    private bool Apply(ScenarioStep? step, string? parseError)
    {
        if (step is null) { Error(parseError ?? "cannot read that line"); return true; }
        var r = _session.Apply(step);
        _last = r;
        var annotated = Annotated(step, r);
        // A step that failed in a way no annotation expresses (a failed expectation, an unknown module) is not kept:
        // a saved scenario replays what worked and what the kernel refused, each as it went.
        bool kept = r.Passed || annotated.Args.Count != step.Args.Count;
        if (kept) _steps.Add(annotated);
        Report(r);
        if (!kept) _out.WriteLine("(not kept for undo and save: the step failed)");
        return true;
    }

    /// <summary>The step as `save` writes it: what it got is what a replay expects.</summary>
    private static ScenarioStep Annotated(ScenarioStep step, StepResult r)
    {
        var args = new Dictionary<string, string>(step.Args);
        if (step.Kind == "write" && !args.ContainsKey("errno") && r.Errno != Errno.None) args["errno"] = r.Errno.ToString();
        if (r.QmpError is not null && !args.ContainsKey("error")) args["error"] = r.QmpError;
        return step with { Args = args };
    }

    /// <summary>What a step shows: its error on one line, then the kernel's messages (or its explanation).</summary>
    private void Report(StepResult r)
    {
        var s = r.Step;
        if (r.QmpError is not null) Error($"Error: {r.QmpError}");
        else if (s.Kind == "write" && r.Errno != Errno.None && !s.Args.ContainsKey("errno")) Error($"echo: write error: {r.Errno.Message()} ({r.Errno})");
        else if (!r.Passed) Error(CliApp.OneLine(r.Message));
        if (r.Explanation is { } why) ExplainText.Write(why, _out, "  ");
        else if (s.Kind != "expect")
            foreach (var rec in Machine.Log.Records.Skip(_logSeen)) _out.WriteLine(rec.ToString());
        _logSeen = Machine.Log.Count;
        if (s.Kind == "expect" && r.Passed) _out.WriteLine("ok");
    }

    /// <summary>Log records already shown (the boot's are not: dmesg prints them).</summary>
    private int _logSeen;

    /// <summary>undo [N]: the machine as it was before the last N steps (expectations after them go too).</summary>
    private void Undo(List<string> args)
    {
        int n = 1;
        if (args.Count > 0 && (!int.TryParse(args[0], out n) || n < 1)) { Error("undo: usage: undo [N]"); return; }
        int changing = _steps.Count(s => s.Kind != "expect");
        if (changing == 0) { Error("undo: nothing to undo"); return; }
        n = Math.Min(n, changing);
        var undone = new List<ScenarioStep>();
        while (n > 0)
        {
            var s = _steps[^1];
            _steps.RemoveAt(_steps.Count - 1);
            if (s.Kind != "expect") { undone.Add(s); n--; }
        }
        Replay(_steps);
        foreach (var s in undone) _out.WriteLine($"undone: {ScenarioRunner.Describe(s)}");
        _out.WriteLine($"(booted again and replayed {_steps.Count} step{(_steps.Count == 1 ? "" : "s")})");
    }

    /// <summary>Boots again and applies <paramref name="steps"/> without printing; the last one explained when asked.</summary>
    private StepResult? Replay(IReadOnlyList<ScenarioStep> steps, bool explainLast = false)
    {
        bool explain = Explain;
        Explain = false;
        _session = Boot();
        StepResult? last = null;
        for (int i = 0; i < steps.Count; i++)
        {
            if (explainLast && i == steps.Count - 1) _session.Explain = true;
            last = _session.Apply(steps[i]);
        }
        Explain = explain;
        _session.Explain = explain;
        _logSeen = Machine.Log.Count;
        return last;
    }

    /// <summary>explain on|off; explain alone explains the last step (replaying it with the trace on if it ran without).</summary>
    private void ExplainCommand(List<string> args)
    {
        if (args is ["on"] or ["off"])
        {
            Explain = args[0] == "on";
            _session.Explain = Explain;
            _out.WriteLine($"explain {args[0]}");
            return;
        }
        if (args.Count > 0) { Error("explain: usage: explain [on|off]"); return; }
        int lastChange = _steps.FindLastIndex(s => s.Kind != "expect");
        if (lastChange < 0) { Error("explain: no step yet"); return; }
        var why = _last?.Explanation;
        if (why is null || _last!.Step.Kind == "expect")
        {
            var kept = _steps.ToList();
            why = Replay(_steps.Take(lastChange + 1).ToList(), explainLast: true)?.Explanation;
            // Expectations after the explained step only read: the machine is where it was.
            foreach (var s in kept.Skip(lastChange + 1)) _session.Apply(s);
        }
        _out.WriteLine($"{ScenarioRunner.Describe(_steps[lastChange])}:");
        if (why is not null) ExplainText.Write(why, _out, "  ");
    }

    /// <summary>save FILE: the steps so far as a scenario file that `numasim run` replays.</summary>
    private void Save(List<string> args)
    {
        if (args.Count != 1) { Error("save: usage: save FILE.yaml"); return; }
        var sb = new StringBuilder();
        sb.Append("# Saved by `numasim shell` (profile ").Append(_profile.Name).Append("). Each step expects what it got.\n");
        sb.Append("name: ").Append(ScenarioWriter.Q($"shell session, {_steps.Count} steps")).Append('\n');
        if (_machineFile is not null) sb.Append("machine: ").Append(ScenarioWriter.Q(Path.GetFullPath(_machineFile))).Append('\n');
        else sb.Append("machine: {qemu: ").Append(ScenarioWriter.Q(_qemu!)).Append("}\n");
        sb.Append("profile: ").Append(ScenarioWriter.Q(_profile.Name)).Append('\n');
        sb.Append(_steps.Count == 0 ? "steps: []\n" : "steps:\n");
        foreach (var s in _steps) sb.Append("  - ").Append(ScenarioWriter.Step(s)).Append('\n');
        try
        {
            File.WriteAllText(args[0], sb.ToString());
            _out.WriteLine($"saved {_steps.Count} step{(_steps.Count == 1 ? "" : "s")} to {args[0]} (numasim run {args[0]})");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { Error($"save: {args[0]}: {CliApp.OneLine(e.Message)}"); }
    }

    private void Help()
    {
        _out.WriteLine("""
            steps (as in a scenario file; `save` writes them out):
              device_add DRIVER,id=ID,...   device_add pc-dimm,id=dimm1,memdev=mem1,node=1 (QMP JSON works too)
              device_del ID                 object_add memory-backend-ram,id=mem1,size=512M    object_del ID
              echo VALUE > FILE             a sysfs write (echo online > memory32/state)
              modprobe kvm_intel            rmmod kvm_intel    alloc_pages nid=1 gfp=GFP_KERNEL as=p1    free_pages p1
              expect path=FILE equals=TEXT  or any step in file syntax: write: {path: ..., value: ...}
            files: cat FILE...  ls [-l] [DIR]  tree [-L N] [DIR]  cd DIR  pwd  dmesg [-n N]
            session: undo [N]  save FILE.yaml  explain [on|off]  history  help  exit (or Ctrl-D)
            keys: Tab completes commands and paths, Up/Down walk the history, Ctrl-C drops the line.
            """);
    }

    /// <summary>An error: one line, and the shell goes on.</summary>
    private void Error(string message) => _out.WriteLine(CliApp.OneLine(message));
}
