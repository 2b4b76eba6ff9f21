using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Snapshots;

namespace Numasim.Checker;

/// <summary>One successor of a state: the operation, the new state's fingerprint and value, and the first invariant
/// it breaks (null: none).</summary>
public sealed record Successor(CheckOp Op, ulong Fingerprint, StateSnapshot State, IInvariant? Broken, string? Message);

/// <summary>
/// A state's successors, for a search run elsewhere (a distributed checker routes states between processes by
/// fingerprint and sends them as bytes: <see cref="StateSnapshot.ToBytes"/> / <see cref="StateSnapshot.FromBytes"/>).
/// One expander owns one machine of the spec and profile; not thread-safe (one per thread). The states it takes and
/// gives are those of a <see cref="CheckDriver"/> with the same families.
/// </summary>
public sealed class StateExpander
{
    private readonly CheckDriver _d;
    private readonly IReadOnlyList<IInvariant> _inv;
    private readonly List<CheckOp> _ops = [];
    private readonly bool _symmetry;

    public StateExpander(MachineSpec spec, KernelProfile profile, IReadOnlySet<string>? families = null,
        bool symmetry = false, IReadOnlyList<IInvariant>? invariants = null)
    {
        _d = new CheckDriver(spec, profile, families ?? OpFamilies.All.ToHashSet());
        _inv = invariants ?? Invariants.All;
        _symmetry = symmetry;
        Initial = _d.Save();
    }

    /// <summary>The state after boot.</summary>
    public StateSnapshot Initial { get; }

    /// <summary>The fingerprint the checker uses for a state.</summary>
    public ulong FingerprintOf(StateSnapshot s) => _symmetry ? s.Fingerprints.Symmetric : s.Fingerprints.Plain;

    /// <summary>Every enabled operation applied to the state, in the checker's order; operations that leave the
    /// state unchanged are left out.</summary>
    public List<Successor> Expand(StateSnapshot s)
    {
        var result = new List<Successor>();
        _d.Restore(s);
        ulong self = FingerprintOf(s);
        _d.EnabledOps(_ops);
        foreach (var op in _ops.ToArray())
        {
            _d.Apply(op);
            var fp = _d.Machine.State.Fingerprints;
            ulong f = _symmetry ? fp.Symmetric : fp.Plain;
            if (f != self)
            {
                (IInvariant, string)? broken = null;
                foreach (var inv in _inv)
                    if (inv.Check(_d) is { } m) { broken = (inv, m); break; }
                var next = _d.Machine.State.Save();
                result.Add(new Successor(op, f, next, broken?.Item1, broken?.Item2));
                _d.Restore(s);
            }
            else if (_d.Machine.State.Changed) _d.Restore(s);
        }
        return result;
    }
}
