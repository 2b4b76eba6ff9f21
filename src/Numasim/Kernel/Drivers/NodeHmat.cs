using System.Globalization;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Drivers;

/// <summary>
/// The HMAT's part of drivers/base/node.c: nodeN/accessK with initiators/ and targets/, the performance attributes, and
/// nodeN/memory_side_cache/indexK, as drivers/acpi/numa/hmat.c (<see cref="AcpiHmat"/>) registers them. An imported
/// machine without an HMAT shows the static copy its machine file carries (<see cref="Firmware.MachineSpec.NodeAccess"/>,
/// <see cref="Firmware.MachineSpec.MemorySideCaches"/>).
/// </summary>
internal static class NodeHmat
{
    private static SysfsDirectory? Node(KernelContext k, int nid) =>
        nid >= 0 && k.NodeStates.Has(nid, NodeState.Online) ? k.Fs.Lookup($"{NodeDevices.NodeRoot}/node{nid}") as SysfsDirectory : null;

    /// <summary>Models register_memory_node_under_compute_node(): accessK of both nodes, the target linked in the
    /// initiator's targets/ and the initiator in the target's initiators/ (-ENODEV when either node is offline).</summary>
    public static void RegisterMemoryNodeUnderComputeNode(KernelContext k, int memNid, int cpuNid, int access)
    {
        if (Node(k, cpuNid) is not { } init || Node(k, memNid) is not { } targ) return;
        var initiator = AccessDir(init, access);
        var target = AccessDir(targ, access);
        ((SysfsDirectory)initiator.Child("targets")!).Link($"node{memNid}", $"{NodeDevices.NodeRoot}/node{memNid}");
        ((SysfsDirectory)target.Child("initiators")!).Link($"node{cpuNid}", $"{NodeDevices.NodeRoot}/node{cpuNid}");
    }

    /// <summary>Models node_set_perf_attrs(): the access class's coordinates as initiators/{read,write}_{bandwidth,latency}.</summary>
    public static void SetPerfAttrs(KernelContext k, int nid, AccessCoordinate c, int access)
    {
        if (Node(k, nid) is not { } node) return;
        var initiators = (SysfsDirectory)AccessDir(node, access).Child("initiators")!;
        Perf(initiators, "read_bandwidth", c.ReadBandwidth);
        Perf(initiators, "read_latency", c.ReadLatency);
        Perf(initiators, "write_bandwidth", c.WriteBandwidth);
        Perf(initiators, "write_latency", c.WriteLatency);
    }

    private static void Perf(SysfsDirectory d, string name, ulong v)
    {
        d.Remove(name);
        d.Const(name, v.ToString(CultureInfo.InvariantCulture) + "\n");
    }

    /// <summary>Models node_add_cache(): memory_side_cache/ (node_init_cache_dev()) and its indexLEVEL device; a level
    /// already there is refused ("attempt to add duplicate cache level").</summary>
    public static void AddCache(KernelContext k, int nid, NodeCacheAttrs c)
    {
        if (Node(k, nid) is not { } node) return;
        var caches = node.Child("memory_side_cache") as SysfsDirectory ?? Device(node.Dir("memory_side_cache"));
        var name = "index" + c.Level.ToString(CultureInfo.InvariantCulture);
        if (caches.Child(name) is not null)
        {
            k.Log.Printk($"node node{nid}: attempt to add duplicate cache level:{c.Level}");
            return;
        }
        var d = Device(caches.Dir(name));
        var inv = CultureInfo.InvariantCulture;
        d.Const("indexing", c.Indexing.ToString(inv) + "\n");
        d.Const("line_size", c.LineSize.ToString(inv) + "\n");
        d.Const("size", c.Size.ToString(inv) + "\n");
        d.Const("write_policy", c.WritePolicy.ToString(inv) + "\n");
    }

    /// <summary>The static view of an imported machine (no HMAT to parse): node_access and memory_side_caches as
    /// the machine file gives them, registered after node_dev_init().</summary>
    public static void RegisterImported(KernelContext k)
    {
        if (k.Machine.Hmat is not null) return;
        foreach (var a in k.Machine.NodeAccess)
        {
            if (Node(k, a.Node) is null) continue;
            foreach (var i in a.Initiators) RegisterMemoryNodeUnderComputeNode(k, a.Node, i, a.Class);
            var initiators = (SysfsDirectory)AccessDir(Node(k, a.Node)!, a.Class).Child("initiators")!;
            if (a.ReadBandwidth is long rb) Perf(initiators, "read_bandwidth", (ulong)rb);
            if (a.ReadLatency is long rl) Perf(initiators, "read_latency", (ulong)rl);
            if (a.WriteBandwidth is long wb) Perf(initiators, "write_bandwidth", (ulong)wb);
            if (a.WriteLatency is long wl) Perf(initiators, "write_latency", (ulong)wl);
        }
        foreach (var c in k.Machine.MemorySideCaches)
            AddCache(k, c.Node, new NodeCacheAttrs(c.Index, c.Size, c.LineSize, c.Indexing, c.WritePolicy));
    }

    /// <summary>Models node_init_node_access(): the accessK device with its initiators/ and targets/ groups.</summary>
    private static SysfsDirectory AccessDir(SysfsDirectory node, int cls)
    {
        var name = "access" + cls.ToString(CultureInfo.InvariantCulture);
        if (node.Child(name) is SysfsDirectory d) return d;
        d = Device(node.Dir(name));
        d.Dir("initiators");
        d.Dir("targets");
        return d;
    }

    private static SysfsDirectory Device(SysfsDirectory d)
    {
        DeviceCommon.AddUeventAndPmAttrs(d);
        return d;
    }
}
