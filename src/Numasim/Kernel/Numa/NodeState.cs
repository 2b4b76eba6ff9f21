namespace Numasim.Kernel.Numa;

/// <summary>enum node_states, include/linux/nodemask.h (x86_64: no N_HIGH_MEMORY of its own, it aliases N_NORMAL_MEMORY).</summary>
public enum NodeState
{
    Possible = 0,
    Online = 1,
    NormalMemory = 2,
    Memory = 3,
    Cpu = 4,
    GenericInitiator = 5,
}

/// <summary>node_states[], mm/page_alloc.c: one nodemask per state.</summary>
public sealed class NodeStates
{
    private readonly Bitmap[] _masks;

    public NodeStates()
    {
        _masks = new Bitmap[6];
        for (int i = 0; i < _masks.Length; i++) _masks[i] = new Bitmap(NumaConstants.MaxNumNodes);
    }

    public Bitmap this[NodeState s] => _masks[(int)s];

    /// <summary>Models node_state().</summary>
    public bool Has(int nid, NodeState s) => nid >= 0 && _masks[(int)s][nid];

    /// <summary>Models node_set_state().</summary>
    public void Set(int nid, NodeState s) => _masks[(int)s].Set(nid);

    /// <summary>Models node_clear_state().</summary>
    public void Clear(int nid, NodeState s) => _masks[(int)s].Clear(nid);

    /// <summary>nr_online_nodes.</summary>
    public int NrOnline => _masks[(int)NodeState.Online].Weight();
}
