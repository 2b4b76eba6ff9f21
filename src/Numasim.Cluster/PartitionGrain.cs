using Numasim.Checker;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;

namespace Numasim.Cluster;

/// <summary>
/// A hash partition of the distributed search (<see cref="IPartitionGrain"/>). It keeps its state in memory only:
/// a partition whose silo dies comes back (if Orleans reactivates it elsewhere) without a spec, and every call then
/// fails, so a lost partition always stops the run with a message instead of silently dropping states.
/// </summary>
[PartitionPlacement]
public sealed class PartitionGrain : Grain, IPartitionGrain
{
    private const int BatchSize = 1024;
    /// <summary>Batches in flight before the expansion waits for their delivery (back pressure: the owners keep up).</summary>
    private const int InFlight = 4;

    private RunSpec? _spec;
    private Func<CheckDriver>? _boot;
    private SeenCache? _seen;
    private int _me, _level;
    private PathWalker? _walker;
    private IReadOnlyList<IInvariant> _inv = [];
    private VisitedSet _visited = new();
    private List<Candidate> _frontier = [];
    private readonly Dictionary<ulong, Candidate> _pending = [];
    private readonly List<CheckOp> _ops = [];

    public Task<ulong> Init(RunSpec spec)
    {
        var key = this.GetPrimaryKeyString();
        _me = int.Parse(key[(key.LastIndexOf('/') + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var profile = KernelProfile.Find(spec.Profile) ?? throw new ArgumentException($"unknown profile '{spec.Profile}'");
        var machine = SpecOf(spec);
        var families = spec.Families.ToHashSet();
        _boot = () => new CheckDriver(machine, profile, families);
        var d = _boot();
        _walker = new PathWalker(d);
        _seen = new SeenCache();
        _inv = Invariants.All;
        _visited = new VisitedSet();
        _frontier = [];
        _pending.Clear();
        _level = 0;
        _spec = spec;
        ulong root = Fingerprint(d);
        if (Paths.Owner(root, spec.Partitions) == _me)
        {
            _visited.Add(root);
            _frontier.Add(new Candidate { Fp = root, Path = [] });
        }
        return Task.FromResult(root);
    }

    /// <summary>The machine of the run, from QEMU options or machine-file text.</summary>
    public static MachineSpec SpecOf(RunSpec spec)
    {
        if (spec.Qemu is { } q)
        {
            var r = QemuCommandLine.Parse(q);
            return r.Ok ? r.Spec! : throw new ArgumentException("qemu: " + r.ErrorText);
        }
        return MachineFile.Parse(spec.MachineText ?? throw new ArgumentException("no machine"), "(cluster run)");
    }

    private ulong Fingerprint(CheckDriver d) => ModelChecker.FingerprintOf(d, _spec!.Fingerprint, _spec.Symmetry);

    private RunSpec Spec(int level)
    {
        if (_spec is null)
            throw new InvalidOperationException($"partition {this.GetPrimaryKeyString()} has no state: its silo left the cluster " +
                                                "and the partition was reactivated empty, so its states are lost");
        if (level != _level) throw new InvalidOperationException($"partition {_me}: asked for level {level}, at level {_level}");
        return _spec;
    }

    public Task Offer(Candidate[] batch)
    {
        Spec(_level);
        foreach (var c in batch) Keep(c);
        return Task.CompletedTask;
    }

    /// <summary>A candidate of the next level: dropped when visited before, else kept with its least path.</summary>
    private void Keep(Candidate c)
    {
        if (_visited.Contains(c.Fp)) return;
        if (!_pending.TryGetValue(c.Fp, out var old) || Paths.Compare(c.Path, old.Path) < 0) _pending[c.Fp] = c;
    }

    public async Task<ExpandReport> Expand(int level)
    {
        var spec = Spec(level);
        var w = _walker!;
        var d = w.D;
        long replayedBefore = w.Replayed;
        int p = spec.Partitions;
        var outbox = new List<Candidate>[p];
        for (int i = 0; i < p; i++) outbox[i] = [];
        long transitions = 0, skipped = 0, sent = 0, rendered = 0;
        var sends = new List<Task>();
        foreach (var s in _frontier)
        {
            var snap = w.Reach(s.Path);
            d.Restore(snap);
            ulong self = s.Fp;
            d.EnabledOps(_ops);
            CheckOp? last = s.Path.Length == 0 ? null : Paths.Op(s.Path[^1]);
            for (int i = 0; i < _ops.Count; i++)
            {
                var op = _ops[i];
                if (spec.PartialOrder && last is { } a && Independence.SkipAfter(a, op, d)) { skipped++; continue; }
                d.Apply(op);
                transitions++;
                ulong fp = Fingerprint(d);
                int owner = Paths.Owner(fp, p);
                if (fp != self && !(owner == _me && _visited.Contains(fp)) && !_seen!.SeenOrAdd(fp))
                {
                    ulong[] path = [.. s.Path, (ulong)i << 32 | op.Pack()];
                    var b = ModelChecker.FirstBroken(_inv, d);
                    if (b is null && ModelChecker.RenderSampled(fp, spec.RenderSample))
                    {
                        rendered++;
                        b = ModelChecker.RenderAudit(d, _boot!, Paths.Ops(path));
                    }
                    var c = new Candidate { Fp = fp, Path = path, Broken = b?.Inv.Name, Message = b?.Msg };
                    if (owner == _me) Keep(c);
                    else
                    {
                        outbox[owner].Add(c);
                        if (outbox[owner].Count >= BatchSize) { sends.Add(Send(owner, outbox[owner])); sent += BatchSize; outbox[owner] = []; }
                    }
                }
                if (d.Machine.State.Changed) d.Restore(snap);
            }
            if (sends.Count >= InFlight) { await Task.WhenAll(sends); sends.Clear(); }
        }
        for (int o = 0; o < p; o++)
            if (outbox[o].Count > 0) { sends.Add(Send(o, outbox[o])); sent += outbox[o].Count; }
        await Task.WhenAll(sends);
        return new ExpandReport { Transitions = transitions, Skipped = skipped, Sent = sent, Rendered = rendered, Replayed = w.Replayed - replayedBefore };
    }

    private Task Send(int owner, List<Candidate> batch) =>
        GrainFactory.GetGrain<IPartitionGrain>($"{_spec!.RunId}/{owner}").Offer([.. batch]);

    public Task<CommitReport> Commit(int level)
    {
        Spec(level);
        var next = new List<Candidate>(_pending.Count);
        foreach (var c in _pending.Values)
            if (_visited.Add(c.Fp)) next.Add(c);
        _pending.Clear();
        next.Sort((a, b) => Paths.Compare(a.Path, b.Path));
        _frontier = next;
        _level = level + 1;
        return Task.FromResult(new CommitReport
        {
            NewStates = next.Count, Visited = _visited.Count, LeastBroken = next.FirstOrDefault(c => c.Broken is not null),
            Silo = RuntimeIdentity,
        });
    }

    public Task<Candidate[]> Frontier(int level, int offset, int count)
    {
        Spec(level + 1);
        return Task.FromResult(_frontier.Skip(offset).Take(count).ToArray());
    }

    public Task Load(int level, ulong[] visited, Candidate[] frontier, bool first, bool last)
    {
        if (_spec is null) Spec(level);
        if (first)
        {
            _visited = new VisitedSet();
            _frontier = [];
            _pending.Clear();
        }
        foreach (var fp in visited) _visited.Add(fp);
        _frontier.AddRange(frontier);
        if (last) _frontier.Sort((a, b) => Paths.Compare(a.Path, b.Path));
        _level = level;
        return Task.CompletedTask;
    }

    public Task Release()
    {
        _spec = null;
        _walker = null;
        _boot = null;
        _seen = null;
        _visited = new VisitedSet();
        _frontier = [];
        _pending.Clear();
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}
