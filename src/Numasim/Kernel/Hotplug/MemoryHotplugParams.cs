using System.Globalization;
using Numasim.Kernel.Init;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Hotplug;

/// <summary>memory_hotplug.online_policy values (online_policy_to_str[], mm/memory_hotplug.c).</summary>
public enum OnlinePolicy { ContigZones, AutoMovable }

/// <summary>memory_hotplug.memmap_on_memory modes: a bool in v6.1, MEMMAP_ON_MEMORY_{DISABLE,ENABLE,FORCE} in v6.12.</summary>
public enum MemmapOnMemoryMode { Disable, Enable, Force }

/// <summary>
/// The module parameters of the built-in memory_hotplug "module" (mm/memory_hotplug.c, v5.15+):
/// memmap_on_memory (0444), online_policy, auto_movable_ratio, auto_movable_numa_aware (0644). Set from the
/// command line ("memory_hotplug.online_policy=auto-movable") and, where writable, through
/// /sys/module/memory_hotplug/parameters/. Mutable kernel state (see docs: folded into the compact state later).
/// </summary>
public sealed class MemoryHotplugParams
{
    private readonly Profiles.KernelProfile _profile;

    // The four parameters (and whether force was ever set) as one record of the compact state: sysfs writes change
    // them after boot.
    private struct Values
    {
        public OnlinePolicy OnlinePolicy;
        public uint AutoMovableRatio;
        public bool AutoMovableNumaAware, ForceModeSet;
        public MemmapOnMemoryMode MemmapOnMemory;
    }

    private readonly Snapshots.StateValue<Values> _v;

    internal MemoryHotplugParams(Profiles.KernelProfile profile, Snapshots.StateStore store)
    {
        _profile = profile;
        _v = new Snapshots.StateValue<Values>(store, "memory_hotplug parameters", new Values
        {
            OnlinePolicy = OnlinePolicy.ContigZones, AutoMovableRatio = 301, AutoMovableNumaAware = true,
            MemmapOnMemory = MemmapOnMemoryMode.Disable,
        });
    }

    public OnlinePolicy OnlinePolicy { get => _v.Value.OnlinePolicy; private set => _v.Mut.OnlinePolicy = value; }

    /// <summary>auto_movable_ratio: the MOVABLE:KERNEL ratio in percent (default 301).</summary>
    public uint AutoMovableRatio { get => _v.Value.AutoMovableRatio; private set => _v.Mut.AutoMovableRatio = value; }

    /// <summary>auto_movable_numa_aware: the ratio holds per node as well (default true with CONFIG_NUMA).</summary>
    public bool AutoMovableNumaAware { get => _v.Value.AutoMovableNumaAware; private set => _v.Mut.AutoMovableNumaAware = value; }

    public MemmapOnMemoryMode MemmapOnMemory { get => _v.Value.MemmapOnMemory; private set => _v.Mut.MemmapOnMemory = value; }

    /// <summary>The parameter names, as /sys/module/memory_hotplug/parameters lists them.</summary>
    public static readonly string[] Names = ["auto_movable_numa_aware", "auto_movable_ratio", "memmap_on_memory", "online_policy"];

    /// <summary>Whether this kernel has the parameters at all (v4.x has none: "memory_hotplug.x" is then an unused
    /// module parameter, silently ignored).</summary>
    public bool Exist => _profile.MemoryHotplugModuleParams;

    /// <summary>Models the kernel_param_ops set() of each parameter: 0 or the errno parse_args() reports.
    /// <paramref name="value"/> is null for a bare name on the command line.</summary>
    public Errno Set(string name, string? value)
    {
        switch (name)
        {
            case "online_policy":
                // set_online_policy(): sysfs_match_string(); a NULL value is -EINVAL in parse_one().
                if (value is null) return Errno.EINVAL;
                if (Drivers.DeviceCommon.SysfsStreq(value, "contig-zones")) OnlinePolicy = OnlinePolicy.ContigZones;
                else if (Drivers.DeviceCommon.SysfsStreq(value, "auto-movable")) OnlinePolicy = OnlinePolicy.AutoMovable;
                else return Errno.EINVAL;
                return Errno.None;
            case "auto_movable_ratio":
            {
                var err = CmdlineParsing.KstrToUint(value, out var ratio);
                if (err == Errno.None) AutoMovableRatio = ratio;
                return err;
            }
            case "auto_movable_numa_aware":
            {
                // param_set_bool(): no value means "set".
                var b = CmdlineParsing.KstrToBool(value ?? "1");
                if (b is null) return Errno.EINVAL;
                AutoMovableNumaAware = b.Value;
                return Errno.None;
            }
            case "memmap_on_memory":
                return SetMemmapOnMemory(value);
            default:
                return Errno.ENOENT;
        }
    }

    /// <summary>v6.1: param_set_bool(). v6.12: set_memmap_mode(): "force"/"FORCE", else kstrtobool(); no NOARG flag.</summary>
    private Errno SetMemmapOnMemory(string? value)
    {
        if (!_profile.MemmapOnMemoryForceMode)
        {
            var b = CmdlineParsing.KstrToBool(value ?? "1");
            if (b is null) return Errno.EINVAL;
            MemmapOnMemory = b.Value ? MemmapOnMemoryMode.Enable : MemmapOnMemoryMode.Disable;
            return Errno.None;
        }
        if (value is null) return Errno.EINVAL;
        if (Drivers.DeviceCommon.SysfsStreq(value, "force") || Drivers.DeviceCommon.SysfsStreq(value, "FORCE"))
        {
            MemmapOnMemory = MemmapOnMemoryMode.Force;
            ForceModeSet = true;
            return Errno.None;
        }
        var e = CmdlineParsing.KstrToBool(value);
        if (e is null) return Errno.EINVAL;
        MemmapOnMemory = e.Value ? MemmapOnMemoryMode.Enable : MemmapOnMemoryMode.Disable;
        return Errno.None;
    }

    /// <summary>set_memmap_mode() took "force": it then prints how many pages each block wastes (pr_info_once).</summary>
    internal bool ForceModeSet { get => _v.Value.ForceModeSet; private set => _v.Mut.ForceModeSet = value; }

    /// <summary>Models the get() of each parameter (param_get_bool "Y"/"N", param_get_uint, get_online_policy,
    /// v6.12's get_memmap_mode()), with the newline.</summary>
    public string Get(string name) => name switch
    {
        "online_policy" => (OnlinePolicy == OnlinePolicy.AutoMovable ? "auto-movable" : "contig-zones") + "\n",
        "auto_movable_ratio" => AutoMovableRatio.ToString(CultureInfo.InvariantCulture) + "\n",
        "auto_movable_numa_aware" => (AutoMovableNumaAware ? "Y" : "N") + "\n",
        "memmap_on_memory" => MemmapOnMemory switch
        {
            MemmapOnMemoryMode.Force => "force\n",
            MemmapOnMemoryMode.Enable => "Y\n",
            _ => "N\n",
        },
        _ => throw new ArgumentOutOfRangeException(nameof(name)),
    };

    /// <summary>Models param_sysfs_builtin() for memory_hotplug: /sys/module/memory_hotplug/parameters/*, with
    /// the modes the module_param() lines give (memmap_on_memory 0444: a write is EACCES, as kernfs_fop_open() gives).</summary>
    internal void RegisterSysfs(SysfsTree fs)
    {
        if (!Exist) return;
        var mod = fs.MakeDirs("/sys/module/memory_hotplug");
        mod.Attr("uevent", null, _ => Errno.None);
        var dir = mod.Dir("parameters");
        foreach (var name in Names)
        {
            var n = name;
            if (n == "memmap_on_memory") dir.Attr(n, () => Get(n));
            else dir.Attr(n, () => Get(n), v => Set(n, v), 0x1a4);
        }
    }
}
