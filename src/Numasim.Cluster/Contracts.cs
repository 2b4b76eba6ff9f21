using Numasim.Checker;
using Orleans.Concurrency;

namespace Numasim.Cluster;

/// <summary>What every partition needs to explore the same space as the coordinator: the machine (QEMU options or
/// machine-file text, so that a silo on another machine needs no file of ours), the profile and the search options.</summary>
[GenerateSerializer, Immutable]
public sealed class RunSpec
{
    [Id(0)] public required string RunId { get; init; }
    [Id(1)] public string? Qemu { get; init; }
    [Id(2)] public string? MachineText { get; init; }
    [Id(3)] public required string Profile { get; init; }
    [Id(4)] public required string[] Families { get; init; }
    [Id(5)] public bool Symmetry { get; init; }
    [Id(6)] public bool PartialOrder { get; init; }
    [Id(7)] public FingerprintMode Fingerprint { get; init; }
    [Id(8)] public required int Partitions { get; init; }
    /// <summary>One state in N also has its rendering compared with a replay from boot (<see cref="ModelChecker.RenderSampled"/>; 0: none).</summary>
    [Id(9)] public int RenderSample { get; init; }
}

/// <summary>
/// A state on its way to its owner: its fingerprint and its path from boot. Each step is
/// <c>(index of the operation among the parent's enabled operations) &lt;&lt; 32 | packed operation</c>, so comparing
/// paths step by step as unsigned numbers is the single-process checker's search-tree order (parent first, then the
/// operation's rank): the least path of a state is the one the single-process search keeps.
/// </summary>
[GenerateSerializer, Immutable]
public sealed class Candidate
{
    [Id(0)] public ulong Fp { get; init; }
    [Id(1)] public required ulong[] Path { get; init; }
    /// <summary>The first invariant the state breaks (null: none), and its message.</summary>
    [Id(2)] public string? Broken { get; init; }
    [Id(3)] public string? Message { get; init; }
}

/// <summary>What a partition did expanding its frontier.</summary>
[GenerateSerializer, Immutable]
public sealed class ExpandReport
{
    [Id(0)] public long Transitions { get; init; }
    [Id(1)] public long Skipped { get; init; }
    [Id(2)] public long Sent { get; init; }
    /// <summary>States whose rendering was compared with a replay from boot.</summary>
    [Id(3)] public long Rendered { get; init; }
    /// <summary>Operations applied again to reach the frontier's states from their common prefixes.</summary>
    [Id(4)] public long Replayed { get; init; }
}

/// <summary>A partition's new level: how many states it kept and its least broken one (null: none).</summary>
[GenerateSerializer, Immutable]
public sealed class CommitReport
{
    [Id(0)] public long NewStates { get; init; }
    [Id(1)] public long Visited { get; init; }
    [Id(2)] public Candidate? LeastBroken { get; init; }
    [Id(3)] public string Silo { get; init; } = "";
}

/// <summary>
/// One hash partition of the search: the fingerprints it owns (visited set), the states of the current level it owns
/// (frontier) and the candidates of the next level routed to it. Key: "RUNID/PARTITION".
/// </summary>
public interface IPartitionGrain : IGrainWithStringKey
{
    /// <summary>Boots the machine and returns the root state's fingerprint (the coordinator checks that every
    /// partition booted the same machine).</summary>
    Task<ulong> Init(RunSpec spec);

    /// <summary>Takes candidates of the next level (called by the other partitions while they expand).</summary>
    [AlwaysInterleave]
    Task Offer(Candidate[] batch);

    /// <summary>Expands every state of the frontier (level <paramref name="level"/>) and sends each successor to its
    /// owner; returns once every batch was delivered.</summary>
    Task<ExpandReport> Expand(int level);

    /// <summary>The barrier's second half: the candidates received become the next frontier (those not visited
    /// before, each with its least path).</summary>
    Task<CommitReport> Commit(int level);

    /// <summary>A slice of the frontier just committed (level <paramref name="level"/> + 1), for the coordinator's
    /// checkpoint of the level.</summary>
    Task<Candidate[]> Frontier(int level, int offset, int count);

    /// <summary>Resuming a run from a checkpoint of level <paramref name="level"/> (after <see cref="Init"/>): the
    /// partition's part of the visited set and of the level's states, in chunks; the first chunk replaces what Init
    /// set up, the last sorts the frontier into path order.</summary>
    Task Load(int level, ulong[] visited, Candidate[] frontier, bool first, bool last);

    /// <summary>The run is over: drops the partition's states and deactivates it.</summary>
    Task Release();
}

/// <summary>Path order and partition choice, shared by coordinator and partitions.</summary>
public static class Paths
{
    /// <summary>The owner of a fingerprint: its high 32 bits mod P (the low bits index each partition's visited set,
    /// which would otherwise see only fingerprints with equal low bits).</summary>
    public static int Owner(ulong fp, int partitions) => (int)((fp >> 32) % (ulong)partitions);

    public static int Compare(ulong[] a, ulong[] b)
    {
        for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
            if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
        return a.Length.CompareTo(b.Length);
    }

    public static CheckOp Op(ulong step) => CheckOp.Unpack((uint)step);

    public static List<CheckOp> Ops(ulong[] path) => [.. path.Select(Op)];
}
