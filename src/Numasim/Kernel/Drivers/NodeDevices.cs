using System.Text;
using Numasim.Kernel.Log;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Drivers;

/// <summary>drivers/base/node.c: the node subsystem's sysfs (node/ and nodeN/) and the CPU/memory links.</summary>
public sealed class NodeDevices
{
    public const string NodeRoot = "/sys/devices/system/node";
    private readonly KernelContext _k;
    private readonly NodeMeminfo _meminfo;

    internal NodeDevices(KernelContext k, NodeMeminfo meminfo)
    {
        _k = k;
        _meminfo = meminfo;
    }

    /// <summary>Models node_dev_init(): the subsystem files, then register_one_node() for each online node.</summary>
    public void NodeDevInit()
    {
        var root = _k.Fs.MakeDirs(NodeRoot);
        root.Attr("possible", () => SysfsFormat.List(_k.NodeStates[NodeState.Possible]));
        root.Attr("online", () => SysfsFormat.List(_k.NodeStates[NodeState.Online]));
        root.Attr("has_normal_memory", () => SysfsFormat.List(_k.NodeStates[NodeState.NormalMemory]));
        root.Attr("has_memory", () => SysfsFormat.List(_k.NodeStates[NodeState.Memory]));
        root.Attr("has_cpu", () => SysfsFormat.List(_k.NodeStates[NodeState.Cpu]));
        root.Attr("has_generic_initiator", () => SysfsFormat.List(_k.NodeStates[NodeState.GenericInitiator]));
        DeviceCommon.AddUeventAndPower(root);
        _k.Fs.MakeDirs("/sys/bus/node/devices");
        foreach (var nid in _k.NodeStates[NodeState.Online].Bits().ToList())
            RegisterOneNode(nid);
    }

    /// <summary>Models register_one_node(): __register_one_node() plus the memory block links of the node.</summary>
    public void RegisterOneNode(int nid)
    {
        if (!_k.NodeStates.Has(nid, NodeState.Online)) return;
        RegisterNodeDevice(nid);
        foreach (var mb in _k.AllMemoryBlocks)
            if (mb.Nid == nid) LinkMemoryBlock(mb, nid);
    }

    /// <summary>Models __register_one_node(): the nodeN device, and a link for each present CPU whose
    /// cpu_to_node() is this node (the association the seed's fix keeps).</summary>
    public void RegisterNodeDevice(int nid)
    {
        var root = (SysfsDirectory)_k.Fs.Lookup(NodeRoot)!;
        if (root.Child($"node{nid}") is not null) return;
        var d = root.Dir($"node{nid}");
        d.Attr("cpumap", () => SysfsFormat.Mask(OnlineCpusOf(nid), _k.Cpus.NrCpuIds));
        d.Attr("cpulist", () => SysfsFormat.List(OnlineCpusOf(nid)));
        d.Attr("meminfo", () => _meminfo.Show(nid));
        d.Attr("numastat", () => _meminfo.Numastat(nid));
        d.Attr("vmstat", () => _meminfo.Vmstat(nid));
        d.Attr("distance", () => Distance(nid));
        d.Attr("compact", null, _ => Errno.None);
        var huge = d.Dir("hugepages");
        foreach (var size in new[] { "hugepages-1048576kB", "hugepages-2048kB" })
        {
            var h = huge.Dir(size);
            h.Attr("free_hugepages", () => "0\n");
            h.Attr("nr_hugepages", () => "0\n", v => v.Trim() == "0" ? Errno.None : Errno.EINVAL);
            h.Attr("surplus_hugepages", () => "0\n");
        }
        d.Dir("x86").Attr("sgx_total_bytes", () => "0\n");
        d.Link("subsystem", "/sys/bus/node");
        DeviceCommon.AddUeventAndPower(d);
        _k.Fs.MakeDirs("/sys/bus/node/devices").Link($"node{nid}", $"{NodeRoot}/node{nid}");
        _k.Uevents.Emit(UeventAction.Add, $"/devices/system/node/node{nid}", "node");

        foreach (var cpu in _k.Cpus.PresentCpusOfNode(nid).ToList())
            RegisterCpuUnderNode(cpu, nid);
    }

    /// <summary>Models unregister_one_node(): the nodeN device and its links go.</summary>
    public void UnregisterOneNode(int nid)
    {
        var root = (SysfsDirectory)_k.Fs.Lookup(NodeRoot)!;
        if (root.Child($"node{nid}") is not SysfsDirectory d) return;
        foreach (var c in d.Children.OfType<SysfsLink>().Where(l => l.Name.StartsWith("cpu", StringComparison.Ordinal)).ToList())
            UnregisterCpuUnderNode(int.Parse(c.Name.AsSpan(3)), nid);
        root.Remove($"node{nid}");
        (_k.Fs.Lookup("/sys/bus/node/devices") as SysfsDirectory)?.Remove($"node{nid}");
        _k.Uevents.Emit(UeventAction.Remove, $"/devices/system/node/node{nid}", "node");
    }

    /// <summary>Models register_cpu_under_node(): nodeN/cpuK and cpuK/nodeN, when the node is online and the CPU device exists.</summary>
    public void RegisterCpuUnderNode(int cpu, int nid)
    {
        if (!_k.NodeStates.Has(nid, NodeState.Online)) return;
        if (_k.Fs.Lookup($"{CpuDevices.CpuRoot}/cpu{cpu}") is not SysfsDirectory cpuDir) return;
        if (_k.Fs.Lookup($"{NodeRoot}/node{nid}") is not SysfsDirectory nodeDir) return;
        if (nodeDir.Child($"cpu{cpu}") is null) nodeDir.Link($"cpu{cpu}", $"{CpuDevices.CpuRoot}/cpu{cpu}");
        if (cpuDir.Child($"node{nid}") is null) cpuDir.Link($"node{nid}", $"{NodeRoot}/node{nid}");
    }

    /// <summary>Models unregister_cpu_under_node().</summary>
    public void UnregisterCpuUnderNode(int cpu, int nid)
    {
        (_k.Fs.Lookup($"{NodeRoot}/node{nid}") as SysfsDirectory)?.Remove($"cpu{cpu}");
        (_k.Fs.Lookup($"{CpuDevices.CpuRoot}/cpu{cpu}", followLastLink: true) as SysfsDirectory)?.Remove($"node{nid}");
    }

    /// <summary>Models do_register_memory_block_under_node(): nodeN/memoryM and memoryM/nodeN.</summary>
    public void LinkMemoryBlock(MemoryBlock mb, int nid)
    {
        if (_k.Fs.Lookup($"{NodeRoot}/node{nid}") is not SysfsDirectory nodeDir) return;
        if (_k.Fs.Lookup($"{MemoryDevices.MemoryRoot}/memory{mb.Id}") is not SysfsDirectory memDir) return;
        if (nodeDir.Child($"memory{mb.Id}") is null) nodeDir.Link($"memory{mb.Id}", $"{MemoryDevices.MemoryRoot}/memory{mb.Id}");
        if (memDir.Child($"node{nid}") is null) memDir.Link($"node{nid}", $"{NodeRoot}/node{nid}");
    }

    /// <summary>Models unregister_memory_block_under_nodes().</summary>
    public void UnlinkMemoryBlock(MemoryBlock mb)
    {
        if (mb.Nid < 0) return;
        (_k.Fs.Lookup($"{NodeRoot}/node{mb.Nid}") as SysfsDirectory)?.Remove($"memory{mb.Id}");
    }

    /// <summary>node_read_cpumap(): cpumask_of_node() and'ed with cpu_online_mask.</summary>
    private Bitmap OnlineCpusOf(int nid)
    {
        var m = _k.Cpus.CpumaskOfNode(nid).Clone();
        for (int cpu = m.First(); cpu < m.NBits; cpu = m.NextSet(cpu + 1))
            if (!_k.Cpus.Online[cpu]) m.Clear(cpu);
        return m;
    }

    /// <summary>Models node_read_distance(): the distances to every online node.</summary>
    private string Distance(int nid)
    {
        var sb = new StringBuilder();
        foreach (var n in _k.NodeStates[NodeState.Online].Bits())
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(_k.Distance.Get(nid, n));
        }
        return sb.Append('\n').ToString();
    }
}
