using System.Globalization;

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

/// <summary>The uevents the modelled kernel has sent, in order (kobject_uevent()).</summary>
public sealed class Uevents
{
    private readonly List<Uevent> _events = [];
    private readonly KernelLog _clock;

    public Uevents(KernelLog clock) => _clock = clock;

    public IReadOnlyList<Uevent> All => _events;

    /// <summary>Models kobject_uevent().</summary>
    public void Emit(UeventAction action, string devPath, string subsystem) =>
        _events.Add(new Uevent(_events.Count + 1, _clock.NowUs, action, devPath, subsystem));
}
