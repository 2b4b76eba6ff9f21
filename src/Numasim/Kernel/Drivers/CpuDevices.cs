using Numasim.Kernel.Log;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Drivers;

/// <summary>drivers/base/cpu.c and drivers/base/topology.c: /sys/devices/system/cpu.</summary>
public sealed class CpuDevices
{
    public const string CpuRoot = "/sys/devices/system/cpu";
    private readonly KernelContext _k;

    private SysfsDirectory? _root, _busDevices;

    private readonly CacheInfo _caches;

    internal CpuDevices(KernelContext k)
    {
        _k = k;
        _caches = new CacheInfo(k);
    }

    /// <summary>/sys/devices/system/cpu; null until cpu_dev_init() made it.</summary>
    private SysfsDirectory? RootOrNull => _root ??= _k.Fs.Lookup(CpuRoot) as SysfsDirectory;

    private SysfsDirectory Root => RootOrNull!;

    /// <summary>/sys/bus/cpu/devices.</summary>
    private SysfsDirectory BusDevices => _busDevices ??= _k.Fs.MakeDirs("/sys/bus/cpu/devices");

    /// <summary>The cpuN device directory, or null when the CPU is not registered.</summary>
    internal SysfsDirectory? CpuDir(int cpu) => RootOrNull?.Child($"cpu{cpu}") as SysfsDirectory;

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
        CpuReports.RegisterVulnerabilities(_k, root);
        CpuRootFiles.Register(_k, root);
        _ = BusDevices;
    }

    /// <summary>Models register_cpu() (arch_register_cpu()): the cpuN device, its online file (not for cpu0, which
    /// x86 cannot unplug), and its node link through register_cpu_under_node().</summary>
    public void RegisterCpu(int cpu, NodeDevices nodes)
    {
        var d = Root.Dir($"cpu{cpu}");
        var device = new CpuDevice(this, cpu);
        if (cpu != 0) d.AddGroup(HotplugGroup, device);
        d.AddGroup(CpuGroup, device);
        d.Link("subsystem", "/sys/bus/cpu");
        // QEMU's build_cpus_aml() declares every possible CPU inside \_SB.CPUS, a processor container (ACPI0010)
        d.Link("firmware_node", $"/sys/devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0010:00/LNXCPU:{cpu:x2}");
        DeviceCommon.AddPower(d);
        CpuRootFiles.BindProcessorDriver(_k, d);
        d.GetOrAddDir("power").AddGroup(CpuPmQosGroup); // register_cpu(): dev_pm_qos_expose_latency_limit(dev, 0)
        BusDevices.Link($"cpu{cpu}", $"{CpuRoot}/cpu{cpu}");
        _k.Uevents.Emit(UeventAction.Add, $"/devices/system/cpu/cpu{cpu}", "cpu");
        nodes.RegisterCpuUnderNode(cpu, _k.Cpus.CpuToNode(cpu), d);
        if (_k.Cpus.Online[cpu]) AddTopology(cpu, d);
        CpuReports.RegisterCpufreq(_k, cpu, Root, d);
    }

    /// <summary>Models unregister_cpu().</summary>
    public void UnregisterCpu(int cpu, NodeDevices nodes)
    {
        int nid = _k.Cpus.CpuToNode(cpu);
        if (nid >= 0) nodes.UnregisterCpuUnderNode(cpu, nid);
        Root.Remove($"cpu{cpu}");
        BusDevices.Remove($"cpu{cpu}");
        _k.Uevents.Emit(UeventAction.Remove, $"/devices/system/cpu/cpu{cpu}", "cpu");
    }

    /// <summary>Models online_store() of a CPU device: kstrtobool, then device_online()/device_offline().</summary>
    private Errno StoreOnline(int cpu, string value)
    {
        using var call = _k.Trace.Call("online_store", "drivers/base/core.c", $"cpu{cpu} <- \"{value.TrimEnd('\n')}\"");
        var b = DeviceCommon.KstrToBool(value);
        if (b is null) return _k.Trace.Fail(Errno.EINVAL, $"kstrtobool(\"{value.TrimEnd('\n')}\"): not a boolean");
        return OnlineHandler?.Invoke(cpu, b.Value) ?? Errno.EBUSY;
    }

    /// <summary>Models topology_add_dev() (CPUHP_TOPOLOGY_PREPARE) and cacheinfo_cpu_online() (CPUHP_AP_BASE_CACHEINFO_ONLINE):
    /// cpuN/topology/ and cpuN/cache/ exist while the CPU is up.</summary>
    public void AddTopology(int cpu) => AddTopology(cpu, CpuDir(cpu));

    private void AddTopology(int cpu, SysfsDirectory? d)
    {
        if (d is null) return;
        if (d.Child("topology") is null)
            d.Dir("topology").AddGroup(_k.Profile.TopologyHasDieClusterFiles ? TopologyGroup : TopologyGroupV4, new CpuDevice(this, cpu));
        _caches.AddCacheDir(cpu, d);
    }

    /// <summary>Models topology_remove_dev() and cacheinfo_cpu_pre_down().</summary>
    public void RemoveTopology(int cpu)
    {
        var d = CpuDir(cpu);
        d?.Remove("topology");
        CacheInfo.RemoveCacheDir(d);
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
