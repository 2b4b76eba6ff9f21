using System.Runtime.CompilerServices;

namespace Numasim.Kernel.Trace;

/// <summary>
/// The model's own record of why it did what it did (issue 18's --explain): the modelled kernel functions a step
/// entered, the decisions they took on which inputs, the checks that failed with which errno, the state they
/// changed. Kernel code reports through one-line calls on <see cref="KernelContext.Trace"/>:
/// <code>
/// using var call = _k.Trace.Call("online_pages", "mm/memory_hotplug.c", $"pfn 0x{start:x}, {nr} pages");
/// _k.Trace.Decide($"{zone.Name}: ...");
/// if (mb.HasHoles) return _k.Trace.Fail(Errno.EINVAL, "the block has holes");
/// </code>
/// Off (the default) every call is a flag test: texts are interpolated through <see cref="TraceText"/>, which
/// formats nothing unless the trace records. No kernel counterpart (ftrace's function_graph plus the reasons).
/// </summary>
public sealed class KernelTrace
{
    private List<TraceEvent>? _events;
    private readonly List<string> _stack = [];

    /// <summary>Whether events are recorded.</summary>
    public bool Enabled { get; private set; }

    /// <summary>Starts recording (a no-op when already recording).</summary>
    public void Start()
    {
        if (Enabled) return;
        Enabled = true;
        _events = [];
        _stack.Clear();
    }

    /// <summary>Stops recording and drops what was not taken.</summary>
    public void Stop()
    {
        Enabled = false;
        _events = null;
        _stack.Clear();
    }

    /// <summary>Records nothing until the result is disposed (for reads that are not part of what is explained,
    /// such as the sysfs snapshots taken around a step).</summary>
    public TracePause Pause()
    {
        var was = Enabled;
        Enabled = false;
        return new TracePause(this, was);
    }

    internal void Resume(bool was) => Enabled = was && _events is not null;

    /// <summary>The events recorded since the last take (empty when off).</summary>
    public IReadOnlyList<TraceEvent> Take()
    {
        if (_events is null || _events.Count == 0) return [];
        var taken = _events;
        _events = [];
        return taken;
    }

    /// <summary>Enters a kernel function; dispose the result when it returns (a <c>using</c> declaration).</summary>
    public TraceCall Call(string function, string source)
    {
        if (!Enabled) return default;
        return Enter(function, source, "");
    }

    /// <summary>Enters a kernel function with its arguments.</summary>
    public TraceCall Call(string function, string source, [InterpolatedStringHandlerArgument("")] ref TraceText args)
    {
        if (!Enabled) return default;
        return Enter(function, source, args.Text());
    }

    /// <summary>A decision and its inputs.</summary>
    public void Decide(string text)
    {
        if (Enabled) Add(TraceKind.Decision, text, Errno.None);
    }

    /// <inheritdoc cref="Decide(string)"/>
    public void Decide([InterpolatedStringHandlerArgument("")] ref TraceText text)
    {
        if (Enabled) Add(TraceKind.Decision, text.Text(), Errno.None);
    }

    /// <summary>One of two decisions, by <paramref name="which"/> (a conditional expression would be formatted as a
    /// plain string, trace on or off; two handlers format nothing while the trace is off).</summary>
    public void Decide(bool which, [InterpolatedStringHandlerArgument("")] ref TraceText whenTrue, [InterpolatedStringHandlerArgument("")] ref TraceText whenFalse)
    {
        if (Enabled) Add(TraceKind.Decision, which ? whenTrue.Text() : whenFalse.Text(), Errno.None);
    }

    /// <summary>A change of kernel state.</summary>
    public void Change([InterpolatedStringHandlerArgument("")] ref TraceText text)
    {
        if (Enabled) Add(TraceKind.Change, text.Text(), Errno.None);
    }

    /// <inheritdoc cref="Change(ref TraceText)"/>
    public void Change(string text)
    {
        if (Enabled) Add(TraceKind.Change, text, Errno.None);
    }

    /// <summary>A failed check: records the errno and the check, and returns the errno (<c>return _k.Trace.Fail(...)</c>).</summary>
    public Errno Fail(Errno errno, string check)
    {
        if (Enabled) Add(TraceKind.Error, check, errno);
        return errno;
    }

    /// <inheritdoc cref="Fail(Errno, string)"/>
    public Errno Fail(Errno errno, [InterpolatedStringHandlerArgument("")] ref TraceText check)
    {
        if (Enabled) Add(TraceKind.Error, check.Text(), errno);
        return errno;
    }

    /// <summary>The modelled kernel oopses here (the first line of its report).</summary>
    public void Oops(string firstLine)
    {
        if (Enabled) Add(TraceKind.Oops, firstLine, Errno.None);
    }

    private TraceCall Enter(string function, string source, string args)
    {
        _events!.Add(new TraceEvent(TraceKind.Call, _stack.Count, function, source, args));
        _stack.Add(function);
        return new TraceCall(this);
    }

    internal void Leave()
    {
        if (_stack.Count > 0) _stack.RemoveAt(_stack.Count - 1);
    }

    private void Add(TraceKind kind, string text, Errno errno) =>
        _events!.Add(new TraceEvent(kind, _stack.Count, _stack.Count > 0 ? _stack[^1] : "", "", text, errno));
}

/// <summary>An entered kernel function of a <see cref="KernelTrace"/>; disposing it returns from the function.</summary>
public readonly ref struct TraceCall
{
    private readonly KernelTrace? _trace;

    internal TraceCall(KernelTrace trace) => _trace = trace;

    public void Dispose() => _trace?.Leave();
}

/// <summary>A paused <see cref="KernelTrace"/>; disposing it resumes recording.</summary>
public readonly ref struct TracePause
{
    private readonly KernelTrace? _trace;
    private readonly bool _was;

    internal TracePause(KernelTrace trace, bool was)
    {
        _trace = trace;
        _was = was;
    }

    public void Dispose() => _trace?.Resume(_was);
}
