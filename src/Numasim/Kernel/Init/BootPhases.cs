using System.Diagnostics;

namespace Numasim.Kernel.Init;

/// <summary>
/// Wall-clock time of each start_kernel() phase, for <c>numasim bench</c> and benchmarks. Off (a null check per
/// phase) unless <see cref="Measure"/> runs a boot on this thread.
/// </summary>
public static class BootPhases
{
    [ThreadStatic] private static List<(string Phase, TimeSpan Time, long Allocated)>? t_sink;
    [ThreadStatic] private static Stopwatch? t_clock;
    [ThreadStatic] private static long t_allocated;

    /// <summary>Runs <paramref name="boot"/> and returns the time each phase of start_kernel() took and the bytes
    /// it allocated, in order.</summary>
    public static IReadOnlyList<(string Phase, TimeSpan Time, long Allocated)> Measure(Action boot)
    {
        var sink = new List<(string, TimeSpan, long)>();
        t_sink = sink;
        t_allocated = GC.GetAllocatedBytesForCurrentThread();
        t_clock = Stopwatch.StartNew();
        try { boot(); }
        finally { t_sink = null; t_clock = null; }
        return sink;
    }

    /// <summary>Marks the end of a phase: the time since the previous mark is charged to <paramref name="phase"/>.</summary>
    internal static void Mark(string phase)
    {
        if (t_sink is null) return;
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        t_sink.Add((phase, t_clock!.Elapsed, allocated - t_allocated));
        t_allocated = allocated;
        t_clock.Restart();
    }
}
