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

    private readonly CacheInfo _caches;

    internal CpuDevices(KernelContext k)
    {
        _k = k;
        _caches = new CacheInfo(k);
    }

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
        DeviceAttribute.Ro<CpuDevice>("crash_notes", c => $"{Mm.CrashNotes.PhysOf(c.Owner._k, c.Cpu):x}\n"),
        DeviceAttribute.Ro<CpuDevice>("crash_notes_size", c => SysfsFormat.Line(c.Owner._k.Profile.Build.CrashNotesBytes)));

    /// <summary>pm_qos_resume_latency_us, drivers/base/power/sysfs.c (the resume latency limit register_cpu() exposes).</summary>
    private static readonly AttributeGroup CpuPmQosGroup = new(DeviceAttribute.Const("pm_qos_resume_latency_us", "0\n"));

    /// <summary>dev_attr_online of a hot-pluggable CPU (drivers/base/core.c online_show()/online_store()).</summary>
    private static readonly AttributeGroup HotplugGroup = new(
        DeviceAttribute.Rw<CpuDevice>("online", c => SysfsFormat.Line(c.Owner._k.Cpus.Online[c.Cpu] ? 1 : 0), (c, v) => c.Owner.StoreOnline(c.Cpu, v)));

    /// <summary>topology_attr_group, drivers/base/topology.c (x86: cluster_id is cpu_l2c_id, BAD_APICID 0xffff when the
    /// L2 cache id was not set up, as on AMD's qemu64).</summary>
    private static readonly AttributeGroup TopologyGroup = new([
        DeviceAttribute.Ro<CpuDevice>("physical_package_id", c => SysfsFormat.Line(c.Identity?.PackageId ?? -1)),
        DeviceAttribute.Ro<CpuDevice>("die_id", c => SysfsFormat.Line(c.Identity?.DieId ?? -1)),
        DeviceAttribute.Ro<CpuDevice>("core_id", c => SysfsFormat.Line(c.Identity?.CoreId ?? 0)),
        DeviceAttribute.Ro<CpuDevice>("cluster_id", c => SysfsFormat.Line(c.Identity is { L2cId: >= 0 } id ? id.L2cId : 0xffff)),
        .. SiblingFiles("thread_siblings", SiblingLevel.Smt),
        .. SiblingFiles("core_cpus", SiblingLevel.Smt),
        .. SiblingFiles("cluster_cpus", SiblingLevel.Cluster),
        .. SiblingFiles("core_siblings", SiblingLevel.Package),
        .. SiblingFiles("package_cpus", SiblingLevel.Package),
        .. SiblingFiles("die_cpus", SiblingLevel.Die),
    ]);

    /// <summary>topology_attr_group before 5.2 (KernelProfile.TopologyHasDieClusterFiles false).</summary>
    private static readonly AttributeGroup TopologyGroupV4 = new([
        DeviceAttribute.Ro<CpuDevice>("physical_package_id", c => SysfsFormat.Line(c.Identity?.PackageId ?? -1)),
        DeviceAttribute.Ro<CpuDevice>("core_id", c => SysfsFormat.Line(c.Identity?.CoreId ?? 0)),
        .. SiblingFiles("thread_siblings", SiblingLevel.Smt),
        .. SiblingFiles("core_siblings", SiblingLevel.Package),
    ]);

    /// <summary>The masks set_cpu_sibling_map() keeps: SMT (cpu_sibling_map), L2 cluster (cpu_l2c_shared_map), die
    /// (cpu_die_map) and package (cpu_core_map).</summary>
    private enum SiblingLevel { Smt, Cluster, Die, Package }

    /// <summary>A sibling map as a mask file and a _list file.</summary>
    private static DeviceAttribute[] SiblingFiles(string name, SiblingLevel level) =>
    [
        DeviceAttribute.Ro<CpuDevice>(name, c => SysfsFormat.Mask(c.Owner.Siblings(c.Cpu, level), c.NrCpuIds)),
        DeviceAttribute.Ro<CpuDevice>(name + "_list", c => SysfsFormat.List(c.Owner.Siblings(c.Cpu, level))),
    ];

    /// <summary>Set by the CPU hotplug code: cpuN/online stores go to device_online()/device_offline().</summary>
    internal Func<int, bool, Errno>? OnlineHandler { get; set; }

    /// <summary>Models cacheinfo_cpu_online()'s shared_cpu_map setup for a CPU that came online.</summary>
    public void CacheOnline(int cpu) => _caches.CpuOnline(cpu);

    /// <summary>Models cpu_dev_init(): the subsystem's own files.</summary>
    public void CpuDevInit()
    {
        _caches.Init();
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
        CpuReports.RegisterVulnerabilities(_k, root);
        CpuRootFiles.Register(_k, root);
        var registered = _registered = new Bitmap(new StateArray<ulong>(_k.State, "cpu devices", Bitmap.WordsFor(c.NrCpuIds)), 0, c.NrCpuIds);
        root.AddSource(new NumberedSource("cpu", ids => { foreach (var n in registered.Bits()) ids.Add(n); },
            n => n < c.NrCpuIds && registered[(int)n], (p, name, n) => CpuDir(p, name, (int)n)));
        _k.Fs.MakeDirs("/sys/bus/cpu/devices").AddSource(new NumberedSource("cpu", ids => { foreach (var n in registered.Bits()) ids.Add(n); },
            n => n < c.NrCpuIds && registered[(int)n], (_, name, _) => new SysfsLink(name, $"{CpuRoot}/{name}")));
        _cpufreq = CpuReports.CpufreqPolicies(_k, root);
    }

    // cpufreq/policyN made by cpufreq_add_dev() (CpuReports), as compact state; null on a machine without cpufreq.
    private CpuReports.Policies? _cpufreq;

    /// <summary>The cpuN directory as register_cpu() made it, with its node link and, while the CPU is up, topology/ and
    /// cache/ (topology_add_dev() and cacheinfo_cpu_online() at CPUHP_TOPOLOGY_PREPARE and CPUHP_AP_BASE_CACHEINFO_ONLINE;
    /// topology_remove_dev() and cacheinfo_cpu_pre_down() take them away): a view of cpu_online_mask.</summary>
    private SysfsDirectory CpuDir(SysfsDirectory parent, string name, int cpu)
    {
        var d = new SysfsDirectory(name, parent);
        var device = new CpuDevice(this, cpu);
        if (cpu != 0) d.AddGroup(HotplugGroup, device);
        d.AddGroup(CpuGroup, device);
        d.Link("subsystem", "/sys/bus/cpu");
        // QEMU's build_cpus_aml() declares every possible CPU inside \_SB.CPUS, a processor container (ACPI0010)
        d.Link("firmware_node", $"/sys/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0010:00/LNXCPU:{cpu:x2}");
        DeviceCommon.AddPower(d);
        CpuRootFiles.BindProcessorDriver(_k, d);
        d.GetOrAddDir("power").AddGroup(CpuPmQosGroup); // register_cpu(): dev_pm_qos_expose_latency_limit(dev, 0)
        if (Nodes?.CpuLinkNode(cpu) is >= 0 and var nid) d.Link($"node{nid}", $"{NodeDevices.NodeRoot}/node{nid}");
        if (_k.Cpus.Online[cpu])
        {
            d.Dir("topology").AddGroup(_k.Profile.TopologyHasDieClusterFiles ? TopologyGroup : TopologyGroupV4, device);
            _caches.AddCacheDir(cpu, d);
        }
        _cpufreq?.LinkFrom(cpu, d);
        Extras?.Invoke(d, cpu);
        return d;
    }

    /// <summary>What other subsystems add to a cpuN directory (cpuhp_sysfs_init()'s hotplug/ files).</summary>
    internal Action<SysfsDirectory, int>? Extras { get; set; }

    /// <summary>The node devices, for the cpuN/nodeM link.</summary>
    internal NodeDevices? Nodes { get; set; }

    /// <summary>Models register_cpu() (arch_register_cpu()): the cpuN device, its online file (not for cpu0, which
    /// x86 cannot unplug), its node link through register_cpu_under_node(), and its cpufreq policy.</summary>
    public void RegisterCpu(int cpu, NodeDevices nodes)
    {
        _registered!.Set(cpu);
        _k.Uevents.Emit(UeventAction.Add, $"/devices/system/cpu/cpu{cpu}", "cpu");
        nodes.RegisterCpuUnderNode(cpu, _k.Cpus.CpuToNode(cpu));
        _cpufreq?.Add(cpu);
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

    /// <summary>Models set_cpu_sibling_map()'s match_smt() (same package and die, and the same core or, with topoext,
    /// the same AMD compute unit), match_l2c() (the same L2 id on the same node; without one, the SMT siblings),
    /// match_die() and match_pkg(), over the online CPUs.</summary>
    private Bitmap Siblings(int cpu, SiblingLevel level)
    {
        var m = new Bitmap(_k.Cpus.NrCpuIds);
        var me = _k.Cpus.Identity(cpu);
        if (me is null) return m;
        if (level == SiblingLevel.Cluster && me.L2cId < 0) level = SiblingLevel.Smt;
        foreach (var other in _k.Cpus.Online.Bits())
        {
            var o = _k.Cpus.Identity(other);
            if (o is not null && Matches(me, o, level, cpu, other)) m.Set(other);
        }
        m.Set(cpu);
        return m;
    }

    private bool Matches(CpuIdentity me, CpuIdentity o, SiblingLevel level, int cpu, int other) => level switch
    {
        SiblingLevel.Cluster => o.L2cId == me.L2cId && _k.Cpus.CpuToNode(cpu) == _k.Cpus.CpuToNode(other),
        SiblingLevel.Package => o.PackageId == me.PackageId,
        SiblingLevel.Die => o.PackageId == me.PackageId && o.DieId == me.DieId,
        _ => o.PackageId == me.PackageId && o.DieId == me.DieId
            && (o.CoreId == me.CoreId || (me.ComputeUnitId >= 0 && o.ComputeUnitId == me.ComputeUnitId)),
    };
}
