using Numasim.Kernel.Profiles;
using Numasim.Scenarios;

namespace Numasim.Tests.Scenarios;

public class ScenarioRunnerTests
{
    private const string Oracle = "-m 1G,slots=4,maxmem=8G -smp 2,maxcpus=4,sockets=4,cores=1,threads=1 -object memory-backend-ram,id=m0,size=1G -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 -numa cpu,node-id=1,socket-id=2 -numa cpu,node-id=1,socket-id=3 -numa dist,src=0,dst=1,val=21";

    private static ScenarioResult Run(string steps, KernelProfile? p = null) =>
        ScenarioRunner.Run(ScenarioParser.Parse($"name: t\nmachine: {{qemu: \"{Oracle}\"}}\nsteps:\n{steps}", "t.yaml"), p);

    [Fact]
    public void A_step_after_an_oops_is_an_error_but_expectations_still_read()
    {
        var r = Run("  - alloc_pages: {nid: \"-1\", fn: __alloc_pages_node}\n  - expect: {oops: \"Oops\"}\n  - write: {path: /sys/devices/system/cpu/cpu1/online, value: \"0\"}\n");
        Assert.True(r.Steps[0].Passed);
        Assert.True(r.Steps[1].Passed);
        Assert.False(r.Steps[2].Passed);
        Assert.Contains("oopsed", r.Steps[2].Message);
    }

    [Fact]
    public void An_unexpected_write_failure_fails_the_step_and_names_the_errno()
    {
        var r = Run("  - write: {path: /sys/devices/system/memory/memory0/state, value: offline}\n");
        Assert.False(r.Passed);
        Assert.Contains("EINVAL", r.Steps[0].Message);
    }

    [Fact]
    public void Malformed_steps_name_file_and_line()
    {
        var e = Assert.Throws<ScenarioFormatException>(() => Run("  - write: {path: /x}\n"));
        Assert.StartsWith("t.yaml:4: write: missing field 'value'", e.Message);
        var u = Assert.Throws<ScenarioFormatException>(() => Run("  - teleport: node1\n"));
        Assert.StartsWith("t.yaml:4: unknown step 'teleport'", u.Message);
    }

    [Fact]
    public void The_virtual_clock_makes_runs_identical()
    {
        var a = Run("  - device_add: {driver: qemu64-x86_64-cpu, id: c, socket-id: \"2\", core-id: \"0\", thread-id: \"0\"}\n  - write: {path: /sys/devices/system/cpu/cpu2/online, value: \"1\"}\n");
        var b = Run("  - device_add: {driver: qemu64-x86_64-cpu, id: c, socket-id: \"2\", core-id: \"0\", thread-id: \"0\"}\n  - write: {path: /sys/devices/system/cpu/cpu2/online, value: \"1\"}\n");
        Assert.Equal(a.Machine.Dmesg(), b.Machine.Dmesg());
        Assert.Contains(a.Machine.Dmesg(), l => l.StartsWith("[    2.", StringComparison.Ordinal) && l.Contains("Booting Node 1"));
    }
}
