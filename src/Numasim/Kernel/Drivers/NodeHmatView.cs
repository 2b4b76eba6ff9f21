using System.Globalization;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Sysfs;

namespace Numasim.Kernel.Drivers;

/// <summary>drivers/base/node.c's HMAT devices as entries of a nodeN view: accessK (node_init_node_access()) with its
/// initiators/ and targets/ links, the performance attributes and memory_side_cache/indexK.</summary>
internal static class NodeHmatView
{
    /// <summary>One side of register_memory_node_under_compute_node(): a link in accessK/initiators or accessK/targets.</summary>
    public static void Link(SysfsDirectory node, int access, string group, int otherNid)
    {
        var d = (SysfsDirectory)AccessDir(node, access).Child(group)!;
        var name = "node" + otherNid.ToString(CultureInfo.InvariantCulture);
        if (d.Child(name) is null) d.Link(name, $"{NodeDevices.NodeRoot}/{name}");
    }

    /// <summary>Models node_set_perf_attrs(): initiators/{read,write}_{bandwidth,latency} of the access class.</summary>
    public static void SetPerfAttrs(SysfsDirectory node, AccessCoordinate c, int access)
    {
        var initiators = (SysfsDirectory)AccessDir(node, access).Child("initiators")!;
        var inv = CultureInfo.InvariantCulture;
        initiators.Const("read_bandwidth", c.ReadBandwidth.ToString(inv) + "\n");
        initiators.Const("read_latency", c.ReadLatency.ToString(inv) + "\n");
        initiators.Const("write_bandwidth", c.WriteBandwidth.ToString(inv) + "\n");
        initiators.Const("write_latency", c.WriteLatency.ToString(inv) + "\n");
    }

    /// <summary>Models node_add_cache(): memory_side_cache/ (node_init_cache_dev()) and its indexLEVEL device.</summary>
    public static void AddCache(SysfsDirectory node, NodeCacheAttrs c)
    {
        var caches = node.Child("memory_side_cache") as SysfsDirectory ?? Device(node.Dir("memory_side_cache"));
        var name = "index" + c.Level.ToString(CultureInfo.InvariantCulture);
        if (caches.Child(name) is not null) return; // "attempt to add duplicate cache level"
        var d = Device(caches.Dir(name));
        var inv = CultureInfo.InvariantCulture;
        d.Const("indexing", c.Indexing.ToString(inv) + "\n");
        d.Const("line_size", c.LineSize.ToString(inv) + "\n");
        d.Const("size", c.Size.ToString(inv) + "\n");
        d.Const("write_policy", c.WritePolicy.ToString(inv) + "\n");
    }

    /// <summary>Models node_init_node_access(): the accessK device with its initiators/ and targets/ groups.</summary>
    public static SysfsDirectory AccessDir(SysfsDirectory node, int cls)
    {
        var name = "access" + cls.ToString(CultureInfo.InvariantCulture);
        if (node.Child(name) is SysfsDirectory d) return d;
        d = Device(node.Dir(name));
        d.Dir("initiators");
        d.Dir("targets");
        return d;
    }

    /// <summary>Access and cache devices have no runtime PM callbacks: five power/ files.</summary>
    private static SysfsDirectory Device(SysfsDirectory d)
    {
        DeviceCommon.AddUeventAndPmAttrs(d);
        return d;
    }
}
