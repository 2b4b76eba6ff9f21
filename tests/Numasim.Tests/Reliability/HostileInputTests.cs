using Numasim.Export;
using Numasim.Firmware;
using Numasim.Hypervisor;
using Numasim.Scenarios;
using static Numasim.Tests.Cli.CliHarness;

namespace Numasim.Tests.Reliability;

/// <summary>The findings of issue 19's hand-run and fuzzing, each pinned: bad input ends in one clear line, exit 2,
/// and never an internal error, a hang, or a write outside what the user named.</summary>
public class HostileInputTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("numasim-hostile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string name, string text)
    {
        var p = Path.Combine(_dir, name);
        File.WriteAllText(p, text);
        return p;
    }

    private static void AssertUserError(Outcome r, string contains)
    {
        Assert.Equal(2, r.Exit);
        Assert.Single(r.ErrLines);
        Assert.DoesNotContain("internal error", r.Err);
        Assert.Contains(contains, r.Err);
    }

    [Fact]
    public void Memory_block_size_of_one_byte_is_refused_with_its_line_not_a_divide_by_zero()
    {
        var f = Write("mbs.yaml", "qemu: \"-m 1G\"\nmemory_block_size: 1\n");
        var e = Assert.Throws<MachineFormatException>(() => MachineFile.Load(f));
        Assert.Equal(2, e.Line);
        Assert.Contains("memory_block_size", e.Message);
        AssertUserError(Run("boot", "--machine", f), "mbs.yaml:2: memory_block_size");
    }

    [Theory]
    [InlineData("run")]
    [InlineData("boot")]
    [InlineData("check")]
    public void Two_line_malformed_yaml_is_a_syntax_error_in_every_command(string command)
    {
        var f = Write("bad.yaml", "- {a: \"b\"u\n- {c: \"d\"}\n");
        var r = command == "run" ? Run("run", f) : Run(command, "--machine", f);
        AssertUserError(r, "bad.yaml:1: YAML syntax error");
    }

    [Theory]
    [InlineData("abc", "Parameter 'node' expects integer")]
    [InlineData("99999999999", "Parameter 'node' expects uint32_t")]
    [InlineData("-1", "Parameter 'node' expects uint32_t")]
    [InlineData("1.5", "Parameter 'node' expects integer")]
    [InlineData("", "Parameter 'node' expects integer")]
    [InlineData("5", "'DIMM property node has value 5' which exceeds the number of numa nodes: 2")]
    public void Dimm_device_add_with_a_bad_node_fails_as_qemu_7_2_fails_it(string node, string qemuError)
    {
        var m = Machine.Boot(QemuCommandLine.Parse(OracleQemu).Spec!);
        Assert.True(m.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "mem1", ["size"] = "536870912" }).Ok);
        var r = m.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = "d1", ["memdev"] = "mem1", ["node"] = node });
        Assert.Equal(qemuError, r.Error);
        Assert.False(m.Fs.Exists("/sys/devices/system/memory/memory32"));
    }

    [Fact]
    public void Dimm_node_in_hex_is_taken_as_qemu_takes_it()
    {
        var m = Machine.Boot(QemuCommandLine.Parse(OracleQemu).Spec!);
        m.Qmp.ObjectAdd(new Dictionary<string, string> { ["qom-type"] = "memory-backend-ram", ["id"] = "mem1", ["size"] = "536870912" });
        Assert.True(m.Qmp.DeviceAdd(new Dictionary<string, string> { ["driver"] = "pc-dimm", ["id"] = "d1", ["memdev"] = "mem1", ["node"] = "0x1" }).Ok);
        Assert.Equal(1, m.Kernel.FindMemoryBlock(32)!.Nid);
    }

    [Theory]
    [InlineData("device_add", "{driver: pc-dimm, id: d1, memdev: m1, bogus: 1}", "Property 'pc-dimm.bogus' not found")]
    [InlineData("object-add", "{qom-type: memory-backend-ram, id: m1, size: 1, bogus: 1}", "Parameter 'bogus' is unexpected")]
    [InlineData("object-add", "{qom-type: memory-backend-ram, id: m1, size: 1G}", "Parameter 'size' expects uint64")]
    [InlineData("device_del", "{id: d1, bogus: 1}", "Parameter 'bogus' is unexpected")]
    public void Qmp_steps_refuse_unknown_properties_with_qemus_words(string kind, string args, string qemuError)
    {
        var f = Write("q.yaml", $"machine: {{qemu: \"{OracleQemu}\"}}\nsteps:\n  - {kind}: {args}\n");
        var r = ScenarioRunner.Run(ScenarioParser.Load(f));
        Assert.False(r.Passed);
        Assert.Contains(qemuError, r.Steps[0].Message);
    }

    [Fact]
    public void An_unknown_field_inside_a_step_is_an_error_naming_it()
    {
        var f = Write("k.yaml", "machine: {qemu: \"-m 1G\"}\nsteps:\n  - write: {path: /sys/x, value: \"1\", erno: EINVAL}\n");
        var e = Assert.Throws<ScenarioFormatException>(() => ScenarioParser.Load(f));
        Assert.Contains("k.yaml:3: write: unknown field 'erno'", e.Message);
    }

    [Fact]
    public void An_unknown_profile_in_when_is_an_error_not_a_silently_skipped_step()
    {
        var f = Write("w.yaml", "machine: {qemu: \"-m 1G\"}\nsteps:\n  - expect: {path: /sys/devices/system/node/online, equals: \"0\", when: v6.l}\n");
        var e = Assert.Throws<ScenarioFormatException>(() => ScenarioParser.Load(f));
        Assert.Contains("when: unknown profile 'v6.l'", e.Message);
    }

    [Fact]
    public void When_accepts_a_profile_as_find_names_it()
    {
        var f = Write("w.yaml", "machine: {qemu: \"-m 1G\"}\nsteps:\n  - expect: {path: /sys/devices/system/node/online, equals: \"1\", when: \"6.1\"}\n");
        var r = ScenarioRunner.Run(ScenarioParser.Load(f));
        Assert.False(r.Passed); // run on v6.1, where node/online reads "0"
    }

    [Fact]
    public void An_error_whose_value_holds_a_newline_prints_on_one_line()
    {
        var r = Run("boot", "--qemu", "-m 1G", "--profile", "a\nb");
        AssertUserError(r, "'a\\nb'");
    }

    [Fact]
    public void Export_through_a_symlink_to_a_marked_folder_deletes_nothing()
    {
        var victim = Path.Combine(_dir, "victim");
        Directory.CreateDirectory(victim);
        File.WriteAllText(Path.Combine(victim, SysfsExporter.MarkerName), "");
        File.WriteAllText(Path.Combine(victim, "precious"), "keep me");
        var link = Path.Combine(_dir, "link");
        File.CreateSymbolicLink(link, victim);
        var r = Run("boot", "--qemu", "-m 1G", "--export", link);
        AssertUserError(r, "is a symbolic link");
        Assert.Equal("keep me", File.ReadAllText(Path.Combine(victim, "precious")));
        Assert.False(Directory.Exists(Path.Combine(victim, "sys")));
    }

    [Fact]
    public void A_yaml_alias_bomb_is_refused_before_it_expands()
    {
        var sb = new System.Text.StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 10; i++)
            sb.Append($"a{i}: &a{i} [").Append(string.Join(", ", Enumerable.Repeat($"*a{i - 1}", 10))).Append("]\n");
        var f = Write("bomb.yaml", sb.ToString());
        AssertUserError(Run("run", f), "aliases are expanded");
        AssertUserError(Run("boot", "--machine", f), "aliases are expanded");
    }

    [Fact]
    public void Deep_yaml_nesting_is_refused_not_a_stack_overflow()
    {
        var f = Write("deep.yaml", "steps: " + new string('[', 100_000) + new string(']', 100_000) + "\n");
        AssertUserError(Run("run", f), "nesting deeper than 64 levels");
        AssertUserError(Run("boot", "--machine", f), "nesting deeper than 64 levels");
    }

    [Theory]
    [InlineData("/dev/zero", "is a character device")]
    [InlineData("/dev/null", "is a character device")]
    public void A_device_named_as_a_scenario_or_machine_is_refused_unread(string path, string why)
    {
        AssertUserError(Run("run", path), why);
        AssertUserError(Run("boot", "--machine", path), why);
    }

    [Fact]
    public void A_fifo_named_as_a_scenario_is_refused_without_blocking()
    {
        if (!OperatingSystem.IsLinux()) return;
        var fifo = Path.Combine(_dir, "fifo");
        using (var p = System.Diagnostics.Process.Start("mkfifo", [fifo])) p.WaitForExit();
        AssertUserError(Run("run", fifo), "is a FIFO");
    }
}
