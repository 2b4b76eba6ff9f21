namespace Numasim.Cluster;

/// <summary>
/// The coordinator's checkpoint of a run, level by level: the fingerprints of every level's states (their union is
/// the visited set) and the states of the last level committed with their paths (the frontier). A run that lost a
/// silo restarts its partitions on the silos left, with any number of partitions, from the last level: the counts go
/// on as if nothing had happened. It costs the coordinator 8 bytes a state and the last level's paths.
/// </summary>
internal sealed class LevelCheckpoint
{
    /// <summary>States per message when the checkpoint travels (Orleans' messages are bounded).</summary>
    public const int Chunk = 65_536;

    private readonly List<ulong[]> _levels = [];
    private Candidate[] _frontier;

    public LevelCheckpoint(ulong root)
    {
        _levels.Add([root]);
        _frontier = [new Candidate { Fp = root, Path = [] }];
    }

    /// <summary>The last level recorded (0: boot).</summary>
    public int Level => _levels.Count - 1;

    /// <summary>Records the states of the level just committed (every partition's new frontier).</summary>
    public void Add(IEnumerable<Candidate[]> partitions)
    {
        _frontier = [.. partitions.SelectMany(p => p)];
        _levels.Add([.. _frontier.Select(c => c.Fp)]);
    }

    /// <summary>Partition <paramref name="me"/>'s part of the checkpoint (of <paramref name="partitions"/>), in chunks:
    /// its visited fingerprints and its frontier.</summary>
    public IEnumerable<(ulong[] Visited, Candidate[] Frontier)> For(int me, int partitions)
    {
        var visited = _levels.SelectMany(l => l).Where(fp => Paths.Owner(fp, partitions) == me).Chunk(Chunk).GetEnumerator();
        var frontier = _frontier.Where(c => Paths.Owner(c.Fp, partitions) == me).Chunk(Chunk).GetEnumerator();
        bool v = visited.MoveNext(), f = frontier.MoveNext();
        while (v || f)
        {
            yield return (v ? visited.Current : [], f ? frontier.Current : []);
            v = v && visited.MoveNext();
            f = f && frontier.MoveNext();
        }
    }
}
