using Numasim.Kernel.Profiles;
using Numasim.Oracle.Fuzz;
using Numasim.Scenarios;

namespace Numasim.Tests.Oracle;

/// <summary>
/// The model's whole tree for fuzz cases of seed 20261208 against the real kernels' trees recorded by `numasim
/// oracle fuzz` (Recorded/*.kernel-dump.txt, each beside the case it ran, Recorded/*.yaml: Debian 6.1.176 and 6.12.111 under QEMU 7.2 TCG, 2026-12-07), file by
/// file for the families the model now shows as the kernel does.
/// </summary>
public class FuzzRecordedTreeTests
{
    /// <summary>The size of the oracle's initramfs each seed's runs booted (it places the early allocations; the
    /// kernel's "Freeing initrd memory" line gives it to the page).</summary>
    private static ulong RecordedInitrdBytes(int seed) => seed == 20261208 ? 1063765UL : 1058620UL;

    internal static IReadOnlyList<TreeFile> Compare(string kernel, int caseIndex, int seed = 20261208)
    {
        var profile = KernelProfile.Find(kernel)!;
        var stem = Path.Combine(Scenarios.ScenarioFilesTests.RepoRoot(), "tests", "Numasim.Tests", "Oracle", "Recorded",
            $"fuzz-{seed}-{caseIndex}.v{kernel}");
        // the case as generated then (the generator has grown since): the scenario file is kept beside the kernel's dump
        var scenario = ScenarioParser.Parse(File.ReadAllText(stem + ".yaml"), stem + ".yaml");
        var model = ScenarioRunner.Run(scenario, profile, spec => spec with { InitrdBytes = RecordedInitrdBytes(seed) });
        return TreeCompare.Compare(TreeCompare.ModelDump(model.Machine.Fs), File.ReadAllText(stem + ".kernel-dump.txt"));
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
    public void Whole_tree_is_the_kernels_crash_notes_addresses_included()
    {
        foreach (var (k, i, seed) in new[] { ("6.1", 0, 20261208), ("6.12", 0, 20261208), ("6.12", 1, 20261208), ("6.12", 8, 20261208), ("6.1", 1, 20261210), ("6.12", 7, 20261211) })
            AssertEqual(Compare(k, i, seed));
    }

    [Fact]
    public void On_6_12_threads_of_a_core_are_smt_siblings_and_an_offline_cpu_stays_in_the_l3_maps()
    {
        // seed 20261211 case 7: -smp 8,sockets=2,cores=2,threads=2 with cpu4 offlined: 6.12 reads QEMU's leaf 0xB
        // (siblings 0-1, smt/control on), and cpu5-7's L3 maps keep cpu4 (4-7)
        var files = Compare("6.12", 7, 20261211).Where(f => Under(f, "/topology/", "/cpu/smt/", "/cache/index3/shared_cpu")).ToList();
        Assert.Contains(files, f => f.Path.EndsWith("/cpu5/cache/index3/shared_cpu_list", StringComparison.Ordinal) && f.Kernel == "4-7");
        AssertEqual(files);
    }

    [Fact]
    public void Nohz_full_pads_its_null_mask_to_nr_cpu_ids_columns()
    {
        // seed 20261210 case 1: 7 possible CPUs, so " (null)"
        var f = Compare("6.1", 1, 20261210).Single(f => f.Path.EndsWith("/cpu/nohz_full", StringComparison.Ordinal));
        Assert.True(f.Equal, $"model '{f.Model}' kernel '{f.Kernel}'");
    }

    [Fact]
    public void One_present_cpu_of_several_possible_keeps_the_smp_locks_and_seven_sockets_move_smbios_high()
    {
        // -smp 1,maxcpus=7: alternative_instructions() patches for UP and keeps __smp_locks (node 0: 36 kB less than
        // when freed); 7 sockets make QEMU's SMBIOS table 796 bytes, past the F-segment: the top node loses a page
        AssertEqual(Compare("6.1", 1, 20261210).Where(f => f.Path.EndsWith("/meminfo", StringComparison.Ordinal) || f.Path == "/proc/zoneinfo"));
    }
}
