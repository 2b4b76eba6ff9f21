using System.Globalization;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Drivers;

/// <summary>
/// The HMAT's part of drivers/base/node.c, as drivers/acpi/numa/hmat.c registers it for the machine's firmware tables
/// (<see cref="Firmware.MachineSpec.NodeAccess"/>, <see cref="Firmware.MachineSpec.MemorySideCaches"/>):
/// nodeN/accessK with initiators/ and targets/, and nodeN/memory_side_cache/indexK.
/// </summary>
internal static class NodeHmat
{
    /// <summary>Models hmat_register_target() for every online memory node after node_dev_init(): node_init_node_access(),
    /// register_memory_node_under_compute_node(), node_set_perf_attrs() and node_add_cache().</summary>
    public static void Register(KernelContext k, SysfsDirectory nodeRoot)
    {
        SysfsDirectory? Node(int nid) => k.NodeStates.Has(nid, NodeState.Online) ? nodeRoot.Child($"node{nid}") as SysfsDirectory : null;
        foreach (var a in k.Machine.NodeAccess)
        {
            if (Node(a.Node) is not { } target) continue;
            var access = AccessDir(target, a.Class);
            var initiators = (SysfsDirectory)access.Child("initiators")!;
            foreach (var i in a.Initiators)
            {
                if (Node(i) is not { } init) continue;
                initiators.Link($"node{i}", $"{NodeDevices.NodeRoot}/node{i}");
                ((SysfsDirectory)AccessDir(init, a.Class).Child("targets")!).Link($"node{a.Node}", $"{NodeDevices.NodeRoot}/node{a.Node}");
            }
            void Perf(string name, long? v) { if (v is long x) initiators.Const(name, x.ToString(CultureInfo.InvariantCulture) + "\n"); }
            Perf("read_bandwidth", a.ReadBandwidth);
            Perf("read_latency", a.ReadLatency);
            Perf("write_bandwidth", a.WriteBandwidth);
            Perf("write_latency", a.WriteLatency);
        }
        foreach (var c in k.Machine.MemorySideCaches)
        {
            if (Node(c.Node) is not { } node) continue;
            var caches = node.Child("memory_side_cache") as SysfsDirectory ?? Device(node.Dir("memory_side_cache"));
            var d = Device(caches.Dir("index" + c.Index.ToString(CultureInfo.InvariantCulture)));
            d.Const("indexing", c.Indexing.ToString(CultureInfo.InvariantCulture) + "\n");
            d.Const("line_size", c.LineSize.ToString(CultureInfo.InvariantCulture) + "\n");
            d.Const("size", c.Size.ToString(CultureInfo.InvariantCulture) + "\n");
            d.Const("write_policy", c.WritePolicy.ToString(CultureInfo.InvariantCulture) + "\n");
        }
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
        DeviceCommon.AddUeventAndPower(d);
        return d;
    }
}
