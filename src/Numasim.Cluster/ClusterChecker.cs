using System.Diagnostics;
using Numasim.Checker;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;

namespace Numasim.Cluster;

/// <summary>What a distributed search explores, and on how many partitions.</summary>
public sealed record ClusterCheckOptions
{
    public required MachineSpec Spec { get; init; }
    /// <summary>The QEMU options the spec came from (sent to the silos as is), or null to send the spec as a machine file.</summary>
    public string? Qemu { get; init; }
    public KernelProfile Profile { get; init; } = KernelProfile.Default;
    public int Depth { get; init; } = 6;
    public IReadOnlySet<string>? Families { get; init; }
    public bool Symmetry { get; init; }
    public bool PartialOrder { get; init; }
    public FingerprintMode Fingerprint { get; init; } = FingerprintMode.Observed;
    /// <summary>Hash partitions of the visited set and frontier (grains); more than silos, so that each silo runs several.</summary>
    public int Partitions { get; init; } = 8;
    /// <summary>Stop once this many distinct states are known (checked at the end of each level).</summary>
    public long MaxStates { get; init; } = 20_000_000;
    /// <summary>Called after each level: depth, states, elapsed.</summary>
    public Action<CheckProgress>? Progress { get; init; }
    /// <summary>How often, while a stage runs, the coordinator asks the membership whether every silo is still active
    /// (a call to a silo that died without being declared dead would otherwise wait for the response timeout).</summary>
    public TimeSpan LivenessInterval { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>A distributed run that could not finish correctly (a silo lost, a partition that booted another machine).</summary>
public sealed class ClusterRunException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The coordinator of a distributed breadth-first search on Orleans. Level by level: every partition expands its
/// frontier and routes each successor to its owner (fingerprint's partition); when all have finished (the barrier),
/// every partition commits the candidates it received — those never visited, each with its least path in
/// search-tree order — as the next frontier. The counts per depth are therefore the single-process checker's, and of
/// a level's broken states the one with the least path is chosen, which is the state the single-process search
/// merges first: the same shortest counterexample for any number of silos or partitions.
/// </summary>
public sealed class ClusterChecker(IGrainFactory grains, ClusterCheckOptions options)
{
    private readonly ClusterCheckOptions _o = options;

    public async Task<CheckResult> RunAsync()
    {
        var sw = Stopwatch.StartNew();
        var families = _o.Families ?? OpFamilies.All.ToHashSet();
        var root = new CheckDriver(_o.Spec, _o.Profile, families);
        ulong rootFp = ModelChecker.FingerprintOf(root, _o.Fingerprint, _o.Symmetry);
        int stateBytes = root.Save().Length;
        var perDepth = new List<long> { 1 };
        if (ModelChecker.FirstBroken(Invariants.All, root) is { } rb)
            return Finish(sw, perDepth, 0, false, false, Replay([], rb.Inv, rb.Msg), 0, 0, 1, stateBytes, 0);

        var spec = new RunSpec
        {
            RunId = Guid.NewGuid().ToString("N"), Qemu = _o.Qemu, MachineText = _o.Qemu is null ? MachineFile.Write(_o.Spec) : null,
            Profile = _o.Profile.Name, Families = [.. families.Order()], Symmetry = _o.Symmetry, PartialOrder = _o.PartialOrder,
            Fingerprint = _o.Fingerprint, Partitions = _o.Partitions,
        };
        var parts = Enumerable.Range(0, _o.Partitions).Select(i => grains.GetGrain<IPartitionGrain>($"{spec.RunId}/{i}")).ToArray();
        _silosAtStart = await ActiveSilos();
        var roots = await Stage("booting the partitions", 0, parts.Select(g => g.Init(spec)));
        if (roots.Any(f => f != rootFp))
            throw new ClusterRunException("a partition booted a different machine (its root fingerprint differs from the coordinator's): are all silos the same numasim version?");

        long transitions = 0, skipped = 0, states = 1;
        int depth;
        bool bounded = false;
        var silos = new HashSet<string>();
        for (depth = 0; depth < _o.Depth; depth++)
        {
            var expanded = await Stage("expanding", depth, parts.Select(g => g.Expand(depth)));
            transitions += expanded.Sum(e => e.Transitions);
            skipped += expanded.Sum(e => e.Skipped);
            var committed = await Stage("committing", depth + 1, parts.Select(g => g.Commit(depth)));
            long fresh = committed.Sum(c => c.NewStates);
            states = committed.Sum(c => c.Visited);
            silos.UnionWith(committed.Select(c => c.Silo));
            if (states != perDepth.Sum() + fresh)
                throw new ClusterRunException($"level {depth + 1}: the partitions hold {states} states, not the {perDepth.Sum() + fresh} committed: a partition lost its state");
            perDepth.Add(fresh);
            _o.Progress?.Invoke(new CheckProgress(states, transitions, depth + 1, fresh, sw.Elapsed));
            var broken = committed.Select(c => c.LeastBroken).OfType<Candidate>().OrderBy(c => c.Path, Comparer<ulong[]>.Create(Paths.Compare)).FirstOrDefault();
            if (broken is not null)
            {
                var inv = Invariants.All.First(i => i.Name == broken.Broken);
                return Finish(sw, perDepth, depth + 1, false, false, Replay(Paths.Ops(broken.Path), inv, broken.Message!), transitions, skipped,
                    states, stateBytes, silos.Count);
            }
            if (fresh == 0) return Finish(sw, perDepth, depth + 1, true, false, null, transitions, skipped, states, stateBytes, silos.Count);
            if (states >= _o.MaxStates) { bounded = true; depth++; break; }
        }
        return Finish(sw, perDepth, depth, false, bounded, null, transitions, skipped, states, stateBytes, silos.Count);
    }

    private int _silosAtStart;

    /// <summary>Runs one stage on every partition; any failure (a silo lost, a partition reactivated empty, a silo
    /// gone from the membership while the stage runs) ends the run with a message saying where.</summary>
    private async Task<T[]> Stage<T>(string what, int level, IEnumerable<Task<T>> calls)
    {
        var tasks = calls.ToArray();
        var all = Task.WhenAll(tasks);
        while (await Task.WhenAny(all, Task.Delay(_o.LivenessInterval)) != all)
        {
            int active;
            try { active = await ActiveSilos().WaitAsync(TimeSpan.FromSeconds(30)); }
            catch (Exception e) { throw Lost(what, level, $"the cluster's membership did not answer ({e.GetType().Name}: {FirstLine(e.Message)})", e); }
            if (active < _silosAtStart)
                throw Lost(what, level, $"{_silosAtStart - active} of the {_silosAtStart} silos left the cluster", null);
        }
        try { return await all; }
        catch (Exception)
        {
            var first = tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.GetBaseException()).FirstOrDefault();
            throw Lost(what, level, $"{first?.GetType().Name}: {FirstLine(first?.Message)}", first);
        }
    }

    private static ClusterRunException Lost(string what, int level, string why, Exception? inner) =>
        new($"cluster run failed while {what} level {level}: {why}; no count is reported, since the states of a lost " +
            "partition would be missing: restart the run (a silo was probably killed or left the cluster)", inner);

    private static string FirstLine(string? s) => (s ?? "").Split('\n')[0].Trim();

    private async Task<int> ActiveSilos() =>
        (await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Count;

    private Violation Replay(List<CheckOp> path, IInvariant inv, string message) =>
        ModelChecker.ReplayViolation(new CheckDriver(_o.Spec, _o.Profile, _o.Families ?? OpFamilies.All.ToHashSet(), record: true), path, inv, message);

    private CheckResult Finish(Stopwatch sw, List<long> perDepth, int depth, bool exhausted, bool bounded, Violation? v,
        long transitions, long skipped, long states, int stateBytes, int silos) => new()
    {
        Violation = v, States = states, Transitions = transitions, DepthReached = depth, Exhausted = exhausted, Bounded = bounded,
        Elapsed = sw.Elapsed, Boots = _o.Partitions + (v is null ? 1 : 2), StatesPerDepth = perDepth, Skipped = skipped,
        StateBytes = stateBytes, VisitedBytes = 0, TreeBytes = 0,
        VisitedMode = $"hash compaction, 64-bit fingerprints, {_o.Partitions} partitions on {silos} silos",
        CollisionProbability = Math.Min(1, (double)states * states / Math.Pow(2, 65)),
    };
}
