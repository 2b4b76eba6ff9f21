using System.Text;
using Numasim.Kernel.Log;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Sysfs;
using Numasim.Snapshots;

namespace Numasim.Kernel.Drivers;

/// <summary>drivers/base/node.c: the node subsystem's sysfs (node/ and nodeN/) and the CPU/memory links.</summary>
public sealed class NodeDevices
{
    public const string NodeRoot = "/sys/devices/system/node";
    private readonly KernelContext _k;
    private readonly NodeMeminfo _meminfo;

    // The state of the node devices (made by node_dev_init()): which nodeN devices are registered, and for each
    // CPU the node its nodeN/cpuK and cpuK/nodeN links point to (-1: none). The directories are views of it.
    private Bitmap? _registered;
    private StateArray<int>? _cpuLink;
    private NodeHmat? _hmat;

    /// <summary>drivers/acpi/numa/hmat.c's access classes and caches of a node, added to its view (Numa.AcpiHmat.AddTo).</summary>
    internal Action<SysfsDirectory, int>? AcpiHmatView { get; set; }

    /// <summary>Called when a node device registers (__register_one_node()), for hmat.c's once-per-device registrations.</summary>
    internal Action<int>? NodeDeviceRegistered { get; set; }

    internal NodeDevices(KernelContext k, NodeMeminfo meminfo)
    {
        _k = k;
        _meminfo = meminfo;
    }

    /// <summary>Whether nodeN is registered (the directory exists).</summary>
    public bool IsRegistered(int nid) => _registered is { } r && r[nid];

    /// <summary>The node a CPU's node links point to, or -1.</summary>
    public int CpuLinkNode(int cpu) => _cpuLink is { } l && (uint)cpu < (uint)l.Length ? l[cpu] : -1;

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
        _registered = new Bitmap(new StateArray<ulong>(_k.State, "node devices", Bitmap.WordsFor(NumaConstants.MaxNumNodes)), 0, NumaConstants.MaxNumNodes);
        _cpuLink = new StateArray<int>(_k.State, "cpu node links", _k.Cpus.NrCpuIds);
        _cpuLink.Fill(-1);
        root.AddSource(new NumberedSource("node", ids => { foreach (var n in _registered.Bits()) ids.Add(n); },
            n => n < NumaConstants.MaxNumNodes && _registered[(int)n], (p, name, n) => NodeDir(p, name, (int)n)));
        _k.Fs.MakeDirs("/sys/bus/node/devices").AddSource(new NumberedSource("node", ids => { foreach (var n in _registered.Bits()) ids.Add(n); },
            n => n < NumaConstants.MaxNumNodes && _registered[(int)n], (_, name, _) => new SysfsLink(name, $"{NodeRoot}/{name}")));
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
        _hmat = NodeHmat.Register(_k, IsRegistered);
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

    /// <summary>hstate_attr_group of an hstate the model has no pool for (the 1 GiB one): no huge pages reserved.</summary>
    private static readonly AttributeGroup HugepagesGroup = new(
        DeviceAttribute.Const("free_hugepages", "0\n"),
        DeviceAttribute.Const("nr_hugepages", "0\n", v => v.Trim() == "0" ? Errno.None : Errno.EINVAL),
        DeviceAttribute.Const("surplus_hugepages", "0\n"));

    /// <summary>memory_failure_attr_group, mm/memory-failure.c (v6.4+): the node's poisoned-page counters, none yet.</summary>
    private static readonly AttributeGroup MemoryFailureGroup = new(
        DeviceAttribute.Const("total", "0\n"), DeviceAttribute.Const("ignored", "0\n"), DeviceAttribute.Const("failed", "0\n"),
        DeviceAttribute.Const("delayed", "0\n"), DeviceAttribute.Const("recovered", "0\n"));

    /// <summary>The nodeN directory as __register_one_node() made it: its groups, and the links the state holds.</summary>
    private SysfsDirectory NodeDir(SysfsDirectory parent, string name, int nid)
    {
        var d = new SysfsDirectory(name, parent);
        d.AddGroup(NodeGroup, new NodeDevice(this, nid));
        var huge = d.Dir("hugepages");
        foreach (var size in Mm.HugetlbHstates.DirectoryNames(_k))
            if (size == "hugepages-2048kB" && _k.Hugetlb is { } pool) huge.Dir(size).AddGroup(Mm.Hugetlb.NodeAttrs, new Mm.NodeHstate(pool, nid));
            else if (size == Mm.HugetlbGigantic.Dir && _k.Hugetlb is { } gpool)
            {
                var g = huge.Dir(size);
                g.AddGroup(Mm.HugetlbGigantic.NodeAttrs, new Mm.NodeGigantic(gpool.Gigantic, nid));
                if (_k.Profile.HugetlbDemote) g.AddGroup(Mm.HugetlbGigantic.NodeDemoteAttrs, new Mm.NodeGigantic(gpool.Gigantic, nid));
            }
            else huge.Dir(size).AddGroup(HugepagesGroup);
        // arch/x86/kernel/cpu/sgx/main.c's arch_node_dev_group: the named group's directory is made, but
        // arch_node_attr_is_visible() hides sgx_total_bytes while sgx_numa_mask is empty (no SGX: QEMU's qemu64)
        d.Dir("x86");
        if (_k.Profile.NodeMemoryFailureStats) d.Dir("memory_failure").AddGroup(MemoryFailureGroup);
        d.Link("subsystem", "/sys/bus/node");
        DeviceCommon.AddUeventAndPower(d);
        _hmat?.AddTo(d, nid);
        AcpiHmatView?.Invoke(d, nid);
        d.AddSource(new NumberedSource("cpu", ids => { for (int c = 0; c < _cpuLink!.Length; c++) if (_cpuLink[c] == nid) ids.Add(c); },
            c => c < _cpuLink!.Length && _cpuLink[(int)c] == nid, (_, n, _) => new SysfsLink(n, $"{CpuDevices.CpuRoot}/{n}")));
        d.AddSource(new NumberedSource("memory", ids => BlocksLinkedTo(nid, ids),
            id => _k.FindMemoryBlock(id) is { LinkedToNode: true } mb && mb.Nid == nid, (_, n, _) => new SysfsLink(n, $"{MemoryDevices.MemoryRoot}/{n}")));
        return d;
    }

    private void BlocksLinkedTo(int nid, List<long> ids)
    {
        var t = _k.MemoryBlocks;
        for (int i = 0; i < t.Count; i++)
            if (t.RecordAt(i) is { LinkedToNode: true } r && r.Nid == nid) ids.Add(r.Id);
    }

    /// <summary>Models register_one_node(): __register_one_node() plus the memory block links of the node.</summary>
    public void RegisterOneNode(int nid) =>
        RegisterOneNode(nid, _k.Cpus.PresentCpusOfNode(nid).ToList(), _k.AllMemoryBlocks.Where(mb => mb.Nid == nid).ToList());

    /// <summary>register_one_node() given the node's present CPUs and its memory blocks, in ascending order.</summary>
    private void RegisterOneNode(int nid, List<int> presentCpus, List<MemoryBlock> blocks)
    {
        if (!_k.NodeStates.Has(nid, NodeState.Online)) return;
        RegisterNodeDevice(nid, presentCpus);
        foreach (var mb in blocks) LinkMemoryBlock(mb, nid);
    }

    /// <summary>Models __register_one_node(): the nodeN device, and a link for each present CPU whose
    /// cpu_to_node() is this node (the association the seed's fix keeps).</summary>
    public void RegisterNodeDevice(int nid) => RegisterNodeDevice(nid, _k.Cpus.PresentCpusOfNode(nid).ToList());

    private void RegisterNodeDevice(int nid, List<int> presentCpus)
    {
        using var call = _k.Trace.Call("__register_one_node", "drivers/base/node.c", $"node {nid}");
        if (_registered is null || _registered[nid]) return;
        _k.Trace.Decide(presentCpus.Count == 0, $"no present CPU has cpu_to_node() = {nid}: node{nid} links no CPU",
            $"present CPUs with cpu_to_node() = {nid}: {Trace.TraceList.Brief(presentCpus, ",", 16)}: linked under node{nid}");
        _registered.Set(nid);
        NodeDeviceRegistered?.Invoke(nid);
        _k.Uevents.Emit(UeventAction.Add, $"/devices/system/node/node{nid}", "node");
        foreach (var cpu in presentCpus)
            RegisterCpuUnderNode(cpu, nid);
    }

    /// <summary>Models unregister_one_node(): the nodeN device and its links go.</summary>
    public void UnregisterOneNode(int nid)
    {
        using var call = _k.Trace.Call("unregister_one_node", "drivers/base/node.c", $"node {nid}");
        if (_registered is null || !_registered[nid]) return;
        for (int cpu = 0; cpu < _cpuLink!.Length; cpu++)
            if (_cpuLink[cpu] == nid) UnregisterCpuUnderNode(cpu, nid);
        foreach (var mb in _k.AllMemoryBlocks.Where(b => b.LinkedToNode && b.Nid == nid).ToList()) mb.LinkedToNode = false;
        _registered.Clear(nid);
        _hmat?.Unregister(nid);
        _k.Uevents.Emit(UeventAction.Remove, $"/devices/system/node/node{nid}", "node");
    }

    /// <summary>Models register_cpu_under_node(): nodeN/cpuK and cpuK/nodeN, when the node is online and registered
    /// and the CPU device exists.</summary>
    public void RegisterCpuUnderNode(int cpu, int nid)
    {
        if (!_k.NodeStates.Has(nid, NodeState.Online) || !IsRegistered(nid) || !CpuRegistered(cpu)) return;
        int linked = _cpuLink![cpu];
        if (linked == nid) return;
        if (linked >= 0) throw new InvalidOperationException($"cpu{cpu} is linked under node{linked} and node{nid}");
        _cpuLink.Mut(cpu) = nid;
    }

    /// <summary>Whether the cpuN device is registered (drivers/base/cpu.c).</summary>
    internal Func<int, bool> CpuRegistered { get; set; } = _ => false;

    /// <summary>Models unregister_cpu_under_node().</summary>
    public void UnregisterCpuUnderNode(int cpu, int nid)
    {
        if (_cpuLink is { } l && (uint)cpu < (uint)l.Length && l[cpu] == nid) l.Mut(cpu) = -1;
    }

    /// <summary>Models do_register_memory_block_under_node(): nodeN/memoryM and memoryM/nodeN, when the node is
    /// registered.</summary>
    public void LinkMemoryBlock(MemoryBlock mb, int nid)
    {
        if (!IsRegistered(nid) || _k.FindMemoryBlock(mb.Id) is null) return;
        if (mb.Nid != nid) throw new InvalidOperationException($"memory{mb.Id} of node {mb.Nid} linked under node{nid}");
        if (!mb.LinkedToNode) mb.LinkedToNode = true;
    }

    /// <summary>Models unregister_memory_block_under_nodes() (the memoryN directory, and its link, go with the
    /// block right after).</summary>
    public void UnlinkMemoryBlock(MemoryBlock mb)
    {
        if (mb.Nid < 0) return;
        if (mb.LinkedToNode) mb.LinkedToNode = false;
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
