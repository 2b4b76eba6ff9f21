using Numasim.Cli.Commands;
using Numasim.Cli.Shell;
using Numasim.Firmware;
using Numasim.Kernel.Profiles;
using Numasim.Scenarios;

namespace Numasim.Tests.Shell;

/// <summary>The shell's lines without a terminal: steps, errors that leave it running, undo, save, explain, completion.</summary>
public class ShellSessionTests
{
    private static (ShellSession Shell, StringWriter Out) Start(KernelProfile? profile = null)
    {
        var o = new StringWriter { NewLine = "\n" };
        var spec = QemuCommandLine.Parse(BenchCommand.OracleQemu).GetSpecOrThrow();
        return (new ShellSession(spec, profile ?? KernelProfile.V6_1, BenchCommand.OracleQemu, null, false, o), o);
    }

    private static string Run(ShellSession shell, StringWriter o, params string[] lines)
    {
        o.GetStringBuilder().Clear();
        foreach (var l in lines) Assert.True(shell.Execute(l));
        return o.ToString();
    }

    [Fact]
    public void Bad_lines_print_one_line_each_and_the_shell_goes_on()
    {
        var (shell, o) = Start();
        foreach (var bad in new[] { "undo", "explain", "echo 'unclosed", "frobnicate now", "{\"execute\": 12}", "{not json", "device_add pc-dimm,id=d,memdev=nope",
                     "write: {path: /sys/x", "cat /sys/nope", "tree -L x", "explain sideways", "alloc_pages nid=zero" })
        {
            var text = Run(shell, o, bad);
            Assert.Single(text.TrimEnd('\n').Split('\n'));
            Assert.DoesNotContain("   at ", text);
        }
        Assert.Equal("alloc_pages.nid: 'zero' is not a number\n", Run(shell, o, "alloc_pages nid=zero"));
        Assert.Equal("/sys/devices/system\n", Run(shell, o, "pwd"));
        Assert.False(shell.Execute("exit"));
    }

    [Fact]
    public void Save_writes_a_scenario_that_replays_to_the_same_machine_refusals_included()
    {
        var (shell, o) = Start();
        var dir = Directory.CreateTempSubdirectory("numasim-shell-").FullName;
        try
        {
            var file = Path.Combine(dir, "session.yaml");
            Run(shell, o, "object_add memory-backend-ram,id=mem1,size=512M", "device_add pc-dimm,id=dimm1,memdev=mem1,node=1",
                "device_add pc-dimm,id=dimm1,memdev=mem1,node=1", "cd memory", "echo online_movable > memory33/state",
                "echo online_movable > memory33/state", "expect path=/sys/devices/system/node/has_memory equals=0-1");
            Assert.Contains("saved 6 steps", Run(shell, o, $"save {file}"));
            var replay = ScenarioRunner.Run(ScenarioParser.Load(file));
            Assert.True(replay.Passed, string.Join("\n", replay.Steps.Where(s => !s.Passed).Select(s => s.Message)));
            Assert.Equal(shell.Machine.Read("/proc/zoneinfo").Text, replay.Machine.Read("/proc/zoneinfo").Text);
            Assert.Contains(replay.Steps, s => s.Step.Args.GetValueOrDefault("errno") == "EINVAL");
            Assert.Contains(replay.Steps, s => s.Step.Args.GetValueOrDefault("error") == "Duplicate device ID 'dimm1'");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Undo_gives_back_the_machine_before_the_step_and_explain_tells_why_the_last_step_did_what_it_did()
    {
        var (shell, o) = Start();
        Run(shell, o, "object_add memory-backend-ram,id=mem1,size=512M", "device_add pc-dimm,id=dimm1,memdev=mem1,node=1");
        var before = shell.Machine.Read("/proc/zoneinfo").Text;
        Run(shell, o, "echo online > /sys/devices/system/memory/memory32/state");
        Assert.Equal("online\n", shell.Machine.Read("/sys/devices/system/memory/memory32/state").Text);
        var why = Run(shell, o, "explain");
        Assert.Contains("state_store(memory32 <- \"online\") → device_online(memory32) → memory_subsys_online(memory32, online)", why);
        Assert.Contains("zone_for_pfn_range(online, node 1", why);
        Assert.Contains("default_kernel_zone_for_pfn(node 1)", why);
        Assert.Contains("/sys/devices/system/memory/memory32/state: offline → online", why);
        Assert.Contains("undone: write /sys/devices/system/memory/memory32/state <- online", Run(shell, o, "undo"));
        Assert.Equal("offline\n", shell.Machine.Read("/sys/devices/system/memory/memory32/state").Text);
        Assert.Equal(before, shell.Machine.Read("/proc/zoneinfo").Text);
    }

    [Fact]
    public void Explain_on_prints_each_steps_path_as_it_runs()
    {
        var (shell, o) = Start(KernelProfile.V4_19);
        Run(shell, o, "explain on");
        var text = Run(shell, o, "device_add qemu64-x86_64-cpu,id=cpu2,socket-id=2,core-id=0,thread-id=0");
        Assert.Contains("acpi_map_cpu2node(cpu 2, node 1)", text);
        Assert.Contains("~ cpu_to_node(2): 0 → 1", text);
    }

    [Fact]
    public void Tab_completes_commands_paths_and_drivers()
    {
        var (shell, _) = Start();
        Assert.Equal(["device_add", "device_del"], ShellRepl.Complete(shell, "dev", 3).Candidates);
        var (start, paths) = ShellRepl.Complete(shell, "cat /sys/devices/system/node/node0/mem", 38);
        Assert.Equal(4, start);
        Assert.Contains("/sys/devices/system/node/node0/meminfo", paths);
        Assert.Contains("/sys/devices/system/node/node0/memory0/", paths);   // a link to a directory completes as one
        Assert.Equal(["pc-dimm,"], ShellRepl.Complete(shell, "device_add pc", 13).Candidates);
        Assert.Equal(["memory/"], ShellRepl.Complete(shell, "cd mem", 6).Candidates);
    }
}
