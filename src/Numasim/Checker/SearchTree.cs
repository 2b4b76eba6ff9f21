namespace Numasim.Checker;

/// <summary>
/// The breadth-first search tree: for every distinct state, its parent and the operation that reached it, 8 bytes
/// a state in chunks of a million (no copy when it grows). States are numbered in the order the levels were merged,
/// so a level is a contiguous range of numbers and its states are in search-tree order.
/// </summary>
public sealed class SearchTree
{
    private const int ChunkBits = 20;
    private readonly List<(int Parent, uint Op)[]> _chunks = [];
    private long _count;

    public long Count => _count;

    /// <summary>Bytes the tree holds.</summary>
    public long Bytes => (long)_chunks.Count << (ChunkBits + 3);

    public int Add(int parent, uint op)
    {
        long i = _count;
        if (i >= int.MaxValue) throw new InvalidOperationException("search tree: more than 2^31 states");
        if ((i >> ChunkBits) >= _chunks.Count) _chunks.Add(new (int, uint)[1 << ChunkBits]);
        _chunks[(int)(i >> ChunkBits)][i & ((1 << ChunkBits) - 1)] = (parent, op);
        _count++;
        return (int)i;
    }

    public int Parent(int n) => _chunks[n >> ChunkBits][n & ((1 << ChunkBits) - 1)].Parent;
    public uint Op(int n) => _chunks[n >> ChunkBits][n & ((1 << ChunkBits) - 1)].Op;

    /// <summary>The operations from the root to a state.</summary>
    public List<CheckOp> PathTo(int n)
    {
        var path = new List<CheckOp>();
        for (; n > 0; n = Parent(n)) path.Add(CheckOp.Unpack(Op(n)));
        path.Reverse();
        return path;
    }

    /// <summary>The states from the root to n, root first.</summary>
    public void NodesTo(int n, List<int> into)
    {
        into.Clear();
        for (; n >= 0; n = n == 0 ? -1 : Parent(n)) into.Add(n);
        into.Reverse();
    }
}
