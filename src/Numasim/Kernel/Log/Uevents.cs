using System.Globalization;
using System.Runtime.CompilerServices;

namespace Numasim.Kernel.Log;

/// <summary>kobject actions, include/linux/kobject.h (enum kobject_action).</summary>
public enum UeventAction { Add, Remove, Change, Move, Online, Offline }

/// <summary>One uevent as the kernel broadcasts it (lib/kobject_uevent.c).</summary>
public sealed record Uevent(long Seqnum, long TimestampUs, UeventAction Action, string DevPath, string Subsystem)
{
    public string ActionName => Action.ToString().ToLowerInvariant();

    /// <summary>The line `udevadm monitor --kernel` prints: "KERNEL[2.510652] add      /devices/system/cpu/cpu2 (cpu)".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"KERNEL[{TimestampUs / 1_000_000}.{TimestampUs % 1_000_000:D6}] {ActionName,-8} {DevPath} ({Subsystem})");
}

/// <summary>The uevents the modelled kernel has sent, in order (kobject_uevent()). Like the log, not part of the
/// compact state: off while the checker explores (<see cref="KernelLog.Enabled"/> switches both).</summary>
public sealed class Uevents : IRecorder
{
    private List<Uevent> _events = [];
    private readonly KernelLog _clock;

    public Uevents(KernelLog clock) => _clock = clock;

    public IReadOnlyList<Uevent> All => _events;

    /// <summary>Models kobject_uevent().</summary>
    public void Emit(UeventAction action, string devPath, string subsystem)
    {
        if (_clock.Enabled) _events.Add(new Uevent(_events.Count + 1, _clock.NowUs, action, devPath, subsystem));
    }

    /// <summary>Models kobject_uevent() with a formatted devpath, formatted only when events are recorded.</summary>
    public void Emit(UeventAction action, [InterpolatedStringHandlerArgument("")] ref LazyText devPath, string subsystem)
    {
        if (devPath.Enabled) Emit(action, devPath.ToStringAndClear(), subsystem);
    }

    public bool Enabled => _clock.Enabled;

    /// <summary>The same events in another list (for a clone of the machine).</summary>
    internal void CopyTo(Uevents other) => other._events = [.. _events];
}
