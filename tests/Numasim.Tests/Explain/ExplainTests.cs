using System.Text.Json.Nodes;
using Numasim.Explain;
using Numasim.Firmware;
using Numasim.Kernel;
using Numasim.Kernel.Profiles;
using Numasim.Kernel.Trace;
using Numasim.Scenarios;
using Numasim.Tests.Cli;

namespace Numasim.Tests.Explain;

/// <summary>--explain: what the model records of its own path, decisions, failed checks and changed files, on the
/// seed (v4.19's numa_clear_node and the oops in __alloc_pages_node with node -1) and on refusals.</summary>
public class ExplainTests
{
    private static string Repo => Report.ReportInChromiumTests.RepoRoot();
    private static string Seed => Path.Combine(Repo, "scenarios", "seed", "kvm-after-node-hot-remove.yaml");

    private static StepResult StepOf(ScenarioResult r, string kind, Func<ScenarioStep, bool>? which = null) =>
        r.Steps.Last(s => s.Step.Kind == kind && (which?.Invoke(s.Step) ?? true) && !s.Message.Contains("(skipped:", StringComparison.Ordinal));

    private static string Text(StepExplanation x)
    {
        var w = new StringWriter { NewLine = "\n" };
        ExplainText.Write(x, w, "");
        return w.ToString();
    }

    [Fact]
    public void V4_19_dimm_eject_explains_try_offline_node_down_to_numa_clear_node_clearing_cpu_to_node()
    {
        var r = ScenarioRunner.Run(ScenarioParser.Load(Seed), KernelProfile.V4_19, new ScenarioRunOptions { Explain = true });
        var eject = StepOf(r, "device_del", s => s.Args["id"] == "dimm1").Explanation!;
        var text = Text(eject);
        Assert.Contains("try_offline_node(node 1)\n", text);
        Assert.Contains("check_and_unmap_cpu_on_node(node 1)\n", text);
        Assert.Contains("unmap_cpu_on_node(node 1)\n", text);
        Assert.Contains("numa_clear_node(cpu 2)\n", text);
        Assert.Contains("~ cpu_to_node(2): 1 → -1 (NUMA_NO_NODE)", text);
        // The calls nest as the kernel's do: numa_clear_node inside unmap_cpu_on_node inside try_offline_node.
        var path = PathTo(eject.Calls, "numa_clear_node");
        Assert.Equal(["qmp_device_del", "acpi_scan_hot_remove", "__remove_memory", "try_remove_memory", "try_offline_node", "check_and_unmap_cpu_on_node", "unmap_cpu_on_node", "numa_clear_node"], path);
        Assert.Contains(eject.Files, f => f.Path == "/sys/devices/system/node/online" && f.Before == "0-1\n" && f.After == "0\n");
        Assert.Contains(eject.Files, f => f.Path == "/sys/devices/system/node/node1" && f.Removed);
    }

    [Fact]
    public void V4_19_oops_step_goes_through_alloc_vmcs_cpu_and_alloc_pages_node_with_node_minus_one()
    {
        var r = ScenarioRunner.Run(ScenarioParser.Load(Seed), KernelProfile.V4_19, new ScenarioRunOptions { Explain = true });
        var modprobe = StepOf(r, "modprobe").Explanation!;
        var path = PathTo(modprobe.Calls, "__alloc_pages_nodemask", n => n.Event.Text.Contains("nid -1", StringComparison.Ordinal) || n.Event.Function != "__alloc_pages_nodemask");
        Assert.Equal(["vmx_init", "kvm_init", "kvm_arch_hardware_setup", "hardware_setup", "alloc_kvm_area", "alloc_vmcs_cpu", "__alloc_pages_node", "__alloc_pages_nodemask"], path);
        var text = Text(modprobe);
        Assert.Contains("alloc_vmcs_cpu(cpu 2)\n", text);
        Assert.Contains("= node = cpu_to_node(2) = -1", text);
        Assert.Contains("__alloc_pages_node(nid -1, GFP_KERNEL, order 0)", text);
        Assert.Contains(modprobe.Events, e => e.Kind == TraceKind.Oops && e.Text.Contains("NODE_DATA(-1)", StringComparison.Ordinal));
        Assert.Contains(modprobe.Dmesg, l => l.Contains("BUG: unable to handle kernel paging request at 00000000000021c0", StringComparison.Ordinal));
    }

    [Fact]
    public void V6_1_keeps_cpu_to_node_and_the_vmcs_falls_back_through_node_1s_zonelist()
    {
        var r = ScenarioRunner.Run(ScenarioParser.Load(Seed), KernelProfile.V6_1, new ScenarioRunOptions { Explain = true });
        var eject = Text(StepOf(r, "device_del", s => s.Args["id"] == "dimm1").Explanation!);
        Assert.Contains("check_cpu_on_node(node 1)", eject);
        Assert.DoesNotContain("numa_clear_node", eject);
        var modprobe = Text(StepOf(r, "modprobe").Explanation!);
        Assert.Contains("__alloc_pages_node(nid 1, GFP_KERNEL, order 0)", modprobe);
        Assert.Contains("= NODE_DATA(1) exists: its zonelist decides", modprobe);
        Assert.Contains("= the fallback zonelist of node 1, zones up to Normal: Node 0 DMA32, Node 0 DMA", modprobe);
    }

    [Fact]
    public void A_refused_offline_names_the_errno_and_the_check_and_changes_no_file()
    {
        var r = ScenarioRunner.Run(ScenarioParser.Load(Path.Combine(Repo, "scenarios", "hotplug", "kernel-memory-eject-fails.yaml")), null,
            new ScenarioRunOptions { Explain = true });
        var refused = StepOf(r, "write", s => s.Args.GetValueOrDefault("errno") == "EBUSY");
        var (errno, check) = refused.Explanation!.FirstError;
        Assert.Equal(Errno.EBUSY, errno);
        Assert.Contains("start_isolate_page_range(): an unmovable page in memory35", check);
        Assert.DoesNotContain(refused.Explanation.Files, f => f.Path.EndsWith("/state", StringComparison.Ordinal));
        Assert.Contains("✗ EBUSY (Device or resource busy): ", Text(refused.Explanation));
    }

    [Fact]
    public void Without_explain_the_trace_records_nothing_and_steps_carry_no_explanation()
    {
        var r = ScenarioRunner.Run(ScenarioParser.Load(Seed), KernelProfile.V4_19);
        Assert.All(r.Steps, s => Assert.Null(s.Explanation));
        Assert.False(r.Machine.Kernel.Trace.Enabled);
        Assert.Empty(r.Machine.Kernel.Trace.Take());
    }

    [Fact]
    public void Run_explain_as_json_carries_the_call_tree_and_the_files()
    {
        var cli = CliHarness.Run("run", Seed, "--profile", "v4.19", "--explain", "--format", "json");
        Assert.Equal(0, cli.Exit);
        var doc = JsonNode.Parse(cli.Out[..cli.Out.LastIndexOf(']')] + "]")!.AsArray();
        var steps = doc[0]!["steps"]!.AsArray();
        var eject = steps.Single(s => (string?)s!["message"] == "device_del id=dimm1")!["explain"]!;
        Assert.Equal("qmp_device_del", (string?)eject["calls"]![0]!["call"]);
        Assert.Contains(eject["files"]!.AsArray(), f => (string?)f!["path"] == "/sys/devices/system/node/online" && (string?)f["after"] == "0\n");
        Assert.Contains("numa_clear_node", eject.ToJsonString());
        // Expectations only read: they carry no explanation.
        Assert.All(steps.Where(s => (string?)s!["kind"] == "expect"), s => Assert.Null(s!["explain"]));
    }

    [Fact]
    public void The_plain_json_output_keeps_its_shape_without_explain()
    {
        var cli = CliHarness.Run("run", Seed, "--profile", "v4.19", "--format", "json");
        Assert.DoesNotContain("\"explain\"", cli.Out);
    }

    [Fact]
    public void Boot_explain_shows_the_numa_init_decisions()
    {
        var cli = CliHarness.Run("boot", "--qemu", CliHarness.OracleQemu, "--explain");
        Assert.Equal(0, cli.Exit);
        Assert.StartsWith("start_kernel(profile v6.1)\n", cli.Out);
        Assert.Contains("= node 1: possible, no boot memory: no NODE_DATA here, not online", cli.Out);
        Assert.Contains("~ cpu_to_node(1) = 0 (SRAT affinity of APIC 0x1)", cli.Out);
    }

    [Fact]
    public void A_machine_clone_keeps_recording_apart_from_its_original()
    {
        var m = Machine.Boot(QemuCommandLine.Parse(CliHarness.OracleQemu).GetSpecOrThrow(), KernelProfile.V6_1, traceBoot: true);
        m.Kernel.Trace.Take();
        var copy = m.Clone();
        copy.Write("/sys/devices/system/memory/memory1/state", "offline");
        Assert.NotEmpty(copy.Kernel.Trace.Take());
        Assert.Empty(m.Kernel.Trace.Take());
    }

    /// <summary>The function names from a root call down to the first call named <paramref name="fn"/>.</summary>
    private static List<string> PathTo(IReadOnlyList<CallNode> nodes, string fn, Func<CallNode, bool>? accept = null)
    {
        foreach (var n in nodes.Where(n => n.IsCall && (accept?.Invoke(n) ?? true)))
        {
            if (n.Event.Function == fn) return [fn];
            var below = PathTo(n.Children, fn, accept);
            if (below.Count > 0) return [n.Event.Function, .. below];
        }
        return [];
    }
}
