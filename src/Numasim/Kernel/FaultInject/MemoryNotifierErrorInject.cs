using Numasim.Kernel.Hotplug;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.FaultInject;

/// <summary>
/// lib/notifier-error-inject.c and lib/memory-notifier-error-inject.c (CONFIG_MEMORY_NOTIFIER_ERROR_INJECT=m in
/// Debian's 6.1 and 6.12): a memory notifier that fails MEM_GOING_ONLINE or MEM_GOING_OFFLINE with the errno
/// written to /sys/kernel/debug/notifier-error-inject/memory/actions/ACTION/error. Its mutable state is the two
/// error values and whether it is registered.
/// </summary>
public sealed class MemoryNotifierErrorInject
{
    /// <summary>Where debugfs is mounted and the base module's directory (err_inject_init()).</summary>
    public const string DebugfsDir = "/sys/kernel/debug/notifier-error-inject";
    private const string Dir = DebugfsDir + "/memory";

    /// <summary>MAX_ERRNO, include/linux/err.h.</summary>
    private const int MaxErrno = 4095;

    /// <summary>S_IRUSR | S_IWUSR: notifier_err_inject_init()'s mode for the error files.</summary>
    private const int ErrorFileMode = 0x180;

    private readonly KernelContext _k;
    private readonly MemoryNotifierChain _chain;

    /// <summary>The module's state as a record of the compact state: loaded, its priority parameter, the two errors.</summary>
    private struct Values
    {
        public bool Loaded;
        public int Priority, GoingOnline, GoingOffline;
    }

    private readonly Snapshots.StateArray<Values> _v;
    private bool _registered; // whether Callback is on the chain now (follows Loaded; re-synced after a restore)

    internal MemoryNotifierErrorInject(KernelContext k, MemoryNotifierChain chain)
    {
        _k = k;
        _chain = chain;
        _v = new Snapshots.StateArray<Values>(k.State, "memory-notifier-error-inject", 1);
        // A restored state says whether the notifier is registered (with user callbacks of the same priority, its
        // place among them is then that of a registration at the restore).
        k.State.OnRestore(SyncChain);
    }

    private void SyncChain()
    {
        if (_v[0].Loaded == _registered) return;
        if (_v[0].Loaded) _chain.Register(Callback, _v[0].Priority);
        else _chain.Unregister(Callback);
        _registered = _v[0].Loaded;
    }

    public bool Loaded => _v[0].Loaded;

    /// <summary>The injected errors (0 or a negative errno) for MEM_GOING_ONLINE and MEM_GOING_OFFLINE.</summary>
    public int GoingOnlineError => _v[0].GoingOnline;
    public int GoingOfflineError => _v[0].GoingOffline;

    /// <summary>The debugfs directory memory/actions/ACTION/error, shown while the module is loaded.</summary>
    internal Sysfs.SysfsDirectory MemoryDir(Sysfs.SysfsDirectory parent, string name)
    {
        var d = new Sysfs.SysfsDirectory(name, parent);
        var actions = d.Dir("actions");
        actions.Dir("MEM_GOING_ONLINE").Attr("error", () => Show(_v[0].GoingOnline), v => Store(v, online: true), ErrorFileMode);
        actions.Dir("MEM_GOING_OFFLINE").Attr("error", () => Show(_v[0].GoingOffline), v => Store(v, online: false), ErrorFileMode);
        return d;
    }

    /// <summary>Models err_inject_init() of memory-notifier-error-inject: the debugfs files, then
    /// register_memory_notifier() at the module's priority parameter.</summary>
    public Errno Load(int priority)
    {
        if (Loaded) return Errno.EEXIST;
        _v.Mut(0) = new Values { Loaded = true, Priority = priority };
        _chain.Register(Callback, priority);
        _registered = true;
        return Errno.None;
    }

    /// <summary>Models err_inject_exit(): unregister_memory_notifier() and debugfs_remove_recursive(). The errors
    /// are static in the module, so a new load starts from 0 again.</summary>
    public Errno Unload()
    {
        if (!Loaded) return Errno.ENOENT;
        _chain.Unregister(Callback);
        _registered = false;
        _v.Mut(0) = default;
        return Errno.None;
    }

    /// <summary>Models notifier_err_inject_callback(): the action's error, announced with pr_info.</summary>
    private Errno Callback(MemoryAction action, MemoryNotify arg)
    {
        int err = action switch { MemoryAction.GoingOnline => _v[0].GoingOnline, MemoryAction.GoingOffline => _v[0].GoingOffline, _ => 0 };
        if (err == 0) return Errno.None;
        _k.Log.Printk($"Injecting error ({err}) to {(action == MemoryAction.GoingOnline ? "MEM_GOING_ONLINE" : "MEM_GOING_OFFLINE")}");
        return (Errno)(-err);
    }

    /// <summary>fops_errno's get: "%lld\n".</summary>
    private static string Show(int v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n";

    /// <summary>Models simple_attr_write_signed() (kstrtoll) and debugfs_errno_set(): clamp_t(int, val, -MAX_ERRNO, 0),
    /// the cast to int first.</summary>
    private Errno Store(string value, bool online)
    {
        var err = Kstrto.Ll(value, out var v);
        if (err != Errno.None) return err;
        int e = Math.Clamp(unchecked((int)v), -MaxErrno, 0);
        if (online) _v.Mut(0).GoingOnline = e;
        else _v.Mut(0).GoingOffline = e;
        return Errno.None;
    }
}
