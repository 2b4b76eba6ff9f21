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
    /// <summary>One state in N also has its /sys and /proc compared with a replay from boot, as in the single-process
    /// checker (<see cref="CheckOptions.RenderSample"/>).</summary>
    public int RenderSample { get; init; } = 4096;
    /// <summary>Called after each level with the level expanded (0: boot's successors), states, elapsed.</summary>
    public Action<CheckProgress>? Progress { get; init; }
    /// <summary>How often, while a stage runs, the coordinator asks the membership whether every silo is still active
    /// (a call to a silo that died without being declared dead would otherwise wait for the response timeout).</summary>
    public TimeSpan LivenessInterval { get; init; } = TimeSpan.FromSeconds(2);
    /// <summary>Silo losses to survive: the coordinator keeps a checkpoint of each level (<see cref="LevelCheckpoint"/>)
    /// and resumes the lost level on the silos left. 0: a lost silo ends the run.</summary>
    public int Resumes { get; init; }
    /// <summary>Told when a level is resumed after a loss.</summary>
    public Action<string>? Notice { get; init; }
}

/// <summary>A distributed run that could not finish correctly (a silo lost, a partition that booted another machine).</summary>
public sealed class ClusterRunException(string message, Exception? inner = null, string? cause = null) : Exception(message, inner)
{
    /// <summary>What went wrong, without the advice of the message.</summary>
    public string Cause { get; } = cause ?? message;
}

/// <summary>
/// The coordinator of a distributed breadth-first search on Orleans. Level by level: every partition expands its
/// frontier and routes each successor to its owner (fingerprint's partition); when all have finished (the barrier),
/// every partition commits the candidates it received — those never visited, each with its least path in
/// search-tree order — as the next frontier. The counts per depth are therefore the single-process checker's, and of
/// a level's broken states the one with the least path is chosen, which is the state the single-process search
/// merges first: the same shortest counterexample for any number of silos or partitions. A lost silo ends the run with
/// a message, or (with <see cref="ClusterCheckOptions.Resumes"/>) the level runs again on the silos left from the
/// coordinator's checkpoint of it; no count of an interrupted level is ever reported.
/// </summary>
public sealed class ClusterChecker(IGrainFactory grains, ClusterCheckOptions options)
{
    private readonly ClusterCheckOptions _o = options;

    private readonly Stopwatch _sw = new();
    private Func<string, RunSpec>? _run;
    private IPartitionGrain[] _parts = [];
    private LevelCheckpoint? _checkpoint;
    private int _resumesLeft;
    private ulong _rootFp;
    private readonly List<long> _perDepth = [1];
    private readonly HashSet<string> _silos = [];
    private long _transitions, _skipped, _rendered, _replayed, _sent, _states = 1;
    private int _stateBytes;

    /// <summary>Runs the search (one run per checker).</summary>
    public async Task<CheckResult> RunAsync()
    {
        if (_sw.IsRunning || _perDepth.Count > 1) throw new InvalidOperationException("a ClusterChecker runs once");
        _sw.Start();
        var families = _o.Families ?? OpFamilies.All.ToHashSet();
        var root = new CheckDriver(_o.Spec, _o.Profile, families);
        ulong rootFp = ModelChecker.FingerprintOf(root, _o.Fingerprint, _o.Symmetry);
        _stateBytes = root.Save().Length;
        if (ModelChecker.FirstBroken(Invariants.All, root) is { } rb)
            return Finish(0, false, false, Replay([], rb.Inv, rb.Msg));

        _run = id => new RunSpec
        {
            RunId = id, Qemu = _o.Qemu, MachineText = _o.Qemu is null ? MachineFile.Write(_o.Spec) : null,
            Profile = _o.Profile.Name, Families = [.. families.Order()], Symmetry = _o.Symmetry, PartialOrder = _o.PartialOrder,
            Fingerprint = _o.Fingerprint, Partitions = _o.Partitions, RenderSample = _o.RenderSample,
        };
        _rootFp = rootFp;
        _checkpoint = _o.Resumes > 0 ? new LevelCheckpoint(rootFp) : null;
        _resumesLeft = _o.Resumes;
        try
        {
            await Start(0);
            return await Search();
        }
        finally { await ReleaseQuietly(); }
    }

    /// <summary>Boots a fresh set of partitions (a new run id) and, past level 0, loads the checkpoint into them.</summary>
    private async Task Start(int level)
    {
        var spec = _run!(Guid.NewGuid().ToString("N"));
        _parts = [.. Enumerable.Range(0, _o.Partitions).Select(i => grains.GetGrain<IPartitionGrain>($"{spec.RunId}/{i}"))];
        _silosAtStart = await ActiveSilos();
        var roots = await Stage("booting the partitions", level, _parts.Select(g => g.Init(spec)));
        if (roots.Any(f => f != _rootFp))
            throw new ClusterRunException("a partition booted a different machine (its root fingerprint differs from the " +
                                          "coordinator's): are all silos the same numasim version?");
        if (level == 0) return;
        await Stage("loading the checkpoint of", level, _parts.Select(async (g, i) =>
        {
            bool first = true;
            foreach (var (visited, frontier) in _checkpoint!.For(i, _o.Partitions))
            {
                await g.Load(level, visited, frontier, first, last: false);
                first = false;
            }
            await g.Load(level, [], [], first, last: true);
            return i;
        }));
    }

    /// <summary>Best effort: a silo that is gone has no partition left to release.</summary>
    private async Task ReleaseQuietly()
    {
        try { await Task.WhenAll(_parts.Select(g => g.Release())).WaitAsync(TimeSpan.FromSeconds(10)); }
        catch (Exception e) when (e is not OutOfMemoryException) { }
    }

    /// <summary>The levels; a level that lost a silo is run again from its checkpoint while resumes are left.</summary>
    private async Task<CheckResult> Search()
    {
        int depth;
        bool bounded = false;
        for (depth = 0; depth < _o.Depth; depth++)
        {
            (ExpandReport[] Expanded, CommitReport[] Committed) level;
            try { level = await Level(depth); }
            catch (ClusterRunException e) when (_checkpoint is not null && _resumesLeft > 0)
            {
                _resumesLeft--;
                _o.Notice?.Invoke($"{e.Cause}; resuming level {depth} from its checkpoint on the silos left");
                await ReleaseQuietly();
                await SettleMembership();
                await Start(depth);
                depth--;
                continue;
            }
            var (expanded, committed) = level;
            _transitions += expanded.Sum(e => e.Transitions);
            _skipped += expanded.Sum(e => e.Skipped);
            _rendered += expanded.Sum(e => e.Rendered);
            _replayed += expanded.Sum(e => e.Replayed);
            _sent += expanded.Sum(e => e.Sent);
            long fresh = committed.Sum(c => c.NewStates);
            _states = committed.Sum(c => c.Visited);
            _silos.UnionWith(committed.Select(c => c.Silo));
            _perDepth.Add(fresh);
            // Depth: the level just expanded (the single-process checker's sample names the level it is expanding).
            _o.Progress?.Invoke(new CheckProgress(_states, _transitions, depth, fresh, _sw.Elapsed));
            var broken = committed.Select(c => c.LeastBroken).OfType<Candidate>()
                .OrderBy(c => c.Path, Comparer<ulong[]>.Create(Paths.Compare)).FirstOrDefault();
            if (broken is not null)
                return Finish(depth + 1, false, false, Replay(Paths.Ops(broken.Path), InvariantNamed(broken.Broken!), broken.Message!));
            if (fresh == 0) return Finish(depth + 1, true, false, null);
            if (_states >= _o.MaxStates) { bounded = true; depth++; break; }
        }
        return Finish(depth, false, bounded, null);
    }

    /// <summary>One level: expand everywhere, then (the barrier passed) commit everywhere, then (with resumes) take the
    /// level's checkpoint. Nothing is counted until the whole level is done.</summary>
    private async Task<(ExpandReport[], CommitReport[])> Level(int depth)
    {
        var expanded = await Stage("expanding", depth, _parts.Select(g => g.Expand(depth)));
        var committed = await Stage("committing", depth + 1, _parts.Select(g => g.Commit(depth)));
        long fresh = committed.Sum(c => c.NewStates), states = committed.Sum(c => c.Visited);
        if (states != _perDepth.Sum() + fresh)
            throw new ClusterRunException($"level {depth + 1}: the partitions hold {states} states, not the " +
                                          $"{_perDepth.Sum() + fresh} committed: a partition lost its state");
        if (_checkpoint is not null)
            _checkpoint.Add(await Stage("checkpointing", depth + 1, _parts.Select(async g =>
            {
                var all = new List<Candidate>();
                for (Candidate[] chunk; (chunk = await g.Frontier(depth, all.Count, LevelCheckpoint.Chunk)).Length > 0;) all.AddRange(chunk);
                return all.ToArray();
            })));
        return (expanded, committed);
    }

    /// <summary>After a loss: until the membership shows fewer silos than the run had (a silo that stopped answering is
    /// declared dead after a few missed probes), at most half a minute.</summary>
    private async Task SettleMembership()
    {
        var until = Stopwatch.StartNew();
        while (until.Elapsed < TimeSpan.FromSeconds(30))
        {
            try { if (await ActiveSilos().WaitAsync(TimeSpan.FromSeconds(10)) < _silosAtStart) return; }
            catch (Exception e) when (e is TimeoutException or OrleansException) { }
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>An invariant a partition reported by name: the checked ones, the sampled ones, or the rendering audit.</summary>
    private static IInvariant InvariantNamed(string name) =>
        Invariants.All.Concat(Invariants.Sampled).Append(StateRendering.Invariant).First(i => i.Name == name);

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
            "partition would be missing: restart the run (a silo was probably killed or left the cluster)", inner,
            $"cluster run lost a silo while {what} level {level}: {why}");

    private static string FirstLine(string? s) => (s ?? "").Split('\n')[0].Trim();

    private async Task<int> ActiveSilos() =>
        (await grains.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true)).Count;

    private Violation Replay(List<CheckOp> path, IInvariant inv, string message) =>
        ModelChecker.ReplayViolation(new CheckDriver(_o.Spec, _o.Profile, _o.Families ?? OpFamilies.All.ToHashSet(), record: true), path, inv, message);

    private CheckResult Finish(int depth, bool exhausted, bool bounded, Violation? v) => new()
    {
        Violation = v, States = _states, Transitions = _transitions, DepthReached = depth, Exhausted = exhausted, Bounded = bounded,
        Elapsed = _sw.Elapsed, Boots = _o.Partitions + _rendered + (v is null ? 1 : 2), StatesPerDepth = _perDepth, Skipped = _skipped,
        Rendered = _rendered, ReplayedOps = _replayed, StateBytes = _stateBytes, VisitedBytes = 0, TreeBytes = 0,
        VisitedMode = $"hash compaction, 64-bit fingerprints, {_o.Partitions} partitions on {_silos.Count} silos, " +
                      $"{_sent} candidates sent between partitions, {_replayed} operations replayed",
        CollisionProbability = Math.Min(1, (double)_states * _states / Math.Pow(2, 65)),
    };
}
