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
    // Compact state: which modules are loaded (by their index in Names), and whether debugfs's
    // notifier-error-inject directory was ever made (its parents stay after the module goes).
    private readonly Snapshots.StateArray<bool> _loadedBits;
    private readonly Snapshots.StateArray<bool> _debugMade;
    private static readonly string[] Names = ["kvm_intel", "notifier_error_inject", "memory_notifier_error_inject"];

    internal KernelModules(KernelContext k, KvmIntel kvm, MemoryNotifierChain memoryNotifiers)
    {
        _k = k;
        _kvm = kvm;
        MemoryErrorInject = new MemoryNotifierErrorInject(k, memoryNotifiers);
        _loadedBits = new Snapshots.StateArray<bool>(k.State, "modules loaded", Names.Length);
        _debugMade = new Snapshots.StateArray<bool>(k.State, "debugfs notifier-error-inject made", 1);
    }

    /// <summary>/sys/kernel/debug/notifier-error-inject[/memory] as views of the loaded modules (made once boot made /sys).</summary>
    internal void SysfsInit()
    {
        var sys = _k.Fs.MakeDirs("/sys");
        Sysfs.SysfsDirectory Debug(Sysfs.SysfsDirectory p2, string n2)
        {
            var debug = new Sysfs.SysfsDirectory(n2, p2);
            debug.AddSource(new Sysfs.ConditionalSource("notifier-error-inject", () => IsLoaded("notifier_error_inject"), (p3, n3) =>
            {
                var nei = new Sysfs.SysfsDirectory(n3, p3);
                nei.AddSource(new Sysfs.ConditionalSource("memory", () => MemoryErrorInject.Loaded, MemoryErrorInject.MemoryDir));
                return nei;
            }));
            return debug;
        }
        // /sys/kernel may already hold what other subsystems made (memory tiering's mm/numa): debug/ goes inside it
        if (sys.Child("kernel") is Sysfs.SysfsDirectory kernelDir)
        {
            kernelDir.AddSource(new Sysfs.ConditionalSource("debug", () => _debugMade[0], Debug));
            return;
        }
        sys.AddSource(new Sysfs.ConditionalSource("kernel", () => _debugMade[0], (p, n) =>
        {
            var kernel = new Sysfs.SysfsDirectory(n, p);
            kernel.AddSource(new Sysfs.ConditionalSource("debug", () => true, Debug));
            return kernel;
        }));
    }

    private sealed class LoadedSet(KernelModules m)
    {
        public bool Contains(string n) => m._loadedBits[Array.IndexOf(Names, n)];
        public void Add(string n) => m._loadedBits.Mut(Array.IndexOf(Names, n)) = true;
        public void Remove(string n) => m._loadedBits.Mut(Array.IndexOf(Names, n)) = false;
        public IEnumerable<string> All() { for (int i = 0; i < Names.Length; i++) if (m._loadedBits[i]) yield return Names[i]; }
    }

    private LoadedSet _loaded => new(this);

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
        foreach (var other in _loaded.All())
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
                if (!_debugMade[0]) _debugMade.Mut(0) = true;
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

    /// <summary>The base module's directory goes with it (a view of the loaded set); /sys/kernel/debug stays.</summary>
    private static Errno RemoveBaseDir() => Errno.None;

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
