using System.Collections.Concurrent;
using System.Diagnostics;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Scenarios;
using Numasim.Snapshots;

namespace Numasim.Checker;

/// <summary>What to explore and how.</summary>
public sealed record CheckOptions
{
    public required MachineSpec Spec { get; init; }
    public KernelProfile Profile { get; init; } = KernelProfile.Default;
    /// <summary>Longest operation sequence explored.</summary>
    public int Depth { get; init; } = 6;
    /// <summary>Operation families (<see cref="OpFamilies"/>); all when null.</summary>
    public IReadOnlySet<string>? Families { get; init; }
    /// <summary>Worker threads, each with its own machines.</summary>
    public int Jobs { get; init; } = 1;
    /// <summary>Stop (without a verdict beyond the depth reached) once this many distinct states are known.</summary>
    public long MaxStates { get; init; } = 20_000_000;
    /// <summary>Merge states that differ only by which DIMM slot / block number / CPU number holds what.</summary>
    public bool Symmetry { get; init; }
    /// <summary>The invariants; <see cref="Invariants.All"/> when null.</summary>
    public IReadOnlyList<IInvariant>? Invariants { get; init; }
    /// <summary>Called about twice a second from a timer thread while the search runs.</summary>
    public Action<CheckProgress>? Progress { get; init; }
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>A progress sample.</summary>
public readonly record struct CheckProgress(long States, long Transitions, int Depth, long Queue, TimeSpan Elapsed)
{
    public double StatesPerSecond => Elapsed.TotalSeconds > 0 ? States / Elapsed.TotalSeconds : 0;
}

/// <summary>A violated invariant with the shortest operation sequence that reaches it.</summary>
public sealed record Violation(IInvariant Invariant, string Message, IReadOnlyList<CheckOp> Path,
    IReadOnlyList<ScenarioStep> Steps, IReadOnlyList<ScenarioStep> Expectations, bool Reproduced);

/// <summary>The outcome of a search.</summary>
public sealed record CheckResult
{
    public Violation? Violation { get; init; }
    /// <summary>Distinct states (the boot state included).</summary>
    public long States { get; init; }
    /// <summary>Operations applied to explore (each enabled operation of each expanded state).</summary>
    public long Transitions { get; init; }
    /// <summary>Deepest level whose states were all generated.</summary>
    public int DepthReached { get; init; }
    /// <summary>No new state at the last level: the whole reachable space (under the ops) was seen.</summary>
    public bool Exhausted { get; init; }
    /// <summary>--max-states stopped the search.</summary>
    public bool Bounded { get; init; }
    public TimeSpan Elapsed { get; init; }
    /// <summary>Machines booted (one per worker thread, and the counterexample's replay).</summary>
    public long Boots { get; init; }
    public TimeSpan BootTime { get; init; }
    /// <summary>Machines copied from snapshots (<see cref="Machine.Clone"/>): one per operation tried on a fresh
    /// copy, plus one per level of the path re-walked to reach the next parent; images are counted in the time.</summary>
    public long Copies { get; init; }
    public TimeSpan CopyTime { get; init; }
    /// <summary>Operations applied again: a state's own operation on each copy of its parent, and the path
    /// re-walked from a cached ancestor.</summary>
    public long ReplayedOps { get; init; }
    public IReadOnlyList<long> StatesPerDepth { get; init; } = [];
    public double StatesPerSecond => Elapsed.TotalSeconds > 0 ? States / Elapsed.TotalSeconds : 0;
    public double TransitionsPerSecond => Elapsed.TotalSeconds > 0 ? Transitions / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Breadth-first exploration of the hotplug operation sequences of a machine, checking every invariant in every
/// new state, so that the first violation found is a shortest one. States are restored from snapshots
/// (<see cref="Machine.Clone"/>) kept along the path to the last state expanded, never by booting again; an
/// operation that fails without changing the state leaves the machine usable for the next one. One level is
/// expanded by --jobs threads, each with its own machines; the visited set (64-bit state hashes) is only written
/// between levels.
/// </summary>
public sealed class ModelChecker(CheckOptions options)
{
    private readonly CheckOptions _o = options;
    private readonly IReadOnlySet<string> _families = options.Families ?? OpFamilies.All.ToHashSet();
    private readonly IReadOnlyList<IInvariant> _inv = options.Invariants ?? Invariants.All;

    // The search tree: parent and operation of every distinct state.
    private readonly List<int> _parent = [];
    private readonly List<CheckOp> _op = [];
    private readonly List<ulong> _hash = [];
    private readonly HashSet<ulong> _visited = [];

    private long _transitions, _boots, _replayed, _bootTicks, _copies, _copyTicks;
    private int _depth;
    private long _statesApprox = 1;
    private long _queue;

    private readonly record struct Child(int Parent, CheckOp Op, ulong Hash, IInvariant? Broken, string? Message);

    public CheckResult Run()
    {
        var sw = Stopwatch.StartNew();
        using var timer = _o.Progress is null ? null : new Timer(_ => _o.Progress(Sample(sw)), null, _o.ProgressInterval, _o.ProgressInterval);
        var perDepth = new List<long>();

        var root = NewDriver(false);
        ulong rootHash = StateHasher.Hash(root, _o.Symmetry);
        _parent.Add(-1); _op.Add(default); _hash.Add(rootHash); _visited.Add(rootHash);
        perDepth.Add(1);
        if (FirstBroken(root) is { } rb)
            return Finish(sw, perDepth, 0, false, false, MakeViolation(0, rb.Inv, rb.Msg));

        var workers = new Worker[Math.Max(1, _o.Jobs)];
        for (int j = 0; j < workers.Length; j++) workers[j] = new Worker();
        var frontier = new List<int> { 0 };
        bool bounded = false;
        for (_depth = 0; _depth < _o.Depth && frontier.Count > 0; _depth++)
        {
            _queue = frontier.Count;
            var children = ExpandLevel(frontier, workers);
            // Merge in frontier order: deterministic whatever the number of jobs.
            var next = new List<int>();
            Child? broken = null;
            foreach (var list in children)
                foreach (var c in list)
                {
                    if (bounded) break;
                    if (!_visited.Add(c.Hash)) continue;
                    _parent.Add(c.Parent); _op.Add(c.Op); _hash.Add(c.Hash);
                    next.Add(_parent.Count - 1);
                    if (c.Broken is not null && broken is null) broken = c with { Parent = _parent.Count - 1 };
                    if (_visited.Count >= _o.MaxStates) { bounded = true; break; }
                }
            perDepth.Add(next.Count);
            Volatile.Write(ref _statesApprox, _visited.Count);
            if (broken is { } b)
                return Finish(sw, perDepth, _depth + 1, false, bounded, MakeViolation(b.Parent, b.Broken!, b.Message!));
            frontier = next;
            if (bounded) { _depth++; break; }
        }
        return Finish(sw, perDepth, _depth, frontier.Count == 0, bounded, null);
    }

    /// <summary>Expands every state of a level. The frontier is in search-tree order (children follow their
    /// parents' order), so consecutive states share long path prefixes; workers take contiguous chunks of it.</summary>
    private List<Child>[] ExpandLevel(List<int> frontier, Worker[] workers)
    {
        var children = new List<Child>[frontier.Count];
        if (workers.Length == 1)
        {
            for (int i = 0; i < frontier.Count; i++) children[i] = Expand(workers[0], frontier[i]);
            return children;
        }
        int chunk = Math.Clamp(frontier.Count / (workers.Length * 8), 1, 64);
        int chunks = (frontier.Count + chunk - 1) / chunk;
        int nextChunk = -1;
        Parallel.For(0, workers.Length, new ParallelOptions { MaxDegreeOfParallelism = workers.Length }, j =>
        {
            for (int c; (c = Interlocked.Increment(ref nextChunk)) < chunks;)
                for (int i = c * chunk; i < Math.Min(frontier.Count, (c + 1) * chunk); i++)
                    children[i] = Expand(workers[j], frontier[i]);
        });
        return children;
    }

    private CheckProgress Sample(Stopwatch sw) =>
        new(Volatile.Read(ref _statesApprox), Interlocked.Read(ref _transitions), _depth, _queue, sw.Elapsed);

    private CheckResult Finish(Stopwatch sw, List<long> perDepth, int depth, bool exhausted, bool bounded, Violation? v) => new()
    {
        Violation = v, States = _visited.Count, Transitions = _transitions, DepthReached = depth, Exhausted = exhausted,
        Bounded = bounded, Elapsed = sw.Elapsed, Boots = _boots, ReplayedOps = _replayed, Copies = _copies,
        BootTime = TimeSpan.FromTicks(_bootTicks), CopyTime = TimeSpan.FromTicks(_copyTicks), StatesPerDepth = perDepth,
    };

    private CheckDriver NewDriver(bool record)
    {
        long t0 = Stopwatch.GetTimestamp();
        var d = new CheckDriver(_o.Spec, _o.Profile, _families, record);
        Interlocked.Add(ref _bootTicks, Ticks(t0));
        Interlocked.Increment(ref _boots);
        return d;
    }

    /// <summary>A machine in the snapshot's state, free to change.</summary>
    private CheckDriver CopyOf(Snapshot s)
    {
        long t0 = Stopwatch.GetTimestamp();
        s.Image ??= s.Driver.Image();
        var copy = s.Image.Copy();
        Interlocked.Add(ref _copyTicks, Ticks(t0));
        Interlocked.Increment(ref _copies);
        return copy;
    }

    private static long Ticks(long since) =>
        (long)((Stopwatch.GetTimestamp() - since) * (double)TimeSpan.TicksPerSecond / Stopwatch.Frequency);

    /// <summary>The operations from boot to a state.</summary>
    public IReadOnlyList<CheckOp> PathTo(int node)
    {
        var path = new List<CheckOp>();
        for (int n = node; n > 0; n = _parent[n]) path.Add(_op[n]);
        path.Reverse();
        return path;
    }

    /// <summary>A machine in the state: boot, then replay its path (for the counterexample's recording).</summary>
    private CheckDriver Restore(IReadOnlyList<CheckOp> path, bool record = false)
    {
        var d = NewDriver(record);
        foreach (var op in path) d.Apply(op);
        Interlocked.Add(ref _replayed, path.Count);
        return d;
    }

    /// <summary>
    /// One thread's machines: snapshots along the search-tree path to the parent of the state it expanded last,
    /// root first. Snapshots are never changed; operations run on copies. Reaching the next parent costs one copy
    /// and one operation per level below the deepest common ancestor (nothing for a sibling).
    /// </summary>
    private sealed class Worker
    {
        public readonly List<int> Nodes = [];
        public readonly List<Snapshot> Snapshots = [];
        public readonly List<CheckOp> Ops = [];
        public readonly List<int> Path = [];
    }

    /// <summary>A machine kept in a state, and its image once it was first copied.</summary>
    private sealed class Snapshot(CheckDriver driver)
    {
        public readonly CheckDriver Driver = driver;
        public GraphImage<CheckDriver>? Image;
    }

    /// <summary>The worker's snapshot of a state, built from the deepest cached ancestor.</summary>
    private Snapshot SnapshotOf(Worker w, int node)
    {
        w.Path.Clear();
        for (int n = node; n >= 0; n = _parent[n]) w.Path.Add(n);
        w.Path.Reverse();
        int common = 0;
        while (common < w.Nodes.Count && common < w.Path.Count && w.Nodes[common] == w.Path[common]) common++;
        w.Nodes.RemoveRange(common, w.Nodes.Count - common);
        w.Snapshots.RemoveRange(common, w.Snapshots.Count - common);
        if (w.Nodes.Count == 0)
        {
            w.Nodes.Add(0);
            w.Snapshots.Add(new Snapshot(NewDriver(false)));
        }
        for (int i = w.Nodes.Count; i < w.Path.Count; i++)
        {
            var d = CopyOf(w.Snapshots[^1]);
            d.Apply(_op[w.Path[i]]);
            Interlocked.Increment(ref _replayed);
            w.Nodes.Add(w.Path[i]);
            w.Snapshots.Add(new Snapshot(d));
        }
        return w.Snapshots[^1];
    }

    private List<Child> Expand(Worker w, int node)
    {
        var result = new List<Child>();
        ulong stateHash = _hash[node];
        // Machines in the state are copies of the parent's snapshot with the state's own operation applied again:
        // the parent's image serves all its children, and a fresh state is never imaged.
        var parent = SnapshotOf(w, node == 0 ? 0 : _parent[node]);
        CheckOp? last = node == 0 ? null : _op[node];
        var d = InState(parent, last);
        d.EnabledOps(w.Ops);
        var todo = w.Ops.ToArray();
        foreach (var op in todo)
        {
            d ??= InState(parent, last);
            bool changed = d.Apply(op);
            Interlocked.Increment(ref _transitions);
            ulong h = StateHasher.Hash(d, _o.Symmetry);
            if (h == stateHash && !changed && d.Machine.Oops is null) continue; // still the state: reuse it
            var after = d;
            d = null;
            if (_visited.Contains(h)) continue; // read-only during a level
            var b = FirstBroken(after);
            result.Add(new Child(node, op, h, b?.Inv, b?.Msg));
            Interlocked.Increment(ref _statesApprox);
        }
        return result;
    }

    private CheckDriver InState(Snapshot parent, CheckOp? last)
    {
        var d = CopyOf(parent);
        if (last is { } op)
        {
            d.Apply(op);
            Interlocked.Increment(ref _replayed);
        }
        return d;
    }

    private (IInvariant Inv, string Msg)? FirstBroken(CheckDriver d)
    {
        foreach (var inv in _inv)
        {
            string? msg;
            try { msg = inv.Check(d); }
            catch (Exception e) { msg = $"the check threw {e.GetType().Name}: {e.Message}"; }
            if (msg is not null) return (inv, msg);
        }
        return null;
    }

    /// <summary>Replays the violating path with recording on, confirms the invariant breaks again, and collects the
    /// scenario steps and expectations.</summary>
    private Violation MakeViolation(int node, IInvariant inv, string message)
    {
        var path = PathTo(node);
        var d = Restore(path, record: true);
        string? again;
        try { again = inv.Check(d); } catch (Exception e) { again = e.Message; }
        IReadOnlyList<ScenarioStep> expectations = [];
        if (again is not null)
            try { expectations = inv.Expectations(d); } catch (Exception) { expectations = []; }
        return new Violation(inv, message, path, d.Steps, expectations, again is not null);
    }
}
