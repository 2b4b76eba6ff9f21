using BenchmarkDotNet.Attributes;
using Numasim.Kernel.Profiles;
using Numasim.Scenarios;

namespace Numasim.Bench;

/// <summary>The seed scenario end to end (boot, hotplug, modprobe) under the profile before and after the fix.</summary>
[MemoryDiagnoser]
public class SeedScenarioBenchmarks
{
    private Scenario _seed = null!;

    [GlobalSetup]
    public void Setup()
    {
        var dir = AppContext.BaseDirectory;
        while (dir is not null && !File.Exists(Path.Combine(dir, "Numasim.slnx"))) dir = Path.GetDirectoryName(dir);
        _seed = ScenarioParser.Load(Path.Combine(dir ?? throw new InvalidOperationException("repo root not found"),
            "scenarios", "seed", "kvm-after-node-hot-remove.yaml"));
    }

    [Benchmark]
    public bool SeedV4_19() => ScenarioRunner.Run(_seed, KernelProfile.V4_19).Passed;

    [Benchmark]
    public bool SeedV6_1() => ScenarioRunner.Run(_seed, KernelProfile.V6_1).Passed;

    /// <summary>With --explain: the trace on and the whole tree read before and after each step.</summary>
    [Benchmark]
    public bool SeedV4_19Explained() => ScenarioRunner.Run(_seed, KernelProfile.V4_19, new ScenarioRunOptions { Explain = true }).Passed;
}
