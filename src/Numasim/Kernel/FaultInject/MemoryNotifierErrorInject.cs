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
    private int _goingOnline, _goingOffline;

    internal MemoryNotifierErrorInject(KernelContext k, MemoryNotifierChain chain)
    {
        _k = k;
        _chain = chain;
    }

    public bool Loaded { get; private set; }

    /// <summary>The injected errors (0 or a negative errno) for MEM_GOING_ONLINE and MEM_GOING_OFFLINE.</summary>
    public int GoingOnlineError => _goingOnline;
    public int GoingOfflineError => _goingOffline;

    /// <summary>Models err_inject_init() of memory-notifier-error-inject: the debugfs files, then
    /// register_memory_notifier() at the module's priority parameter.</summary>
    public Errno Load(int priority)
    {
        if (Loaded) return Errno.EEXIST;
        var actions = _k.Fs.MakeDirs(Dir + "/actions");
        actions.Dir("MEM_GOING_ONLINE").Attr("error", () => Show(_goingOnline), v => Store(ref _goingOnline, v), ErrorFileMode);
        actions.Dir("MEM_GOING_OFFLINE").Attr("error", () => Show(_goingOffline), v => Store(ref _goingOffline, v), ErrorFileMode);
        _chain.Register(Callback, priority);
        Loaded = true;
        return Errno.None;
    }

    /// <summary>Models err_inject_exit(): unregister_memory_notifier() and debugfs_remove_recursive(). The errors
    /// are static in the module, so a new load starts from 0 again.</summary>
    public Errno Unload()
    {
        if (!Loaded) return Errno.ENOENT;
        _chain.Unregister(Callback);
        ((SysfsDirectory)_k.Fs.Lookup(DebugfsDir)!).Remove("memory");
        _goingOnline = _goingOffline = 0;
        Loaded = false;
        return Errno.None;
    }

    /// <summary>Models notifier_err_inject_callback(): the action's error, announced with pr_info.</summary>
    private Errno Callback(MemoryAction action, MemoryNotify arg)
    {
        int err = action switch { MemoryAction.GoingOnline => _goingOnline, MemoryAction.GoingOffline => _goingOffline, _ => 0 };
        if (err == 0) return Errno.None;
        _k.Log.Printk($"Injecting error ({err}) to {(action == MemoryAction.GoingOnline ? "MEM_GOING_ONLINE" : "MEM_GOING_OFFLINE")}");
        return (Errno)(-err);
    }

    /// <summary>fops_errno's get: "%lld\n".</summary>
    private static string Show(int v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n";

    /// <summary>Models simple_attr_write_signed() (kstrtoll) and debugfs_errno_set(): clamp_t(int, val, -MAX_ERRNO, 0),
    /// the cast to int first.</summary>
    private static Errno Store(ref int field, string value)
    {
        var err = Kstrto.Ll(value, out var v);
        if (err != Errno.None) return err;
        field = Math.Clamp(unchecked((int)v), -MaxErrno, 0);
        return Errno.None;
    }
}
