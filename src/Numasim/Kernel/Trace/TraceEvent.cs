namespace Numasim.Kernel.Trace;

/// <summary>What a trace event records.</summary>
public enum TraceKind : byte
{
    /// <summary>A modelled kernel function was entered (its arguments in <see cref="TraceEvent.Text"/>).</summary>
    Call,
    /// <summary>A decision and the inputs it was taken on ("ZONE_MOVABLE: online_movable asked").</summary>
    Decision,
    /// <summary>A check failed with an errno (<see cref="TraceEvent.Errno"/>); the text names the check.</summary>
    Error,
    /// <summary>Kernel state changed ("cpu_to_node[2]: 1 → -1").</summary>
    Change,
    /// <summary>The modelled kernel oopsed here.</summary>
    Oops,
}

/// <summary>
/// One event of a kernel trace. <see cref="Depth"/> is the call depth it happened at: a call at depth d owns the
/// events after it at depths above d up to the next event at depth d or less.
/// </summary>
/// <param name="Function">the kernel function entered (Call) or the one the event happened in.</param>
/// <param name="Source">the kernel source file of a Call (e.g. mm/memory_hotplug.c); empty for other kinds.</param>
public sealed record TraceEvent(TraceKind Kind, int Depth, string Function, string Source, string Text, Errno Errno = Errno.None);
