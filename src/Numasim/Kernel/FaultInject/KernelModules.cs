using Numasim.Kernel.Drivers;
using Numasim.Kernel.Hotplug;

namespace Numasim.Kernel.FaultInject;

/// <summary>
/// The loadable modules the model has (kernel/module/main.c's view: a name, its modules.dep dependencies, init and
/// exit). Names are taken with '-' or '_' as modprobe does. The loaded set is this type's mutable state.
/// </summary>
public sealed class KernelModules
{
    private readonly KernelContext _k;
    private readonly KvmIntel _kvm;
    private readonly SortedSet<string> _loaded = new(StringComparer.Ordinal);

    internal KernelModules(KernelContext k, KvmIntel kvm, MemoryNotifierChain memoryNotifiers)
    {
        _k = k;
        _kvm = kvm;
        MemoryErrorInject = new MemoryNotifierErrorInject(k, memoryNotifiers);
    }

    public MemoryNotifierErrorInject MemoryErrorInject { get; }

    /// <summary>modules.dep of Debian's 6.1/6.12 packages for the modelled modules.</summary>
    private static readonly Dictionary<string, string[]> Deps = new(StringComparer.Ordinal)
    {
        ["kvm_intel"] = [],
        ["notifier_error_inject"] = [],
        ["memory_notifier_error_inject"] = ["notifier_error_inject"],
    };

    public static string Canonical(string name) => name.Replace('-', '_');

    public static bool Known(string name) => Deps.ContainsKey(Canonical(name));

    public bool IsLoaded(string name) => _loaded.Contains(Canonical(name));

    /// <summary>modprobe NAME [PARAMS]: dependencies first; an unknown module is ENOENT, a bad parameter EINVAL
    /// ("unknown parameter" is -ENOENT in the kernel's parse_args(), which load_module() returns).</summary>
    public Errno Modprobe(string name, string parameters, int cpu)
    {
        var n = Canonical(name);
        if (!Deps.TryGetValue(n, out var deps)) return Errno.ENOENT;
        if (_loaded.Contains(n)) return Errno.None; // modprobe of a loaded module succeeds and does nothing
        foreach (var d in deps)
        {
            var e = Modprobe(d, "", cpu);
            if (e != Errno.None) return e;
        }
        var err = Init(n, ParseParams(parameters), cpu);
        if (err == Errno.None) _loaded.Add(n);
        return err;
    }

    /// <summary>rmmod NAME: a module others depend on is in use (delete_module()'s -EWOULDBLOCK, i.e. EAGAIN).</summary>
    public Errno Rmmod(string name)
    {
        var n = Canonical(name);
        if (!_loaded.Contains(n)) return Errno.ENOENT;
        foreach (var other in _loaded)
            if (Deps[other].Contains(n)) return Errno.EAGAIN;
        var err = n switch
        {
            "kvm_intel" => _kvm.Rmmod(),
            "memory_notifier_error_inject" => MemoryErrorInject.Unload(),
            "notifier_error_inject" => RemoveBaseDir(),
            _ => Errno.None,
        };
        _loaded.Remove(n);
        return err;
    }

    private Errno Init(string n, Dictionary<string, string> p, int cpu)
    {
        switch (n)
        {
            case "kvm_intel":
                return p.Count > 0 ? Errno.ENOENT : _kvm.Modprobe(cpu);
            case "notifier_error_inject":
                if (p.Count > 0) return Errno.ENOENT;
                _k.Fs.MakeDirs(MemoryNotifierErrorInject.DebugfsDir);
                return Errno.None;
            case "memory_notifier_error_inject":
                int priority = 0;
                foreach (var (key, value) in p)
                {
                    if (key != "priority") return Errno.ENOENT;
                    if (Kstrto.Ll(value, out var v) != Errno.None || v < int.MinValue || v > int.MaxValue) return Errno.EINVAL;
                    priority = (int)v;
                }
                return MemoryErrorInject.Load(priority);
        }
        return Errno.ENOENT;
    }

    private Errno RemoveBaseDir()
    {
        if (_k.Fs.Lookup("/sys/kernel/debug") is Sysfs.SysfsDirectory d) d.Remove("notifier-error-inject");
        return Errno.None;
    }

    /// <summary>"a=1 b=2" as modprobe passes them.</summary>
    private static Dictionary<string, string> ParseParams(string parameters)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var kv in parameters.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = kv.IndexOf('=');
            d[eq < 0 ? kv : kv[..eq]] = eq < 0 ? "" : kv[(eq + 1)..];
        }
        return d;
    }
}
