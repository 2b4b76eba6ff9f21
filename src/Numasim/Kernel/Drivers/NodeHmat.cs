using System.Globalization;
using Numasim.Kernel.Numa;
using Numasim.Kernel.Sysfs;
using Numasim.Snapshots;

namespace Numasim.Kernel.Drivers;

/// <summary>
/// The HMAT's part of drivers/base/node.c, as drivers/acpi/numa/hmat.c registers it for the machine's firmware tables
/// (<see cref="Firmware.MachineSpec.NodeAccess"/>, <see cref="Firmware.MachineSpec.MemorySideCaches"/>):
/// nodeN/accessK with initiators/ and targets/, and nodeN/memory_side_cache/indexK. They are registered once, after
/// node_dev_init(), for the nodes online then, and go with their node device (unregister_one_node()). Which node
/// devices still carry them is compact state; the directories are added to the nodeN view.
/// </summary>
internal sealed class NodeHmat
{
    private readonly Firmware.MachineSpec _m;
    // The nodes online and registered when hmat_init() ran (fixed after boot), and those whose device still has what
    // it registered (compact state: cleared when the node device goes).
    private readonly bool[] _atBoot;
    private readonly Bitmap _registered;

    private NodeHmat(KernelContext k, Func<int, bool> nodeRegistered)
    {
        _m = k.Machine;
        _atBoot = new bool[NumaConstants.MaxNumNodes];
        _registered = new Bitmap(new StateArray<ulong>(k.State, "hmat node devices", Bitmap.WordsFor(NumaConstants.MaxNumNodes)), 0, NumaConstants.MaxNumNodes);
        foreach (var nid in k.NodeStates[NodeState.Online].Bits())
            if (nodeRegistered(nid))
            {
                _atBoot[nid] = true;
                _registered.Set(nid);
            }
    }

    /// <summary>Models hmat_register_target() for every online memory node after node_dev_init(); null when the machine
    /// has no HMAT.</summary>
    public static NodeHmat? Register(KernelContext k, Func<int, bool> nodeRegistered) =>
        k.Machine.NodeAccess.Count == 0 && k.Machine.MemorySideCaches.Count == 0 ? null : new NodeHmat(k, nodeRegistered);

    private bool AtBoot(int nid) => (uint)nid < (uint)_atBoot.Length && _atBoot[nid];

    /// <summary>unregister_one_node(): the node's access and cache devices go with it.</summary>
    public void Unregister(int nid) => _registered.Clear(nid);

    /// <summary>What hmat_register_target() put in nodeN: node_init_node_access(), register_memory_node_under_compute_node()
    /// (initiators/nodeI in the target, targets/nodeT in the initiator), node_set_perf_attrs() and node_add_cache().</summary>
    public void AddTo(SysfsDirectory node, int nid)
    {
        if (!_registered[nid]) return;
        foreach (var a in _m.NodeAccess)
        {
            if (!AtBoot(a.Node)) continue;
            if (a.Node == nid)
            {
                var initiators = (SysfsDirectory)NodeHmatView.AccessDir(node, a.Class).Child("initiators")!;
                foreach (var i in a.Initiators)
                    if (AtBoot(i)) NodeHmatView.Link(node, a.Class, "initiators", i);
                void Perf(string name, long? v) { if (v is long x) initiators.Const(name, x.ToString(CultureInfo.InvariantCulture) + "\n"); }
                Perf("read_bandwidth", a.ReadBandwidth);
                Perf("read_latency", a.ReadLatency);
                Perf("write_bandwidth", a.WriteBandwidth);
                Perf("write_latency", a.WriteLatency);
            }
            if (a.Initiators.Contains(nid)) NodeHmatView.Link(node, a.Class, "targets", a.Node);
        }
        foreach (var c in _m.MemorySideCaches)
            if (c.Node == nid) NodeHmatView.AddCache(node, new NodeCacheAttrs(c.Index, c.Size, c.LineSize, c.Indexing, c.WritePolicy));
    }
}
