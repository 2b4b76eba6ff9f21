using Numasim.Checker;
using Numasim.Snapshots;

namespace Numasim.Cluster;

/// <summary>
/// A machine and the saved states along the path to the state it reached last, root first. States travel between
/// partitions as paths (a few words) rather than as compact state bytes (about 9 KiB on the oracle machine): a
/// partition walks its frontier in path order, so reaching the next state costs one restore and one operation per
/// step below the common prefix, as the single-process checker's workers do along the search tree.
/// </summary>
internal sealed class PathWalker
{
    private readonly List<uint> _ops = [];
    private readonly List<StateSnapshot> _snaps = [];
    private readonly Stack<StateSnapshot> _spare = new();

    public PathWalker(CheckDriver d)
    {
        D = d;
        _snaps.Add(d.Save());
    }

    public CheckDriver D { get; }
    /// <summary>Operations applied to reach states (the single-process checker's ReplayedOps).</summary>
    public long Replayed { get; private set; }
    public StateSnapshot Root => _snaps[0];

    /// <summary>The saved state at the end of the path (the driver is left in some state: restore it).</summary>
    public StateSnapshot Reach(ulong[] path)
    {
        int common = 0;
        while (common < _ops.Count && common < path.Length && _ops[common] == (uint)path[common]) common++;
        _ops.RemoveRange(common, _ops.Count - common);
        for (int i = common + 1; i < _snaps.Count; i++) _spare.Push(_snaps[i]);
        _snaps.RemoveRange(common + 1, _snaps.Count - common - 1);
        for (int i = common; i < path.Length; i++)
        {
            D.Restore(_snaps[^1]);
            D.Apply(Paths.Op(path[i]));
            Replayed++;
            _ops.Add((uint)path[i]);
            _snaps.Add(D.Machine.State.Save(_spare.Count > 0 ? _spare.Pop() : null));
        }
        return _snaps[^1];
    }
}
