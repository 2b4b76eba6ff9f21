using Numasim.Firmware;
using Numasim.Import;
using Numasim.Tests.RealTools;
using Numasim.Tests.Scenarios;
using Xunit.Abstractions;

namespace Numasim.Tests.Import;

/// <summary>
/// The tree of Fixtures/dimms-4g-cpuless-node.tar.gz, recorded from Debian's 6.1.176 under QEMU 7.2 (the oracle machine
/// of ../shared/oracle/README.md with two 256 MiB DIMMs hot-added on the CPU-less node 1 at 4 GiB; memory32
/// online_movable, memory33 offline, memory34-35 online_movable; see Fixtures/README.md): imported, booted and exported,
/// real lsmem and lscpu print on the export what they print on the recording; the committed machine file is that
/// import; scenarios/import/ ejects the DIMMs of that machine file as the real kernel ejects them.
/// </summary>
public class DimmFixtureTests(ITestOutputHelper output)
{
    public static string FixturePath => Path.Combine(ScenarioFilesTests.RepoRoot(), "tests", "Numasim.Tests", "Import", "Fixtures", "dimms-4g-cpuless-node.tar.gz");

    [Fact]
    public void The_recorded_dimm_tree_imports_with_its_dimms_block_states_and_memtotal()
    {
        var r = SysfsImporter.Import(FixturePath);
        var s = r.Spec;
        Assert.Equal([0, 1], s.Nodes.Select(n => n.NodeId));
        Assert.Equal(0UL, s.Nodes[1].MemBytes);
        Assert.Equal(2, s.Dimms.Count);
        Assert.All(s.Dimms, d => Assert.Equal(1, d.Node));
        Assert.Equal((ulong)PcMachine.FourGiB, s.Dimms[0].Address);
        Assert.Equal([32, 33, 34, 35], s.BlockStates.Select(b => b.Block));
        Assert.Equal(["online_movable", "offline", "online_movable", "online_movable"], s.BlockStates.Select(b => b.State));
        Assert.Equal([916536UL, 393216UL], s.MemTotals.Select(m => m.MemTotalKb));
        Assert.Equal("v6.1", r.Profile);

        var m = Machine.Boot(s);
        Assert.Empty(m.StateNotes);
        Assert.Equal("Node 0 MemTotal:         916536 kB", m.Read("/sys/devices/system/node/node0/meminfo").Text.Split('\n')[0]);
        Assert.Equal("Node 1 MemTotal:         393216 kB", m.Read("/sys/devices/system/node/node1/meminfo").Text.Split('\n')[0]);
        Assert.Equal("Movable\n", m.Read("/sys/devices/system/memory/memory32/valid_zones").Text);
        Assert.Equal("offline\n", m.Read("/sys/devices/system/memory/memory33/state").Text);
        Assert.Equal("Movable Normal\n", m.Read("/sys/devices/system/memory/memory33/valid_zones").Text);
    }

    [Fact]
    public void Lsmem_and_lscpu_print_on_the_export_what_they_print_on_the_recorded_tree()
    {
        if (!RealTool.Require("lsmem", output) || !RealTool.Require("lscpu", output)) return;
        using var src = TreeSource.Open(FixturePath);
        var rt = RoundTrip.ImportBootExport(src.Root, "dimms", new ImportOptions());
        try
        {
            string[][] lsmem = [[], ["-a"], ["-o", "RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES"], ["--split", "RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES"], ["-J", "--output-all"]];
            foreach (var opts in lsmem)
                Assert.Equal(RoundTrip.Lsmem(src.Root, opts), RoundTrip.Lsmem(rt.Export, opts));
            Assert.Equal(RoundTrip.Lscpu(src.Root), RoundTrip.Lscpu(rt.Export));
            Assert.Equal(RoundTrip.LscpuExtended(src.Root), RoundTrip.LscpuExtended(rt.Export));
            output.WriteLine(RoundTrip.Lsmem(rt.Export, ["-o", "RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES"]));
        }
        finally { TempFolders.Delete(rt.Export); }
    }

    [Fact]
    public void The_committed_machine_file_is_the_import_of_the_fixture()
    {
        var committed = Path.Combine(ScenarioFilesTests.RepoRoot(), "machines", "imported-dimms-4g-cpuless-node.yaml");
        Assert.Equal(SysfsImporter.Import(FixturePath).MachineFileText(), File.ReadAllText(committed));
    }
}
