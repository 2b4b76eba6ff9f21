using Numasim.Snapshots;

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

    /// <summary>node_states[] in one region of the compact state; N_POSSIBLE..N_CPU feed the fingerprint.</summary>
    public NodeStates(StateStore store)
    {
        int w = Bitmap.WordsFor(NumaConstants.MaxNumNodes);
        var words = new StateArray<ulong>(store, "node_states[]", w * 6);
        _masks = new Bitmap[6];
        for (int i = 0; i < _masks.Length; i++)
        {
            _masks[i] = new Bitmap(words, i * w, NumaConstants.MaxNumNodes);
            if (i > (int)NodeState.Cpu) continue;
            ulong kind = (ulong)i * NumaConstants.MaxNumNodes;
            _masks[i].Observer = (nid, v) => store.Observe(Zobrist.Key(FieldKind.NodeState, (long)kind + nid), v ? 0UL : 1UL, v ? 1UL : 0UL);
        }
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
