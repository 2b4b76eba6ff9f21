using BenchmarkDotNet.Attributes;
using Numasim.Checker;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Snapshots;

namespace Numasim.Bench;

/// <summary>
/// What restoring a checker state costs on the oracle machine: booting it (the baseline), saving its compact state
/// (once per state expanded), restoring a whole saved state (once per state expanded), and one transition: an
/// operation, then the restore of what it wrote. The machine is taken through five operations first, so that it
/// holds a DIMM, a plugged CPU and allocated pages.
/// </summary>
[MemoryDiagnoser]
public class SnapshotBenchmarks
{
    private MachineSpec _spec = null!;
    private HashSet<string> _families = null!;
    private CheckDriver _state = null!, _other = null!;
    private StateSnapshot _saved = null!, _otherSaved = null!;
    private CheckOp _op;

    [GlobalSetup]
    public void Setup()
    {
        _spec = QemuCommandLine.Parse(BootBenchmarks.OracleQemu).GetSpecOrThrow();
        _families = OpFamilies.All.ToHashSet();
        _state = new CheckDriver(_spec, KernelProfile.V6_1, _families);
        var ops = new List<CheckOp>();
        var rnd = new Random(1);
        for (int i = 0; i < 5; i++)
        {
            _state.EnabledOps(ops);
            _state.Apply(ops[rnd.Next(ops.Count)]);
        }
        _saved = _state.Save();
        _state.EnabledOps(ops);
        _op = ops.First(o => o.Kind == OpKind.Alloc);
        _other = new CheckDriver(_spec, KernelProfile.V6_1, _families);
        _otherSaved = _other.Save();
    }

    [Benchmark(Baseline = true)]
    public CheckDriver Boot() => new(_spec, KernelProfile.V6_1, _families);

    [Benchmark]
    public StateSnapshot Save() => _state.Save();

    /// <summary>A whole state restored (the machine was in another).</summary>
    [Benchmark]
    public void RestoreWhole()
    {
        _other.Restore(_saved);
        _other.Restore(_otherSaved);
    }

    /// <summary>One transition: an allocation, its fingerprint, and the restore of the regions it wrote.</summary>
    [Benchmark]
    public ulong Transition()
    {
        _state.Restore(_saved);
        _state.Apply(_op);
        ulong fp = _state.Machine.State.Fingerprints.Plain;
        _state.Restore(_saved);
        return fp;
    }
}
