using Numasim.Kernel.Log;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Sysfs;
using Numasim.Snapshots;

namespace Numasim.Kernel.Drivers;

/// <summary>drivers/base/cpu.c and drivers/base/topology.c: /sys/devices/system/cpu.</summary>
public sealed class CpuDevices
{
    public const string CpuRoot = "/sys/devices/system/cpu";
    private readonly KernelContext _k;

    // Which cpuN devices are registered (register_cpu()); the directories are views of it.
    private Bitmap? _registered;

    internal CpuDevices(KernelContext k) => _k = k;

    /// <summary>Whether the cpuN device is registered.</summary>
    public bool IsRegistered(int cpu) => _registered is { } r && r[cpu];

    /// <summary>The struct cpu device a cpuN directory's files are shown for.</summary>
    private sealed class CpuDevice(CpuDevices owner, int cpu)
    {
        public readonly CpuDevices Owner = owner;
        public readonly int Cpu = cpu;
        public CpuIdentity? Identity => Owner._k.Cpus.Identity(Cpu);
        public int NrCpuIds => Owner._k.Cpus.NrCpuIds;
    }

    /// <summary>cpu_root_attrs' per-CPU files, drivers/base/cpu.c (crash_notes with kexec).</summary>
    private static readonly AttributeGroup CpuGroup = new(
        DeviceAttribute.Const("crash_notes", "0\n"),
        DeviceAttribute.Const("crash_notes_size", "376\n"));

    /// <summary>dev_attr_online of a hot-pluggable CPU (drivers/base/core.c online_show()/online_store()).</summary>
    private static readonly AttributeGroup HotplugGroup = new(
        DeviceAttribute.Rw<CpuDevice>("online", c => SysfsFormat.Line(c.Owner._k.Cpus.Online[c.Cpu] ? 1 : 0), (c, v) => c.Owner.StoreOnline(c.Cpu, v)));

    /// <summary>topology_attr_group, drivers/base/topology.c.</summary>
    private static readonly AttributeGroup TopologyGroup = new([
        DeviceAttribute.Ro<CpuDevice>("physical_package_id", c => SysfsFormat.Line(c.Identity?.PackageId ?? -1)),
        DeviceAttribute.Ro<CpuDevice>("die_id", c => SysfsFormat.Line(c.Identity?.DieId ?? -1)),
        DeviceAttribute.Ro<CpuDevice>("core_id", c => SysfsFormat.Line(c.Identity?.CoreId ?? 0)),
        DeviceAttribute.Ro<CpuDevice>("cluster_id", c => SysfsFormat.Line(c.Identity is { } id ? (int)(id.ApicId >> c.Owner.ThreadBits()) : -1)),
        .. SiblingFiles("thread_siblings", sameCore: true, sameDie: true),
        .. SiblingFiles("core_cpus", sameCore: true, sameDie: true),
        .. SiblingFiles("cluster_cpus", sameCore: true, sameDie: true),
        .. SiblingFiles("core_siblings", sameCore: false, sameDie: false),
        .. SiblingFiles("package_cpus", sameCore: false, sameDie: false),
        .. SiblingFiles("die_cpus", sameCore: false, sameDie: true),
    ]);

    /// <summary>A sibling map as a mask file and a _list file.</summary>
    private static DeviceAttribute[] SiblingFiles(string name, bool sameCore, bool sameDie) =>
    [
        DeviceAttribute.Ro<CpuDevice>(name, c => SysfsFormat.Mask(c.Owner.Siblings(c.Cpu, sameCore, sameDie), c.NrCpuIds)),
        DeviceAttribute.Ro<CpuDevice>(name + "_list", c => SysfsFormat.List(c.Owner.Siblings(c.Cpu, sameCore, sameDie))),
    ];

    /// <summary>Set by the CPU hotplug code: cpuN/online stores go to device_online()/device_offline().</summary>
    internal Func<int, bool, Errno>? OnlineHandler { get; set; }

    /// <summary>Models cpu_dev_init(): the subsystem's own files.</summary>
    public void CpuDevInit()
    {
        var root = _k.Fs.MakeDirs(CpuRoot);
        var c = _k.Cpus;
        root.Attr("possible", () => SysfsFormat.List(c.Possible));
        root.Attr("present", () => SysfsFormat.List(c.Present));
        root.Attr("online", () => SysfsFormat.List(c.Online));
        root.Attr("offline", () =>
        {
            var off = c.Possible.Clone();
            foreach (var cpu in c.Online.Bits()) off.Clear(cpu);
            return SysfsFormat.List(off);
        });
        root.Attr("kernel_max", () => SysfsFormat.Line(NumaConstants.NrCpus - 1));
        root.Attr("isolated", () => "\n");
        DeviceCommon.AddUeventAndPower(root);
        var registered = _registered = new Bitmap(new StateArray<ulong>(_k.State, "cpu devices", Bitmap.WordsFor(c.NrCpuIds)), 0, c.NrCpuIds);
        root.AddSource(new NumberedSource("cpu", ids => { foreach (var n in registered.Bits()) ids.Add(n); },
            n => n < c.NrCpuIds && registered[(int)n], (p, name, n) => CpuDir(p, name, (int)n)));
        _k.Fs.MakeDirs("/sys/bus/cpu/devices").AddSource(new NumberedSource("cpu", ids => { foreach (var n in registered.Bits()) ids.Add(n); },
            n => n < c.NrCpuIds && registered[(int)n], (_, name, _) => new SysfsLink(name, $"{CpuRoot}/{name}")));
    }

    /// <summary>The cpuN directory as register_cpu() made it, with its node link and, while the CPU is up, topology/.</summary>
    private SysfsDirectory CpuDir(SysfsDirectory parent, string name, int cpu)
    {
        var d = new SysfsDirectory(name, parent);
        var device = new CpuDevice(this, cpu);
        if (cpu != 0) d.AddGroup(HotplugGroup, device);
        d.AddGroup(CpuGroup);
        d.Link("subsystem", "/sys/bus/cpu");
        d.Link("firmware_node", $"/sys/devices/LNXSYSTM:00/LNXCPU:{cpu:x2}");
        DeviceCommon.AddUeventAndPower(d);
        if (Nodes?.CpuLinkNode(cpu) is >= 0 and var nid) d.Link($"node{nid}", $"{NodeDevices.NodeRoot}/node{nid}");
        if (_k.Cpus.Online[cpu]) d.Dir("topology").AddGroup(TopologyGroup, device);
        Extras?.Invoke(d, cpu);
        return d;
    }

    /// <summary>What other subsystems add to a cpuN directory (cpuhp_sysfs_init()'s hotplug/ files).</summary>
    internal Action<SysfsDirectory, int>? Extras { get; set; }

    /// <summary>The node devices, for the cpuN/nodeM link.</summary>
    internal NodeDevices? Nodes { get; set; }

    /// <summary>Models register_cpu() (arch_register_cpu()): the cpuN device, its online file (not for cpu0, which
    /// x86 cannot unplug), and its node link through register_cpu_under_node().</summary>
    public void RegisterCpu(int cpu, NodeDevices nodes)
    {
        _registered!.Set(cpu);
        _k.Uevents.Emit(UeventAction.Add, $"/devices/system/cpu/cpu{cpu}", "cpu");
        nodes.RegisterCpuUnderNode(cpu, _k.Cpus.CpuToNode(cpu));
    }

    /// <summary>Models unregister_cpu().</summary>
    public void UnregisterCpu(int cpu, NodeDevices nodes)
    {
        int nid = _k.Cpus.CpuToNode(cpu);
        if (nid >= 0) nodes.UnregisterCpuUnderNode(cpu, nid);
        // The cpuN directory goes, and with it its side of any node link.
        if (nodes.CpuLinkNode(cpu) is >= 0 and var other) nodes.UnregisterCpuUnderNode(cpu, other);
        _registered!.Clear(cpu);
        _k.Uevents.Emit(UeventAction.Remove, $"/devices/system/cpu/cpu{cpu}", "cpu");
    }

    /// <summary>cpuN/online exists: the device is registered and hot-pluggable (not cpu0).</summary>
    internal bool HasOnlineFile(int cpu) => cpu != 0 && IsRegistered(cpu);

    /// <summary>A write of cpuN/online as sysfs hands it to the file's store() (for callers that know the file exists).</summary>
    internal Errno WriteOnlineFile(int cpu, string value) => StoreOnline(cpu, value);

    /// <summary>Models online_store() of a CPU device: kstrtobool, then device_online()/device_offline().</summary>
    private Errno StoreOnline(int cpu, string value)
    {
        using var call = _k.Trace.Call("online_store", "drivers/base/core.c", $"cpu{cpu} <- \"{value.TrimEnd('\n')}\"");
        var b = DeviceCommon.KstrToBool(value);
        if (b is null) return _k.Trace.Fail(Errno.EINVAL, $"kstrtobool(\"{value.TrimEnd('\n')}\"): not a boolean");
        return OnlineHandler?.Invoke(cpu, b.Value) ?? Errno.EBUSY;
    }

    /// <summary>APIC id bits of the SMT thread field as the guest sees it (none when CPUID reports no SMT).</summary>
    private int ThreadBits()
    {
        if (!_k.Machine.CpuidReportsSmt) return 0;
        int threads = Math.Max(1, _k.Machine.Smp.Threads);
        return threads == 1 ? 0 : 32 - System.Numerics.BitOperations.LeadingZeroCount((uint)(threads - 1));
    }

    /// <summary>The sibling maps set_cpu_sibling_map() keeps: online CPUs sharing the package (and die/core).</summary>
    private Bitmap Siblings(int cpu, bool sameCore, bool sameDie)
    {
        var m = new Bitmap(_k.Cpus.NrCpuIds);
        var me = _k.Cpus.Identity(cpu);
        if (me is null) return m;
        foreach (var other in _k.Cpus.Online.Bits())
        {
            var o = _k.Cpus.Identity(other);
            if (o is null || o.PackageId != me.PackageId) continue;
            if (sameDie && o.DieId != me.DieId) continue;
            if (sameCore && (o.CoreId != me.CoreId || o.DieId != me.DieId)) continue;
            m.Set(other);
        }
        m.Set(cpu);
        return m;
    }
}
