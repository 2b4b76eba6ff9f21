using System.Diagnostics;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Scenarios;
using Numasim.Snapshots;
using Zobrist = Numasim.Snapshots.Zobrist;

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
    /// <summary>Skip an operation after an independent one that comes later in the operation order (sleep-set
    /// partial-order reduction, docs/checker.md): the same states, fewer transitions.</summary>
    public bool PartialOrder { get; init; }
    /// <summary>What a state's fingerprint covers: the checker's observation (default) or the whole compact state.</summary>
    public FingerprintMode Fingerprint { get; init; } = FingerprintMode.Observed;
    /// <summary>Bitstate hashing with 2^N bits instead of a set of 64-bit fingerprints (0: off).</summary>
    public int BitstateLog2 { get; init; }
    /// <summary>One state in N (chosen by fingerprint, the same for any --jobs) also has its whole /sys and /proc
    /// rendered and compared with a machine booted and replayed along its path (0: only the counterexample).</summary>
    public int RenderSample { get; init; } = 4096;
    /// <summary>The invariants; <see cref="Invariants.All"/> when null.</summary>
    public IReadOnlyList<IInvariant>? Invariants { get; init; }
    /// <summary>Called about twice a second from a timer thread while the search runs.</summary>
    public Action<CheckProgress>? Progress { get; init; }
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(500);
}

/// <summary>What a fingerprint covers.</summary>
public enum FingerprintMode
{
    /// <summary>The observed fields (CPUs, node states, blocks, zone counters, the checker's bookkeeping), kept up to
    /// date by each operation (Zobrist): the abstraction of docs/checker.md.</summary>
    Observed,
    /// <summary>A hash of the whole compact state, computed after each operation.</summary>
    Exact,
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
    /// <summary>Operations applied again: the path re-walked from a saved ancestor to the state expanded next.</summary>
    public long ReplayedOps { get; init; }
    public IReadOnlyList<long> StatesPerDepth { get; init; } = [];
    /// <summary>Restores of a saved state (a whole state or, after an operation, the regions it wrote).</summary>
    public long Restores { get; init; }
    /// <summary>Transitions the partial-order reduction skipped.</summary>
    public long Skipped { get; init; }
    /// <summary>States whose rendering was compared with a replay from boot.</summary>
    public long Rendered { get; init; }
    /// <summary>Bytes of one saved machine state (the root's).</summary>
    public int StateBytes { get; init; }
    /// <summary>Bytes of the visited set and of the search tree at the end.</summary>
    public long VisitedBytes { get; init; }
    public long TreeBytes { get; init; }
    /// <summary>How the visited set stores states, and the probability that two distinct states were merged.</summary>
    public string VisitedMode { get; init; } = "";
    public double CollisionProbability { get; init; }
    public double BytesPerState => States > 0 ? (double)(VisitedBytes + TreeBytes) / States : 0;
    public double StatesPerSecond => Elapsed.TotalSeconds > 0 ? States / Elapsed.TotalSeconds : 0;
    public double TransitionsPerSecond => Elapsed.TotalSeconds > 0 ? Transitions / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Breadth-first exploration of the hotplug operation sequences of a machine, checking every invariant in every
/// new state, so that the first violation found is a shortest one. A state is a compact value (the machine's
/// <see cref="Snapshots.StateStore"/>): each worker has one machine, keeps the saved states along the path to the
/// state it expands, and after each operation restores only the regions the operation wrote. A level is cut into
/// chunks in search-tree order; --jobs threads expand a batch of chunks, then the batch is merged into the visited
/// set in chunk order, so states, tree and counterexample are the same for any number of jobs.
/// </summary>
public sealed class ModelChecker(CheckOptions options)
{
    private readonly CheckOptions _o = options;
    private readonly IReadOnlySet<string> _families = options.Families ?? OpFamilies.All.ToHashSet();
    private readonly IReadOnlyList<IInvariant> _inv = options.Invariants ?? Invariants.All;
    private readonly SearchTree _tree = new();
    private readonly VisitedSet _visited = options.BitstateLog2 > 0 ? new BitstateSet(options.BitstateLog2) : new VisitedSet();

    private long _transitions, _boots, _replayed, _bootTicks, _restores, _skipped, _rendered;
    private int _depth;
    private long _statesApprox = 1;
    private long _queue;

    private readonly record struct Child(int Parent, uint Op, ulong Fp, IInvariant? Broken, string? Message);

    public CheckResult Run()
    {
        var sw = Stopwatch.StartNew();
        using var timer = _o.Progress is null ? null : new Timer(_ => _o.Progress(Sample(sw)), null, _o.ProgressInterval, _o.ProgressInterval);
        var perDepth = new List<long>();

        var workers = new Worker[Math.Max(1, _o.Jobs)];
        for (int j = 0; j < workers.Length; j++) workers[j] = new Worker(NewDriver(false));
        var root = workers[0];
        int stateBytes = root.Snaps[0].Length;
        ulong rootFp = Fingerprint(root.D);
        _tree.Add(-1, 0);
        _visited.Add(rootFp);
        perDepth.Add(1);
        if (FirstBroken(root.D) is { } rb)
            return Finish(sw, perDepth, 0, false, false, MakeViolation([], rb.Inv, rb.Msg), stateBytes);

        int levelStart = 0, levelEnd = 1;
        bool bounded = false;
        for (_depth = 0; _depth < _o.Depth && levelEnd > levelStart; _depth++)
        {
            _queue = levelEnd - levelStart;
            int before = (int)_tree.Count;
            Child? broken = null;
            ExpandLevel(levelStart, levelEnd, workers, list =>
            {
                foreach (var c in list)
                {
                    if (bounded) return;
                    if (!_visited.Add(c.Fp)) continue;
                    int n = _tree.Add(c.Parent, c.Op);
                    if (c.Broken is not null && broken is null) broken = c with { Parent = n };
                    if (_visited.Count >= _o.MaxStates) { bounded = true; return; }
                }
                Volatile.Write(ref _statesApprox, _visited.Count);
            });
            perDepth.Add(_tree.Count - before);
            Volatile.Write(ref _statesApprox, _visited.Count);
            if (broken is { } b)
                return Finish(sw, perDepth, _depth + 1, false, bounded, MakeViolation(_tree.PathTo(b.Parent), b.Broken!, b.Message!), stateBytes);
            levelStart = before;
            levelEnd = (int)_tree.Count;
            if (bounded) { _depth++; break; }
        }
        return Finish(sw, perDepth, _depth, levelEnd == levelStart, bounded, null, stateBytes);
    }

    /// <summary>Expands the states [start, end) of a level in chunks; batches of chunks are expanded in parallel and
    /// handed to <paramref name="merge"/> in order.</summary>
    private void ExpandLevel(int start, int end, Worker[] workers, Action<List<Child>> merge)
    {
        int count = end - start;
        int chunk = Math.Clamp(count / (workers.Length * 16), 1, 256);
        int chunks = (count + chunk - 1) / chunk;
        int batch = workers.Length == 1 ? 1 : workers.Length * 4;
        var results = new List<Child>[batch];
        for (int i = 0; i < batch; i++) results[i] = [];
        for (int first = 0; first < chunks; first += batch)
        {
            int inBatch = Math.Min(batch, chunks - first);
            void Run(Worker w, int c)
            {
                var into = results[c - first];
                into.Clear();
                w.ChunkFps.Clear();
                for (int s = start + c * chunk; s < Math.Min(end, start + (c + 1) * chunk); s++) Expand(w, s, into);
            }
            if (workers.Length == 1) Run(workers[0], first);
            else
            {
                int next = first - 1;
                Parallel.For(0, workers.Length, new ParallelOptions { MaxDegreeOfParallelism = workers.Length }, j =>
                {
                    for (int c; (c = Interlocked.Increment(ref next)) < first + inBatch;) Run(workers[j], c);
                });
            }
            for (int i = 0; i < inBatch; i++) merge(results[i]);
        }
    }

    private CheckProgress Sample(Stopwatch sw) =>
        new(Volatile.Read(ref _statesApprox), Interlocked.Read(ref _transitions), _depth, _queue, sw.Elapsed);

    private CheckResult Finish(Stopwatch sw, List<long> perDepth, int depth, bool exhausted, bool bounded, Violation? v, int stateBytes) => new()
    {
        Violation = v, States = _visited.Count, Transitions = _transitions, DepthReached = depth, Exhausted = exhausted,
        Bounded = bounded, Elapsed = sw.Elapsed, Boots = _boots, ReplayedOps = _replayed,
        BootTime = TimeSpan.FromTicks(_bootTicks), StatesPerDepth = perDepth, Restores = _restores, Skipped = _skipped,
        Rendered = _rendered, StateBytes = stateBytes, VisitedBytes = _visited.Bytes, TreeBytes = _tree.Bytes,
        VisitedMode = _visited.Mode, CollisionProbability = _visited.CollisionProbability(_visited.Count),
    };

    private CheckDriver NewDriver(bool record)
    {
        long t0 = Stopwatch.GetTimestamp();
        var d = new CheckDriver(_o.Spec, _o.Profile, _families, record);
        Interlocked.Add(ref _bootTicks, Ticks(t0));
        Interlocked.Increment(ref _boots);
        return d;
    }

    private static long Ticks(long since) =>
        (long)((Stopwatch.GetTimestamp() - since) * (double)TimeSpan.TicksPerSecond / Stopwatch.Frequency);

    private ulong Fingerprint(CheckDriver d) => FingerprintOf(d, _o.Fingerprint, _o.Symmetry);

    /// <summary>The fingerprint the checker keys a driver's current state by (shared with the distributed checker).</summary>
    public static ulong FingerprintOf(CheckDriver d, FingerprintMode mode, bool symmetry)
    {
        if (mode == FingerprintMode.Exact) return d.Machine.State.ExactHash();
        var fp = d.Machine.State.Fingerprints;
        return symmetry ? fp.Symmetric : fp.Plain;
    }

    /// <summary>The operations from boot to a state.</summary>
    public IReadOnlyList<CheckOp> PathTo(int node) => _tree.PathTo(node);

    /// <summary>
    /// One thread's machine and the saved states along the search-tree path to the state it expanded last, root
    /// first. Reaching the next state costs one restore and one operation per level below the deepest common
    /// ancestor (one for a sibling).
    /// </summary>
    private sealed class Worker
    {
        public Worker(CheckDriver d)
        {
            D = d;
            Nodes.Add(0);
            Snaps.Add(d.Save());
        }

        public readonly CheckDriver D;
        public readonly List<int> Nodes = [];
        public readonly List<Snapshots.StateSnapshot> Snaps = [];
        public readonly List<CheckOp> Ops = [];
        public readonly List<int> Path = [];
        /// <summary>Saved states no longer on the path, whose bytes the next save reuses.</summary>
        public readonly Stack<Snapshots.StateSnapshot> Spare = new();
        /// <summary>Fingerprints of the candidates of the chunk being expanded.</summary>
        public readonly HashSet<ulong> ChunkFps = [];
    }

    /// <summary>The worker's saved state of a tree node, made from the deepest saved ancestor.</summary>
    private Snapshots.StateSnapshot SnapshotOf(Worker w, int node)
    {
        _tree.NodesTo(node, w.Path);
        int common = 0;
        while (common < w.Nodes.Count && common < w.Path.Count && w.Nodes[common] == w.Path[common]) common++;
        w.Nodes.RemoveRange(common, w.Nodes.Count - common);
        for (int i = common; i < w.Snaps.Count; i++) w.Spare.Push(w.Snaps[i]);
        w.Snaps.RemoveRange(common, w.Snaps.Count - common);
        for (int i = w.Nodes.Count; i < w.Path.Count; i++)
        {
            w.D.Restore(w.Snaps[^1]);
            Interlocked.Increment(ref _restores);
            w.D.Apply(CheckOp.Unpack(_tree.Op(w.Path[i])));
            Interlocked.Increment(ref _replayed);
            w.Nodes.Add(w.Path[i]);
            w.Snaps.Add(w.D.Machine.State.Save(w.Spare.Count > 0 ? w.Spare.Pop() : null));
        }
        return w.Snaps[^1];
    }

    private void Expand(Worker w, int node, List<Child> into)
    {
        var snap = SnapshotOf(w, node);
        var d = w.D;
        d.Restore(snap);
        Interlocked.Increment(ref _restores);
        d.EnabledOps(w.Ops);
        CheckOp? last = node == 0 ? null : CheckOp.Unpack(_tree.Op(node));
        foreach (var op in w.Ops)
        {
            if (_o.PartialOrder && last is { } a && Independence.SkipAfter(a, op, d))
            {
                Interlocked.Increment(ref _skipped);
                continue;
            }
            d.Apply(op);
            Interlocked.Increment(ref _transitions);
            ulong fp = Fingerprint(d);
            if (!_visited.Contains(fp)) // a lookup while the merge may add: a miss only makes a candidate
            {
                // A fingerprint already among this chunk's candidates: the merge keeps that earlier one (chunk order
                // is search-tree order) and drops this, so its invariants would go unread. Only the rendering audit,
                // sampled by fingerprint, still runs as it did (the same states audited, the same count).
                bool first = w.ChunkFps.Add(fp);
                if (first || RenderSampled(fp, _o.RenderSample))
                {
                    var b = FirstBroken(d);
                    if (b is null && RenderSampled(fp, _o.RenderSample))
                        b = RenderAudit(d, node, op);
                    if (first)
                    {
                        into.Add(new Child(node, op.Pack(), fp, b?.Inv, b?.Msg));
                        Interlocked.Increment(ref _statesApprox);
                    }
                }
            }
            if (d.Machine.State.Changed)
            {
                d.Restore(snap);
                Interlocked.Increment(ref _restores);
            }
        }
    }

    private (IInvariant Inv, string Msg)? FirstBroken(CheckDriver d) => FirstBroken(_inv, d);

    /// <summary>The first of the invariants the driver's state breaks, in order; a check that throws counts as broken.</summary>
    public static (IInvariant Inv, string Msg)? FirstBroken(IReadOnlyList<IInvariant> invariants, CheckDriver d)
    {
        for (int i = 0; i < invariants.Count; i++)
        {
            var inv = invariants[i];
            string? msg;
            try { msg = inv.Check(d); }
            catch (Exception e) { msg = $"the check threw {e.GetType().Name}: {e.Message}"; }
            if (msg is not null) return (inv, msg);
        }
        return null;
    }

    /// <summary>Whether a state is one of the one in <paramref name="sample"/> (chosen by fingerprint) whose rendering is
    /// audited (0: none).</summary>
    public static bool RenderSampled(ulong fp, int sample) => sample > 0 && Zobrist.Mix(fp ^ 0x5A17) % (ulong)sample == 0;

    private (IInvariant Inv, string Msg)? RenderAudit(CheckDriver d, int parent, CheckOp op)
    {
        Interlocked.Increment(ref _rendered);
        var path = _tree.PathTo(parent);
        path.Add(op);
        return RenderAudit(d, () => new CheckDriver(_o.Spec, _o.Profile, _families), path);
    }

    /// <summary>The sampled check of the compact state itself: the state's /sys and /proc, rendered from it, are
    /// byte for byte those of a machine booted (by <paramref name="boot"/>) and replayed along the state's path.</summary>
    public static (IInvariant Inv, string Msg)? RenderAudit(CheckDriver d, Func<CheckDriver> boot, IReadOnlyList<CheckOp> path)
    {
        foreach (var inv in Invariants.Sampled)
            if (inv.Check(d) is { } m) return (inv, m);
        var replay = boot();
        foreach (var o in path) replay.Apply(o);
        string? msg = StateRendering.FirstDifference(d.Machine, replay.Machine);
        return msg is null ? null : (StateRendering.Invariant, msg);
    }

    /// <summary>Replays the violating path with recording on, confirms the invariant breaks again, and collects the
    /// scenario steps and expectations.</summary>
    private Violation MakeViolation(List<CheckOp> path, IInvariant inv, string message)
    {
        Interlocked.Add(ref _replayed, path.Count);
        return ReplayViolation(NewDriver(record: true), path, inv, message);
    }

    /// <summary>Replays a violating path from boot on a recording driver (<c>record: true</c>) and makes the
    /// violation: its scenario steps, expectations, and whether the invariant broke again.</summary>
    public static Violation ReplayViolation(CheckDriver d, IReadOnlyList<CheckOp> path, IInvariant inv, string message)
    {
        foreach (var op in path) d.Apply(op);
        string? again;
        try { again = inv == StateRendering.Invariant ? message : inv.Check(d); } catch (Exception e) { again = e.Message; }
        IReadOnlyList<ScenarioStep> expectations = [];
        if (again is not null)
            try { expectations = inv.Expectations(d); } catch (Exception) { expectations = []; }
        return new Violation(inv, message, path, d.Steps, expectations, again is not null);
    }
}
