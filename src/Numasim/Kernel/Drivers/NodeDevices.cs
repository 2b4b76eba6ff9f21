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

    private SysfsDirectory? _root, _busDevices, _cpuRoot, _memoryRoot;

    internal NodeDevices(KernelContext k, NodeMeminfo meminfo)
    {
        _k = k;
        _meminfo = meminfo;
    }

    /// <summary>/sys/devices/system/node; null until node_dev_init() made it.</summary>
    private SysfsDirectory? Root => _root ??= _k.Fs.Lookup(NodeRoot) as SysfsDirectory;

    /// <summary>/sys/bus/node/devices.</summary>
    private SysfsDirectory BusDevices => _busDevices ??= _k.Fs.MakeDirs("/sys/bus/node/devices");

    /// <summary>The nodeN device directory, or null when the node is not registered.</summary>
    private SysfsDirectory? NodeDir(int nid) => Root?.Child($"node{nid}") as SysfsDirectory;

    /// <summary>The cpuN device directory, or null (drivers/base/cpu.c has not registered it).</summary>
    private SysfsDirectory? CpuDir(int cpu) =>
        (_cpuRoot ??= _k.Fs.Lookup(CpuDevices.CpuRoot) as SysfsDirectory)?.Child($"cpu{cpu}") as SysfsDirectory;

    /// <summary>The memoryN device directory, or null.</summary>
    private SysfsDirectory? MemoryDir(long id) =>
        (_memoryRoot ??= _k.Fs.Lookup(MemoryDevices.MemoryRoot) as SysfsDirectory)?.Child($"memory{id}") as SysfsDirectory;

    /// <summary>Models node_dev_init(): the subsystem files, then register_one_node() for each online node.</summary>
    public void NodeDevInit()
    {
        using var call = _k.Trace.Call("node_dev_init", "drivers/base/node.c");
        var root = _k.Fs.MakeDirs(NodeRoot);
        root.Attr("possible", () => SysfsFormat.List(_k.NodeStates[NodeState.Possible]));
        root.Attr("online", () => SysfsFormat.List(_k.NodeStates[NodeState.Online]));
        root.Attr("has_normal_memory", () => SysfsFormat.List(_k.NodeStates[NodeState.NormalMemory]));
        root.Attr("has_memory", () => SysfsFormat.List(_k.NodeStates[NodeState.Memory]));
        root.Attr("has_cpu", () => SysfsFormat.List(_k.NodeStates[NodeState.Cpu]));
        root.Attr("has_generic_initiator", () => SysfsFormat.List(_k.NodeStates[NodeState.GenericInitiator]));
        DeviceCommon.AddUeventAndPower(root);
        _ = BusDevices;
        // What register_one_node() finds for each node, gathered in one pass over the CPUs and the blocks.
        var cpusOf = new Dictionary<int, List<int>>();
        foreach (var cpu in _k.Cpus.Present.Bits())
        {
            int node = _k.Cpus.CpuToNode(cpu);
            if (!cpusOf.TryGetValue(node, out var l)) cpusOf[node] = l = [];
            l.Add(cpu);
        }
        var blocksOf = new Dictionary<int, List<MemoryBlock>>();
        foreach (var mb in _k.AllMemoryBlocks)
        {
            if (!blocksOf.TryGetValue(mb.Nid, out var l)) blocksOf[mb.Nid] = l = [];
            l.Add(mb);
        }
        foreach (var nid in _k.NodeStates[NodeState.Online].Bits().ToList())
            RegisterOneNode(nid, cpusOf.GetValueOrDefault(nid) ?? [], blocksOf.GetValueOrDefault(nid) ?? []);
        NodeHmat.Register(_k, root);
    }

    /// <summary>The struct node device a nodeN directory's files are shown for.</summary>
    private sealed class NodeDevice(NodeDevices owner, int nid)
    {
        public readonly NodeDevices Owner = owner;
        public readonly int Nid = nid;
    }

    /// <summary>node_dev_group, drivers/base/node.c.</summary>
    private static readonly AttributeGroup NodeGroup = new(
        DeviceAttribute.Ro<NodeDevice>("cpumap", n => SysfsFormat.Mask(n.Owner.OnlineCpusOf(n.Nid), n.Owner._k.Cpus.NrCpuIds)),
        DeviceAttribute.Ro<NodeDevice>("cpulist", n => SysfsFormat.List(n.Owner.OnlineCpusOf(n.Nid))),
        DeviceAttribute.Ro<NodeDevice>("meminfo", n => n.Owner._meminfo.Show(n.Nid)),
        DeviceAttribute.Ro<NodeDevice>("numastat", n => n.Owner._meminfo.Numastat(n.Nid)),
        DeviceAttribute.Ro<NodeDevice>("vmstat", n => n.Owner._meminfo.Vmstat(n.Nid)),
        DeviceAttribute.Ro<NodeDevice>("distance", n => n.Owner.Distance(n.Nid)),
        DeviceAttribute.Wo<NodeDevice>("compact", (_, _) => Errno.None));

    /// <summary>hstate_attr_group per huge page size, mm/hugetlb.c, with no huge pages reserved.</summary>
    private static readonly AttributeGroup HugepagesGroup = new(
        DeviceAttribute.Const("free_hugepages", "0\n"),
        DeviceAttribute.Const("nr_hugepages", "0\n", v => v.Trim() == "0" ? Errno.None : Errno.EINVAL),
        DeviceAttribute.Const("surplus_hugepages", "0\n"));

    /// <summary>memory_failure_attr_group, mm/memory-failure.c (v6.4+): the node's poisoned-page counters, none yet.</summary>
    private static readonly AttributeGroup MemoryFailureGroup = new(
        DeviceAttribute.Const("total", "0\n"), DeviceAttribute.Const("ignored", "0\n"), DeviceAttribute.Const("failed", "0\n"),
        DeviceAttribute.Const("delayed", "0\n"), DeviceAttribute.Const("recovered", "0\n"));

    /// <summary>Models register_one_node(): __register_one_node() plus the memory block links of the node.</summary>
    public void RegisterOneNode(int nid) =>
        RegisterOneNode(nid, _k.Cpus.PresentCpusOfNode(nid).ToList(), _k.AllMemoryBlocks.Where(mb => mb.Nid == nid).ToList());

    /// <summary>register_one_node() given the node's present CPUs and its memory blocks, in ascending order.</summary>
    private void RegisterOneNode(int nid, List<int> presentCpus, List<MemoryBlock> blocks)
    {
        if (!_k.NodeStates.Has(nid, NodeState.Online)) return;
        RegisterNodeDevice(nid, presentCpus);
        var nodeDir = NodeDir(nid);
        foreach (var mb in blocks) LinkMemoryBlock(mb, nid, nodeDir);
    }

    /// <summary>Models __register_one_node(): the nodeN device, and a link for each present CPU whose
    /// cpu_to_node() is this node (the association the seed's fix keeps).</summary>
    public void RegisterNodeDevice(int nid) => RegisterNodeDevice(nid, _k.Cpus.PresentCpusOfNode(nid).ToList());

    private void RegisterNodeDevice(int nid, List<int> presentCpus)
    {
        using var call = _k.Trace.Call("__register_one_node", "drivers/base/node.c", $"node {nid}");
        var root = Root!;
        if (root.Child($"node{nid}") is not null) return;
        _k.Trace.Decide(presentCpus.Count == 0, $"no present CPU has cpu_to_node() = {nid}: node{nid} links no CPU",
            $"present CPUs with cpu_to_node() = {nid}: {Trace.TraceList.Brief(presentCpus, ",", 16)}: linked under node{nid}");
        var d = root.Dir($"node{nid}");
        d.AddGroup(NodeGroup, new NodeDevice(this, nid));
        var huge = d.Dir("hugepages");
        foreach (var size in Mm.HugetlbHstates.DirectoryNames(_k))
            huge.Dir(size).AddGroup(HugepagesGroup);
        // arch/x86/kernel/cpu/sgx/main.c's arch_node_dev_group: the named group's directory is made, but
        // arch_node_attr_is_visible() hides sgx_total_bytes while sgx_numa_mask is empty (no SGX: QEMU's qemu64)
        d.Dir("x86");
        if (_k.Profile.NodeMemoryFailureStats) d.Dir("memory_failure").AddGroup(MemoryFailureGroup);
        d.Link("subsystem", "/sys/bus/node");
        DeviceCommon.AddUeventAndPower(d);
        BusDevices.Link($"node{nid}", $"{NodeRoot}/node{nid}");
        _k.Uevents.Emit(UeventAction.Add, $"/devices/system/node/node{nid}", "node");

        foreach (var cpu in presentCpus)
            RegisterCpuUnderNode(cpu, nid, CpuDir(cpu), d);
    }

    /// <summary>Models unregister_one_node(): the nodeN device and its links go.</summary>
    public void UnregisterOneNode(int nid)
    {
        using var call = _k.Trace.Call("unregister_one_node", "drivers/base/node.c", $"node {nid}");
        var root = Root!;
        if (root.Child($"node{nid}") is not SysfsDirectory d) return;
        foreach (var c in d.Children.OfType<SysfsLink>().Where(l => l.Name.StartsWith("cpu", StringComparison.Ordinal)).ToList())
            UnregisterCpuUnderNode(int.Parse(c.Name.AsSpan(3)), nid);
        root.Remove($"node{nid}");
        BusDevices.Remove($"node{nid}");
        _k.Uevents.Emit(UeventAction.Remove, $"/devices/system/node/node{nid}", "node");
    }

    /// <summary>Models register_cpu_under_node(): nodeN/cpuK and cpuK/nodeN, when the node is online and the CPU device exists.</summary>
    public void RegisterCpuUnderNode(int cpu, int nid) => RegisterCpuUnderNode(cpu, nid, CpuDir(cpu));

    /// <summary>register_cpu_under_node() with the cpuN directory at hand.</summary>
    internal void RegisterCpuUnderNode(int cpu, int nid, SysfsDirectory? cpuDir) => RegisterCpuUnderNode(cpu, nid, cpuDir, null);

    private void RegisterCpuUnderNode(int cpu, int nid, SysfsDirectory? cpuDir, SysfsDirectory? nodeDir)
    {
        if (!_k.NodeStates.Has(nid, NodeState.Online)) return;
        if (cpuDir is null) return;
        nodeDir ??= NodeDir(nid);
        if (nodeDir is null) return;
        if (nodeDir.Child($"cpu{cpu}") is null) nodeDir.Link($"cpu{cpu}", $"{CpuDevices.CpuRoot}/cpu{cpu}");
        if (cpuDir.Child($"node{nid}") is null) cpuDir.Link($"node{nid}", $"{NodeRoot}/node{nid}");
    }

    /// <summary>Models unregister_cpu_under_node().</summary>
    public void UnregisterCpuUnderNode(int cpu, int nid)
    {
        NodeDir(nid)?.Remove($"cpu{cpu}");
        CpuDir(cpu)?.Remove($"node{nid}");
    }

    /// <summary>Models do_register_memory_block_under_node(): nodeN/memoryM and memoryM/nodeN.</summary>
    public void LinkMemoryBlock(MemoryBlock mb, int nid) => LinkMemoryBlock(mb, nid, NodeDir(nid));

    private void LinkMemoryBlock(MemoryBlock mb, int nid, SysfsDirectory? nodeDir)
    {
        if (nodeDir is null) return;
        if (MemoryDir(mb.Id) is not SysfsDirectory memDir) return;
        if (nodeDir.Child($"memory{mb.Id}") is null) nodeDir.Link($"memory{mb.Id}", $"{MemoryDevices.MemoryRoot}/memory{mb.Id}");
        if (memDir.Child($"node{nid}") is null) memDir.Link($"node{nid}", $"{NodeRoot}/node{nid}");
    }

    /// <summary>Models unregister_memory_block_under_nodes().</summary>
    public void UnlinkMemoryBlock(MemoryBlock mb)
    {
        if (mb.Nid < 0) return;
        NodeDir(mb.Nid)?.Remove($"memory{mb.Id}");
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
