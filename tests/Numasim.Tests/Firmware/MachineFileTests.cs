using Numasim.Firmware;

namespace Numasim.Tests.Firmware;

public class MachineFileTests
{
    [Fact]
    public void Qemu_form_delegates_to_the_command_line_parser()
    {
        var s = MachineFile.Parse($"name: oracle\nqemu: \"{QemuCommandLineTests.Oracle.Replace("\"", "\\\"")}\"\n", "m.yaml");
        var q = QemuCommandLine.Parse(QemuCommandLineTests.Oracle).GetSpecOrThrow();
        Assert.Equal("oracle", s.Name);
        Assert.Null(MachineSpecEquality.Difference(q with { Name = "oracle" }, s));
    }

    [Fact]
    public void Explicit_form_defaults_cpus_from_smp_like_qemu()
    {
        var s = MachineFile.Parse("""
            name: two
            ram: 1G
            slots: 4
            maxmem: 8G
            smp: {cpus: 2, maxcpus: 4, sockets: 4}
            nodes:
              - {id: 0, mem: 1G}
              - {id: 1, mem: 0}
            distances: [[10, 21], [21, 10]]
            """, "two.yaml");
        Assert.Equal(new SmpSpec(2, 4, 4, 1, 1, 1), s.Smp);
        Assert.Equal([0, 1, 0, 1], s.CpuSlots.Select(c => c.NodeId));
        Assert.Equal([true, true, false, false], s.CpuSlots.Select(c => c.Present));
        Assert.Equal(1073741824UL, s.RamBytes);
        Assert.Equal("two", s.Name);   // from the file name when not given
    }

    [Fact]
    public void Write_then_parse_round_trips()
    {
        var q = QemuCommandLine.Parse(QemuCommandLineTests.Oracle).GetSpecOrThrow() with
        {
            Name = "round \"trip\"",
            MemoryBlockSizeBytes = 128UL << 20,
            OfflineBlocksAtBoot = [3, 5],
            ModelKernelAllocations = false,
        };
        var text = MachineFile.Write(q);
        var back = MachineFile.Parse(text, "rt.yaml");
        Assert.Null(MachineSpecEquality.Difference(q, back));
        Assert.Equal(text, MachineFile.Write(back));
    }

    [Fact]
    public void Distances_are_written_as_numactl_s_matrix_and_read_in_either_form()
    {
        const string nodes = "ram: 2G\nnodes:\n  - {id: 0, mem: 1G}\n  - {id: 1, mem: 1G}\n";
        var listed = MachineFile.Parse(nodes + "distances:\n  - [10, 31]\n  - [31, 10]\n", "l.yaml");
        var text = MachineFile.Write(listed);
        Assert.Contains("distances: |\n  10 31\n  31 10\n", text, StringComparison.Ordinal);
        var block = MachineFile.Parse(text, "b.yaml");
        Assert.Equal([[10, 31], [31, 10]], block.Distances!.Select(r => r.ToArray()).ToArray());
        Assert.Null(MachineSpecEquality.Difference(listed, block));
    }

    [Fact]
    public void Round_trip_keeps_offline_cpus_and_sizes_in_bytes()
    {
        var spec = MachineFile.Parse("""
            ram: 1073750016
            smp: {cpus: 2}
            cpus:
              - {socket: 0, core: 0, thread: 0, node: 0, present: true}
              - {socket: 0, core: 1, thread: 0, node: 0, present: true, online: false}
            """, "x.yaml");
        Assert.False(spec.CpuSlots[1].OnlineAtBoot);
        var back = MachineFile.Parse(MachineFile.Write(spec), "x.yaml");
        Assert.Null(MachineSpecEquality.Difference(spec, back));
    }

    [Theory]
    [InlineData("ram: 1G\nbogus: 1\n", 2, "unknown field 'bogus'")]
    [InlineData("name: x\n", 1, "missing field 'ram'")]
    [InlineData("ram: 1G\nmaxmem: lots\n", 2, "maxmem: 'lots' is not a size")]
    [InlineData("ram: 2G\nmaxmem: 1G\n", 2, "maxmem: maximum memory size (0x40000000) must be at least the initial memory size (0x80000000)")]
    [InlineData("ram: 1G\nslots: 2\n", 2, "slots: memory slots were specified")]
    [InlineData("ram: 1G\nsmp: {cpus: 4, sockets: 3}\n", 2, "smp: Invalid CPU topology: product of the hierarchy must match maxcpus")]
    [InlineData("ram: 1G\nnodes:\n  - {id: 0, mem: 512M}\n", 2, "nodes: total memory for NUMA nodes (0x20000000) should equal RAM size (0x40000000)")]
    [InlineData("ram: 1G\nnodes:\n  - {id: 1, mem: 512M}\n  - {id: 1, mem: 512M}\n", 4, "nodes.id: 1 is not above")]
    [InlineData("ram: 1G\nnodes:\n  - {id: 0, mem: 1G}\n  - {id: 1, mem: 0}\ndistances:\n  - [10, 21]\n  - [21, 12]\n", 7, "distances: Local distance of node 1 should be 10.")]
    [InlineData("ram: 1G\nnodes:\n  - {id: 0, mem: 1G}\n  - {id: 1, mem: 0}\ndistances: |\n  10 21\n  21 12\n", 7, "distances: Local distance of node 1 should be 10.")]
    [InlineData("ram: 1G\nnodes:\n  - {id: 0, mem: 1G}\n  - {id: 1, mem: 0}\ndistances: |\n  10 21\n\n  21\n", 8, "distances: row 1 has 1 entries but the machine has 2 nodes")]
    [InlineData("ram: 1G\nnodes:\n  - {id: 0, mem: 1G}\n  - {id: 1, mem: 0}\ndistances: |\n  10 x\n  21 10\n", 6, "distances: 'x' is not an integer")]
    [InlineData("ram: 1G\nnodes:\n  - {id: 0, mem: 1G}\n  - {id: 1, mem: 0}\ndistances: |\n  10 21\n  \t \n", 5, "distances: 1 rows but the machine has 2 nodes")]
    [InlineData("ram: 1G\nnodes:\n  - {id: 0, mem: 1G}\n  - {id: 1, mem: 0}\ndistances: \"10\\t21\\n21 10\\r\\n\"\n", 6, "distances: '10\r' is not an integer")]
    [InlineData("ram: 1G\nsmp: {cpus: 2}\ncpus:\n  - {node: 0}\n", 4, "cpus: 1 entries but smp.maxcpus is 2")]
    [InlineData("ram: 1G\nsmp: {cpus: 1}\ncpus:\n  - {node: 3}\n", 4, "cpus.node: node 3 is not in 'nodes'")]
    [InlineData("ram: 1G\nmemhp_default_state: sometimes\n", 2, "memhp_default_state: 'sometimes' is not one of")]
    [InlineData("ram: 1G\nkernel_allocations: maybe\n", 2, "kernel_allocations: 'maybe' is not true or false")]
    [InlineData("qemu: \"-m 1G -smp 2,maxcpus=1\"\n", 1, "qemu: Invalid CPU topology")]
    [InlineData("qemu: \"-m 1G\"\nram: 1G\n", 2, "'ram' cannot be combined with 'qemu'")]
    [InlineData("ram: [1G\n", 2, "YAML syntax error")]
    public void Errors_name_file_line_and_field(string yaml, int line, string message)
    {
        var e = Assert.Throws<MachineFormatException>(() => MachineFile.Parse(yaml, "bad.yaml"));
        Assert.StartsWith($"bad.yaml:{line}: ", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Load_reads_a_file()
    {
        var path = Path.Combine(Path.GetTempPath(), $"numasim-fw-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "qemu: \"-m 1G -smp 2\"\n");
        try { Assert.Equal(2, MachineFile.Load(path).Smp.Cpus); }
        finally { File.Delete(path); }
    }
}
