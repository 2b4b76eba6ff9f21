using BenchmarkDotNet.Attributes;
using Numasim.Checker;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;

namespace Numasim.Bench;

/// <summary>
/// The model checker end to end, v6.1, every operation family, one job: depth 4 on the oracle machine and depth 3 on
/// a four-node machine (small enough for BenchmarkDotNet's repetitions; `numasim bench checker` runs depths 7 and 9).
/// Divide the states (printed once) by the mean for states per second per core.
/// </summary>
[MemoryDiagnoser]
public class CheckerBenchmarks
{
    private MachineSpec _oracle = null!, _four = null!;

    [GlobalSetup]
    public void Setup()
    {
        _oracle = QemuCommandLine.Parse(BootBenchmarks.OracleQemu).GetSpecOrThrow();
        _four = QemuCommandLine.Parse(CheckerMachines.FourNodeQemu).GetSpecOrThrow();
        Console.WriteLine($"// oracle depth 4: {Run(_oracle, 4)} states; four-node depth 3: {Run(_four, 3)} states");
    }

    private static long Run(MachineSpec spec, int depth) =>
        new ModelChecker(new CheckOptions { Spec = spec, Profile = KernelProfile.V6_1, Depth = depth }).Run().States;

    [Benchmark]
    public long OracleDepth4() => Run(_oracle, 4);

    [Benchmark]
    public long FourNodeDepth3() => Run(_four, 3);
}
