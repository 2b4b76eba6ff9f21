using Numasim.Kernel.Profiles;
using Numasim.Oracle.Fuzz;
using Numasim.Scenarios;

namespace Numasim.Tests.Oracle;

/// <summary>
/// The model's whole tree for fuzz cases of seed 20261208 against the real kernels' trees recorded by `numasim
/// oracle fuzz` (Recorded/*.kernel-dump.txt: Debian 6.1.176 and 6.12.111 under QEMU 7.2 TCG, 2026-12-07), file by
/// file for the families the model now shows as the kernel does.
/// </summary>
public class FuzzRecordedTreeTests
{
    /// <summary>The size of the oracle's initramfs those runs booted (it places the early allocations).</summary>
    private const ulong RecordedInitrdBytes = 1063765;

    internal static IReadOnlyList<TreeFile> Compare(string kernel, int caseIndex)
    {
        var profile = KernelProfile.Find(kernel)!;
        var c = new FuzzGenerator(20261208, profile, kernel == "6.1").Case(caseIndex);
        var model = ScenarioRunner.Run(c.Scenario, profile, spec => spec with { InitrdBytes = RecordedInitrdBytes });
        var path = Path.Combine(Scenarios.ScenarioFilesTests.RepoRoot(), "tests", "Numasim.Tests", "Oracle", "Recorded",
            $"fuzz-20261208-{caseIndex}.v{kernel}.kernel-dump.txt");
        return TreeCompare.Compare(TreeCompare.ModelDump(model.Machine.Fs), File.ReadAllText(path));
    }

    private static void AssertEqual(IEnumerable<TreeFile> files)
    {
        var list = files.ToList();
        Assert.NotEmpty(list);
        var diff = list.Where(f => !f.Equal).Select(f => $"{f.Path}: model {f.Model ?? "(absent)"} kernel {f.Kernel ?? "(absent)"}").ToList();
        Assert.True(diff.Count == 0, string.Join("\n", diff));
    }

    private static bool Under(TreeFile f, params string[] parts) => parts.Any(p => f.Path.Contains(p, StringComparison.Ordinal));

    [Theory]
    [InlineData("6.1", 0)]
    [InlineData("6.12", 0)]
    [InlineData("6.12", 1)]
    public void Cpu_root_files_smt_cpuidle_and_modalias_are_the_kernels(string kernel, int i) =>
        AssertEqual(Compare(kernel, i).Where(f => Under(f, "/cpu/smt/", "/cpu/cpuidle/", "/cpu/modalias", "/cpu/nohz_full",
            "/cpu/crash_hotplug", "/cpu/enabled", "/memory/crash_hotplug")));

    [Theory]
    [InlineData("6.1", 0)]
    [InlineData("6.12", 0)]
    public void Each_cpu_is_bound_to_the_processor_driver_with_qemu64s_modalias(string kernel, int i) =>
        AssertEqual(Compare(kernel, i).Where(f => f.Path.EndsWith("/driver", StringComparison.Ordinal) || (f.Path.Contains("/cpu/cpu", StringComparison.Ordinal) && f.Path.EndsWith("/uevent", StringComparison.Ordinal))));

    [Theory]
    [InlineData("6.1", 0)]
    [InlineData("6.12", 0)]
    [InlineData("6.12", 1)]
    public void Cpu_hotplug_states_and_targets_are_the_kernels(string kernel, int i) =>
        AssertEqual(Compare(kernel, i).Where(f => Under(f, "/hotplug/")));

    [Theory]
    [InlineData("6.1", 0)]
    [InlineData("6.12", 0)]
    public void Node_vmstat_keys_memory_failure_and_hstates_are_the_kernels(string kernel, int i) =>
        AssertEqual(Compare(kernel, i).Where(f => Under(f, "/vmstat", "/memory_failure/", "/hugepages/")));

    [Fact]
    public void Zoneinfo_of_6_12_caps_the_empty_movable_zones_min_watermark_at_32() =>
        AssertEqual(Compare("6.12", 0).Where(f => f.Path == "/proc/zoneinfo"));

    [Fact]
    public void Below_512_MiB_khugepaged_never_raises_min_free_kbytes()
    {
        // case 8 of 6.12: 512 MiB of RAM, about 400 MiB managed: hugepage_init() leaves THP off, min_free_kbytes stays
        // the square-root rule's (DMA min 24, not 190)
        AssertEqual(Compare("6.12", 8).Where(f => f.Path == "/proc/zoneinfo"));
    }

    [Fact]
    public void Whole_tree_differs_only_in_crash_notes_addresses()
    {
        foreach (var (k, i) in new[] { ("6.1", 0), ("6.12", 0), ("6.12", 1), ("6.12", 8) })
            AssertEqual(Compare(k, i).Where(f => !f.Path.EndsWith("/crash_notes", StringComparison.Ordinal)));
    }
}
