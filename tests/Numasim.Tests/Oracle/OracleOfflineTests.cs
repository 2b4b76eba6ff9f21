using Numasim.Kernel.Profiles;
using Numasim.Oracle;
using Numasim.Scenarios;
using Xunit;

namespace Numasim.Tests.Oracle;

/// <summary>The oracle's parts that need no QEMU: errno mapping, the up-front refusals, the model's observations.</summary>
public class OracleOfflineTests
{
    private const string Machine = "machine: {qemu: \"" + Numasim.Tests.Cli.CliHarness.OracleQemu + "\"}\n";

    private static readonly OracleKernel K61 = new("6.1", "/vmlinuz", null, "v6.1");
    private static readonly OracleKernel K612 = new("6.12", "/vmlinuz", null, "v6.12");

    [Theory]
    [InlineData("sh: write error: Invalid argument", "EINVAL")]
    [InlineData("sh: write error: Device or resource busy", "EBUSY")]
    [InlineData("sh: can't create /sys/x: nonexistent directory", "ENOENT")]
    [InlineData("sh: write error: No such device", "ENODEV")]
    [InlineData("something else", "EUNKNOWN")]
    public void Shell_errors_map_to_errno(string message, string errno) => Assert.Equal(errno, KernelRun.ErrnoOf(message));

    private static Scenario Parse(string steps) => ScenarioParser.Parse("name: t\n" + Machine + "steps:\n" + steps, "t.yaml");

    [Fact]
    public void Cpu_replug_after_unplug_is_refused_naming_the_step()
    {
        var sc = Parse("""
              - device_add: {driver: qemu64-x86_64-cpu, id: cpu2, socket-id: "2", core-id: "0", thread-id: "0"}
              - device_del: {id: cpu2}
              - device_add: {driver: qemu64-x86_64-cpu, id: cpu3, socket-id: "3", core-id: "0", thread-id: "0"}
            """);
        var why = QemuLimits.Refusal(sc, K61, KernelProfile.Find("v6.1")!);
        Assert.NotNull(why);
        Assert.StartsWith("t.yaml:6: refused: CPU device_add after the CPU device_del of line 5", why);
    }

    [Fact]
    public void Cpu_hot_add_runs_on_6_12_because_the_model_reproduces_the_kernels_refusal()
    {
        var cpu = Parse("  - device_add: {driver: qemu64-x86_64-cpu, id: cpu2, socket-id: \"2\", core-id: \"0\", thread-id: \"0\"}\n");
        Assert.Null(QemuLimits.Refusal(cpu, K612, KernelProfile.Find("v6.12")!));
        var model = ScenarioRunner.Run(cpu, KernelProfile.Find("v6.12"));
        Assert.Contains(model.Machine.Dmesg(), l => l.Contains("ACPI: Unable to map lapic to logical cpu number"));
    }

    [Fact]
    public void A_virtio_mem_unplug_expected_to_succeed_is_refused_and_one_expecting_qemus_error_runs()
    {
        var add = """
              - object-add: {qom-type: memory-backend-ram, id: v, size: "1073741824"}
              - device_add: {driver: virtio-mem-pci, id: vm0, memdev: v, node: "1"}

            """;
        var why = QemuLimits.Refusal(Parse(add + "  - device_del: {id: vm0}\n"), K61, KernelProfile.Find("v6.1")!);
        Assert.StartsWith("t.yaml:6: refused: device_del of a virtio-mem-pci device expected to succeed", why);
        Assert.Null(QemuLimits.Refusal(Parse(add + "  - device_del: {id: vm0, error: \"cannot be unplugged\"}\n"), K61, KernelProfile.Find("v6.1")!));
    }

    [Fact]
    public void The_machines_append_goes_to_the_guest_and_the_rest_to_qemu()
    {
        var (args, append) = OracleRunner.MachineArgs("-m 1G -append 'movablecore=512M movable_node' -smp 2");
        Assert.Equal(["-m", "1G", "-smp", "2"], args);
        Assert.Equal("movablecore=512M movable_node", append);
        Assert.Equal("force_bbm=1 bbm_block_size=268435456", GuestModules.ModuleOptions("virtio_mem.force_bbm=1 quiet virtio_mem.bbm_block_size=268435456", "virtio_mem"));
    }

    [Fact]
    public void A_scenario_for_another_kernels_profile_is_not_compared()
    {
        var sc = Parse("  - expect: {path: /sys/devices/system/node/online, equals: \"0\"}\n") with { Profile = "v6.12" };
        Assert.Contains("not for this kernel", QemuLimits.Refusal(sc, K61, KernelProfile.Find("v6.1")!));
        Assert.Null(QemuLimits.Refusal(sc, K612, KernelProfile.Find("v6.12")!));
    }

    [Fact]
    public void Dimm_add_after_a_failed_eject_is_refused_using_the_model()
    {
        // memory32 onlined to ZONE_NORMAL on node 0 holds kernel pages on the model too: its eject fails
        var sc = Parse("""
              - object-add: {qom-type: memory-backend-ram, id: mem1, size: "134217728"}
              - device_add: {driver: pc-dimm, id: dimm1, memdev: mem1, node: "0"}
              - write: {path: /sys/devices/system/memory/memory32/state, value: online_kernel}
              - device_del: {id: dimm1}
              - object-add: {qom-type: memory-backend-ram, id: mem2, size: "134217728"}
              - device_add: {driver: pc-dimm, id: dimm2, memdev: mem2, node: "0"}
            """);
        var why = QemuLimits.Refusal(sc, K61, KernelProfile.Find("v6.1")!);
        // whether the model refuses that eject is the model's business; when it does, the add must be refused
        var model = ScenarioRunner.Run(sc with { Steps = sc.Steps.Take(4).ToList() });
        bool stillPlugged = model.Machine.Qmp.DeviceDel(new Dictionary<string, string> { ["id"] = "dimm1" }).Ok;
        if (stillPlugged) Assert.Contains("after the failed DIMM eject of line 7", why);
        else Assert.Null(why);
    }

    [Fact]
    public void A_machine_file_is_refused()
    {
        var sc = ScenarioParser.Parse("name: t\nmachine: machines/x.yaml\nsteps: []\n", "t.yaml");
        Assert.Contains("needs the machine as QEMU options", QemuLimits.Refusal(sc, K61, KernelProfile.Find("v6.1")!));
    }

    [Fact]
    public void Model_only_steps_are_skipped_on_the_kernel()
    {
        var sc = Parse("  - modprobe: kvm_intel\n  - expect: {no_oops: \"true\"}\n  - expect: {path: /sys/devices/system/node/online, equals: \"0\"}\n");
        Assert.True(KernelRun.IsModelOnly(sc.Steps[0]));
        Assert.True(KernelRun.IsModelOnly(sc.Steps[1]));
        Assert.False(KernelRun.IsModelOnly(sc.Steps[2]));
    }

    [Fact]
    public void Oracle_without_files_or_kernel_is_bad_input()
    {
        var r = Numasim.Tests.Cli.CliHarness.Run("oracle", "/nonexistent.yaml", "--kernel", "6.1");
        Assert.Equal(2, r.Exit);
        Assert.StartsWith("numasim: /nonexistent.yaml: No such file or directory", r.Err);
    }
}
