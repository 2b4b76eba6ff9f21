using System.Globalization;
using System.Text;
using Numasim.Kernel.Log;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Hotplug;

/// <summary>
/// The CPU hotplug state machine's user-visible part (kernel/cpu.c, cpuhp_sysfs_init()): the states table
/// /sys/devices/system/cpu/hotplug/states and, for every CPU whose device exists at that initcall (not the ones
/// hot-added later, as the 6.1 guest shows), cpuN/hotplug/{state,target,fail}. Writing a state number to `fail`
/// makes the next bring-up or tear-down that passes it fail with -EAGAIN in cpuhp_invoke_callback(), and the
/// CPU rolls back to where it was. The table is the profile's (<see cref="Profiles.KernelProfile.CpuhpStates"/>);
/// a profile without one shows no hotplug files. Mutable state: each CPU's fail value.
/// </summary>
public sealed class CpuHotplugStates
{
    /// <summary>enum cpuhp_state members the rules name: CPUHP_INVALID, CPUHP_OFFLINE.</summary>
    public const int Invalid = -1, Offline = 0;

    private readonly KernelContext _k;
    private readonly IReadOnlyList<(int Number, string Name)> _table;
    // Each CPU's fail value (compact state), and which CPUs got hotplug files at cpuhp_sysfs_init() (boot only).
    private Snapshots.StateArray<int>? _failValues;
    private bool[] _hasFiles = [];
    private FailView _fail => new(_failValues!);

    private readonly struct FailView(Snapshots.StateArray<int> a)
    {
        public int Length => a.Length;
        public int this[int cpu] { get => a[cpu]; set => a.Mut(cpu) = value; }
    }

    internal CpuHotplugStates(KernelContext k, IReadOnlyList<(int Number, string Name)> table)
    {
        _k = k;
        _table = table;
    }

    /// <summary>CPUHP_ONLINE: the last state.</summary>
    public int Online => _table[^1].Number;

    /// <summary>CPUHP_BRINGUP_CPU ("cpu:bringup"): states at or below it run on the boot CPU before the AP starts.</summary>
    private int BringupCpu => Number("cpu:bringup");

    /// <summary>CPUHP_AP_IDLE_DEAD ("idle:dead") and CPUHP_AP_ONLINE ("ap:online") bound the atomic states.</summary>
    private int ApIdleDead => Number("idle:dead");
    private int ApOnline => Number("ap:online");

    private int Number(string name) => _table.First(s => s.Name == name).Number;

    /// <summary>Models cpuhp_sysfs_init(): the states file and each registered CPU's hotplug group.</summary>
    internal void SysfsInit(Func<int, bool> hasCpuDevice)
    {
        _failValues = new Snapshots.StateArray<int>(_k.State, "cpuhp fail", _k.Cpus.NrCpuIds); // nr_cpu_ids is known by now
        _failValues.Fill(Invalid);
        _hasFiles = new bool[_k.Cpus.NrCpuIds];
        var cpuRoot = (SysfsDirectory)_k.Fs.Lookup("/sys/devices/system/cpu")!;
        cpuRoot.GetOrAddDir("hotplug").Attr("states", StatesShow);
        foreach (var cpu in _k.Cpus.Present.Bits())
            if (hasCpuDevice(cpu)) _hasFiles[cpu] = true; // get_cpu_device(cpu), not the directory's view
    }

    /// <summary>cpuN/hotplug/{state,target,fail} in the view of cpuN, for the CPUs cpuhp_sysfs_init() saw.</summary>
    internal void AddFiles(SysfsDirectory cpuDir, int cpu)
    {
        if ((uint)cpu >= (uint)_hasFiles.Length || !_hasFiles[cpu]) return;
        var hp = cpuDir.GetOrAddDir("hotplug");
        hp.Attr("state", () => Line(StateOf(cpu)));
        hp.Attr("target", () => Line(TargetOf(cpu)), v => TargetStore(cpu, v));
        hp.Attr("fail", () => Line(_fail[cpu]), v => FailStore(cpu, v));
    }

    /// <summary>A CPU at rest is at CPUHP_ONLINE or CPUHP_OFFLINE (the model runs no state machine in between).</summary>
    private int StateOf(int cpu) => _k.Cpus.Online[cpu] ? Online : Offline;

    /// <summary>Models target_show(): st->target; 6.1's boot_cpu_hotplug_init() sets only the boot CPU's state, so its
    /// target stays CPUHP_OFFLINE (x86 never takes the boot CPU down in the model).</summary>
    private int TargetOf(int cpu) => cpu == 0 && !_k.Profile.BootCpuHotplugTargetSet ? Offline : StateOf(cpu);

    private static string Line(int v) => v.ToString(CultureInfo.InvariantCulture) + "\n";

    /// <summary>Models states_show(): "%3d: %s\n" for every state with a name.</summary>
    private string StatesShow()
    {
        var sb = new StringBuilder();
        bool smp = _k.Cpus.Possible.Weight() > 1;
        foreach (var (n, name) in _table)
            if (smp || !Hotplug.CpuhpStateTables.RegisteredOnlyOnSmp(name)) sb.Append(CultureInfo.InvariantCulture, $"{n,3}: {name}\n");
        return sb.ToString();
    }

    /// <summary>Set by CPU hotplug: device_online()/device_offline() of a CPU.</summary>
    internal Func<int, bool, Errno>? Change { get; set; }

    /// <summary>Models target_store() without CONFIG_CPU_HOTPLUG_STATE_CONTROL: only CPUHP_OFFLINE or CPUHP_ONLINE.</summary>
    private Errno TargetStore(int cpu, string value)
    {
        if (!int.TryParse(value.TrimEnd('\n'), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var t)) return Errno.EINVAL;
        if (t != Offline && t != Online) return Errno.EINVAL;
        return Change?.Invoke(cpu, t == Online) ?? Errno.EINVAL;
    }

    /// <summary>Models fail_store(), kernel/cpu.c (6.1).</summary>
    private Errno FailStore(int cpu, string value)
    {
        if (!int.TryParse(value.TrimEnd('\n'), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var fail)) return Errno.EINVAL;
        if (fail == Invalid) { _failValues!.Mut(cpu) = fail; return Errno.None; }
        if (fail < Offline || fail > Online) return Errno.EINVAL;
        // Cannot fail STARTING/DYING callbacks (cpuhp_is_atomic_state()).
        if (fail >= ApIdleDead && fail < ApOnline) return Errno.EINVAL;
        // Nor a state at or below CPUHP_BRINGUP_CPU while the CPU is above it: that would hinder rollback.
        if (fail <= BringupCpu && StateOf(cpu) > BringupCpu) return Errno.EINVAL;
        // Cannot fail anything that has no callbacks: unnamed states, and "offline", "ap:online", "online".
        if (!HasCallbacks(fail)) return Errno.EINVAL;
        _failValues!.Mut(cpu) = fail;
        return Errno.None;
    }

    private bool HasCallbacks(int state) =>
        state != Offline && state != Online && state != ApOnline && _table.Any(s => s.Number == state) && _table.First(s => s.Number == state).Name != "ap:offline";

    /// <summary>Models cpuhp_invoke_callback()'s injected failure on the way up (<paramref name="up"/>) or down: the
    /// state that fails (consumed: fail goes back to CPUHP_INVALID), or null when none lies on the way.</summary>
    internal int? TakeFailure(int cpu, bool up)
    {
        if (_failValues is null || cpu < 0 || cpu >= _fail.Length) return null;
        int f = _fail[cpu];
        if (f == Invalid) return null;
        int from = StateOf(cpu), to = up ? Online : Offline;
        bool onTheWay = up ? f > from && f <= to : f <= from && f > to;
        if (!onTheWay) return null;
        _failValues!.Mut(cpu) = Invalid;
        return f;
    }

    /// <summary>Whether a failure at <paramref name="state"/> on the way up comes after the AP was booted.</summary>
    internal bool AfterBringup(int state) => state > BringupCpu;
}
