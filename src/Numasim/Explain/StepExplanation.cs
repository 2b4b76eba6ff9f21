using Numasim.Kernel.Trace;

namespace Numasim.Explain;

/// <summary>
/// Why a step did what it did: the kernel trace it recorded (calls, decisions, failed checks, state changes),
/// the files of /sys and /proc it changed, and the log lines and uevents it produced.
/// </summary>
public sealed record StepExplanation(
    IReadOnlyList<TraceEvent> Events,
    IReadOnlyList<SysfsChange> Files,
    IReadOnlyList<string> Dmesg,
    IReadOnlyList<string> Uevents)
{
    /// <summary>The events as a call tree.</summary>
    public IReadOnlyList<CallNode> Calls => CallNode.Build(Events);

    /// <summary>The errno of the first failed check, and the check (None when nothing failed).</summary>
    public (Kernel.Errno Errno, string Check) FirstError =>
        Events.FirstOrDefault(e => e.Kind == TraceKind.Error) is { } e ? (e.Errno, e.Text) : (Kernel.Errno.None, "");
}

/// <summary>A node of a call tree: an entered function and what happened inside it (events and calls in order),
/// or, at the top, an event outside any call.</summary>
public sealed class CallNode
{
    private readonly List<CallNode> _children = [];

    private CallNode(TraceEvent ev) => Event = ev;

    public TraceEvent Event { get; }
    public bool IsCall => Event.Kind == TraceKind.Call;
    public IReadOnlyList<CallNode> Children => _children;

    /// <summary>"fn(args)" for a call; the text for an event.</summary>
    public string Label => IsCall ? (Event.Text.Length == 0 ? Event.Function : $"{Event.Function}({Event.Text})") : Event.Text;

    /// <summary>Nests the events by depth.</summary>
    public static IReadOnlyList<CallNode> Build(IReadOnlyList<TraceEvent> events)
    {
        var roots = new List<CallNode>();
        var open = new List<CallNode>();   // open[d]: the call at depth d that owns events at depth d + 1
        foreach (var ev in events)
        {
            var node = new CallNode(ev);
            int depth = Math.Min(ev.Depth, open.Count);
            if (depth == 0) roots.Add(node);
            else open[depth - 1]._children.Add(node);
            if (open.Count > depth) open.RemoveRange(depth, open.Count - depth);
            if (node.IsCall) open.Add(node);
        }
        return roots;
    }

    /// <summary>The chain a call starts when each call in it only calls the next (a → b → c), and the node it ends at.</summary>
    public (IReadOnlyList<CallNode> Chain, CallNode Last) Chain()
    {
        var chain = new List<CallNode> { this };
        var cur = this;
        while (cur._children.Count == 1 && cur._children[0].IsCall)
        {
            cur = cur._children[0];
            chain.Add(cur);
        }
        return (chain, cur);
    }
}
