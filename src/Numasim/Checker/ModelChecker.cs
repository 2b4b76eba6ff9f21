using System.Collections.Concurrent;
using System.Diagnostics;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Scenarios;

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
    /// <summary>Machines booted to restore states, and operations replayed for it.</summary>
    public long Boots { get; init; }
    public long ReplayedOps { get; init; }
    public TimeSpan BootTime { get; init; }
    public IReadOnlyList<long> StatesPerDepth { get; init; } = [];
    public double StatesPerSecond => Elapsed.TotalSeconds > 0 ? States / Elapsed.TotalSeconds : 0;
    public double TransitionsPerSecond => Elapsed.TotalSeconds > 0 ? Transitions / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Breadth-first exploration of the hotplug operation sequences of a machine, checking every invariant in every
/// new state, so that the first violation found is a shortest one. A state is restored by booting a machine and
/// replaying the operations that reached it (the model has no snapshot); an operation that fails without changing
/// the state leaves the machine usable for the next one. One level is expanded by --jobs threads, each with its own
/// machines; the visited set (64-bit state hashes) is only written between levels.
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

    private long _transitions, _boots, _replayed, _bootTicks;
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

        var frontier = new List<int> { 0 };
        bool bounded = false;
        for (_depth = 0; _depth < _o.Depth && frontier.Count > 0; _depth++)
        {
            _queue = frontier.Count;
            var children = new List<Child>[frontier.Count];
            if (_o.Jobs <= 1)
            {
                var ops = new List<CheckOp>();
                for (int i = 0; i < frontier.Count; i++) children[i] = Expand(frontier[i], ops);
            }
            else
            {
                Parallel.ForEach(Partitioner.Create(0, frontier.Count, Math.Max(1, Math.Min(64, frontier.Count / (_o.Jobs * 8) + 1))),
                    new ParallelOptions { MaxDegreeOfParallelism = _o.Jobs },
                    () => new List<CheckOp>(),
                    (range, _, ops) =>
                    {
                        for (int i = range.Item1; i < range.Item2; i++) children[i] = Expand(frontier[i], ops);
                        return ops;
                    },
                    _ => { });
            }
            // Merge in frontier order: deterministic whatever the number of jobs.
            var next = new List<int>();
            Child? broken = null;
            foreach (var list in children)
                foreach (var c in list)
                {
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

    private CheckProgress Sample(Stopwatch sw) =>
        new(Volatile.Read(ref _statesApprox), Interlocked.Read(ref _transitions), _depth, _queue, sw.Elapsed);

    private CheckResult Finish(Stopwatch sw, List<long> perDepth, int depth, bool exhausted, bool bounded, Violation? v) => new()
    {
        Violation = v, States = _visited.Count, Transitions = _transitions, DepthReached = depth, Exhausted = exhausted,
        Bounded = bounded, Elapsed = sw.Elapsed, Boots = _boots, ReplayedOps = _replayed,
        BootTime = TimeSpan.FromTicks(_bootTicks), StatesPerDepth = perDepth,
    };

    private CheckDriver NewDriver(bool record)
    {
        long t0 = Stopwatch.GetTimestamp();
        var d = new CheckDriver(_o.Spec, _o.Profile, _families, record);
        Interlocked.Add(ref _bootTicks, (long)((Stopwatch.GetTimestamp() - t0) * (double)TimeSpan.TicksPerSecond / Stopwatch.Frequency));
        Interlocked.Increment(ref _boots);
        return d;
    }

    /// <summary>The operations from boot to a state.</summary>
    public IReadOnlyList<CheckOp> PathTo(int node)
    {
        var path = new List<CheckOp>();
        for (int n = node; n > 0; n = _parent[n]) path.Add(_op[n]);
        path.Reverse();
        return path;
    }

    /// <summary>A machine in the state: boot, then replay its path.</summary>
    private CheckDriver Restore(IReadOnlyList<CheckOp> path, bool record = false)
    {
        var d = NewDriver(record);
        foreach (var op in path) d.Apply(op);
        Interlocked.Add(ref _replayed, path.Count);
        return d;
    }

    private List<Child> Expand(int node, List<CheckOp> ops)
    {
        var result = new List<Child>();
        var path = PathTo(node);
        ulong parentHash = _hash[node];
        var d = Restore(path);
        d.EnabledOps(ops);
        var todo = ops.ToArray();
        bool dirty = false;
        foreach (var op in todo)
        {
            if (dirty) d = Restore(path);
            bool changed = d.Apply(op);
            Interlocked.Increment(ref _transitions);
            ulong h = StateHasher.Hash(d, _o.Symmetry);
            dirty = true;
            if (h == parentHash && !changed && d.Machine.Oops is null) { dirty = false; continue; }
            if (_visited.Contains(h)) continue; // read-only during a level
            var b = FirstBroken(d);
            result.Add(new Child(node, op, h, b?.Inv, b?.Msg));
            Interlocked.Increment(ref _statesApprox);
        }
        return result;
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
