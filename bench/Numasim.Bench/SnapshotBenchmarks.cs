using BenchmarkDotNet.Attributes;
using Numasim.Checker;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Snapshots;

namespace Numasim.Bench;

/// <summary>
/// What restoring a checker state costs on the oracle machine: booting it, imaging a machine (once per parent
/// state), and copying an image (once per transition). The machine is taken through five operations first, so
/// that it holds a DIMM, a plugged CPU and allocated pages.
/// </summary>
[MemoryDiagnoser]
public class SnapshotBenchmarks
{
    private MachineSpec _spec = null!;
    private HashSet<string> _families = null!;
    private CheckDriver _state = null!;
    private GraphImage<CheckDriver> _image = null!;

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
        _image = _state.Image();
    }

    [Benchmark(Baseline = true)]
    public CheckDriver Boot() => new(_spec, KernelProfile.V6_1, _families);

    [Benchmark]
    public GraphImage<CheckDriver> Image() => _state.Image();

    [Benchmark]
    public CheckDriver Copy() => _image.Copy();
}
