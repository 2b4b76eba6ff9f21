using Numasim.Firmware;

namespace Numasim.Tests.Firmware;

public class QemuCommandLineTests
{
    public const string Oracle = "-accel tcg -machine pc -cpu qemu64 -m 1G,slots=4,maxmem=8G -smp 2,maxcpus=4,sockets=4,cores=1,threads=1 " +
        "-object memory-backend-ram,id=m0,size=1G -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1 " +
        "-numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 -numa cpu,node-id=1,socket-id=2 " +
        "-numa cpu,node-id=1,socket-id=3 -numa dist,src=0,dst=1,val=21 -kernel VMLINUZ -initrd INITRD " +
        "-append \"console=ttyS0 memhp_default_state=offline\" -serial unix:SER,server=on,wait=off " +
        "-qmp unix:QMP,server=on,wait=off -display none -monitor none -no-reboot";

    private static MachineSpec Ok(string args)
    {
        var r = QemuCommandLine.Parse(args);
        Assert.True(r.Ok, r.ErrorText);
        return r.Spec!;
    }

    private static string Fails(string args)
    {
        var r = QemuCommandLine.Parse(args);
        Assert.False(r.Ok);
        return r.ErrorText;
    }

    [Fact]
    public void Oracle_machine_parses_memory_cpus_nodes_and_distances()
    {
        var s = Ok(Oracle);
        Assert.Equal(1UL << 30, s.RamBytes);
        Assert.Equal(8UL << 30, s.MaxMemBytes);
        Assert.Equal(4, s.Slots);
        Assert.Equal(new SmpSpec(2, 4, 4, 1, 1, 1), s.Smp);
        Assert.Equal([new NodeSpec(0, 1UL << 30, "m0"), new NodeSpec(1, 0)], s.Nodes);
        Assert.Equal([0, 0, 1, 1], s.CpuSlots.Select(c => c.NodeId));
        Assert.Equal([0u, 1u, 2u, 3u], s.CpuSlots.Select(c => c.ApicId));
        Assert.Equal([true, true, false, false], s.CpuSlots.Select(c => c.Present));
        Assert.Equal([10, 21], s.Distances![0]);
        Assert.Equal([21, 10], s.Distances![1]);
        // -append is the kernel's command line, parsed by the kernel at boot (Kernel/Init/KernelCommandLine.cs).
        Assert.Null(s.MemhpDefaultState);
        Assert.Equal("console=ttyS0 memhp_default_state=offline", s.CommandLine);
        Assert.Equal([new MemoryBackendSpec("m0", 1UL << 30)], s.Backends);
    }

    [Theory]
    [InlineData("-smp 4", 4, 4, 1, 4, 1)]            // 7.2 prefers cores over sockets (machine types >= 6.2)
    [InlineData("-smp 8,cores=2", 8, 8, 4, 2, 1)]
    [InlineData("-smp 8,sockets=2", 8, 8, 2, 4, 1)]
    [InlineData("-smp 2,maxcpus=4", 2, 4, 1, 4, 1)]
    [InlineData("-smp maxcpus=4", 4, 4, 1, 4, 1)]
    [InlineData("-smp sockets=2,cores=2,threads=2", 8, 8, 2, 2, 2)]
    [InlineData("-smp cpus=6,sockets=2,cores=3", 6, 6, 2, 3, 1)]
    [InlineData("-smp 8,sockets=2,cores=2", 8, 8, 2, 2, 2)]
    public void Smp_defaults_follow_qemu_7_2(string args, int cpus, int max, int sockets, int cores, int threads)
    {
        var s = Ok("-m 1G " + args);
        Assert.Equal(new SmpSpec(cpus, max, sockets, 1, cores, threads), s.Smp);
        Assert.Equal(max, s.CpuSlots.Count);
    }

    [Fact]
    public void Without_smp_there_is_one_cpu()
    {
        var s = Ok("-m 512M");
        Assert.Equal(new SmpSpec(1, 1, 1, 1, 1, 1), s.Smp);
        Assert.Empty(s.Nodes);
        Assert.Equal(0, Assert.Single(s.CpuSlots).NodeId);
    }

    [Fact]
    public void Default_ram_is_128M_and_bare_number_is_MiB()
    {
        Assert.Equal(128UL << 20, Ok("-smp 1").RamBytes);
        Assert.Equal(2048UL << 20, Ok("-m 2048").RamBytes);
        Assert.Equal(3UL << 30, Ok("-m size=3G").RamBytes);
    }

    [Fact]
    public void Apic_ids_use_topology_bit_widths()
    {
        // threads=3 -> 2 bits, cores=3 -> 2 bits, dies=2 -> 1 bit
        var s = Ok("-smp 36,sockets=2,dies=2,cores=3,threads=3");
        var c = s.CpuSlots[35];   // socket 1, die 1, core 2, thread 2
        Assert.Equal((1, 1, 2, 2), (c.SocketId, c.DieId, c.CoreId, c.ThreadId));
        Assert.Equal((1u << 5) | (1u << 4) | (2u << 2) | 2u, c.ApicId);
        Assert.Equal(4u, s.CpuSlots[3].ApicId);   // core 1 thread 0
    }

    [Fact]
    public void Find_slot_locates_a_possible_cpu_by_topology()
    {
        var s = Ok(Oracle);
        var slot = QemuCommandLine.FindSlot(s, 2, 0, 0, 0);
        Assert.NotNull(slot);
        Assert.Equal(2, slot!.Index);
        Assert.Null(QemuCommandLine.FindSlot(s, 4, 0, 0, 0));
    }

    [Fact]
    public void Cpus_not_in_any_node_go_to_node_0_with_a_warning()
    {
        var r = QemuCommandLine.Parse("-m 2G -smp 4 -object memory-backend-ram,id=a,size=1G -object memory-backend-ram,id=b,size=1G " +
            "-numa node,memdev=a -numa node,memdev=b,cpus=2");
        Assert.True(r.Ok, r.ErrorText);
        Assert.Equal([0, 0, 1, 0], r.Spec!.CpuSlots.Select(c => c.NodeId));
        Assert.Contains(r.Warnings, w => w.StartsWith("CPU(s) not present in any NUMA nodes: CPU 0 [socket-id: 0, core-id: 0, thread-id: 0]"));
    }

    [Fact]
    public void Without_any_cpu_mapping_sockets_are_spread_over_nodes()
    {
        var s = Ok("-m 2G -smp 4,sockets=4 -object memory-backend-ram,id=a,size=1G -object memory-backend-ram,id=b,size=1G -numa node,memdev=a -numa node,memdev=b");
        Assert.Equal([0, 1, 0, 1], s.CpuSlots.Select(c => c.NodeId));
        Assert.Null(s.Distances);
    }

    [Fact]
    public void Repeated_cpus_and_ranges_assign_cpus()
    {
        var s = Ok("-m 1G -smp 4 -object memory-backend-ram,id=a,size=1G -numa node,memdev=a,cpus=0-1,cpus=3 -numa node,cpus=2");
        Assert.Equal([0, 0, 1, 0], s.CpuSlots.Select(c => c.NodeId));
    }

    [Fact]
    public void Memory_hotplug_without_numa_gets_an_implicit_node_0()
    {
        var s = Ok("-m 1G,slots=2,maxmem=4G -smp 2");
        Assert.Equal([new NodeSpec(0, 1UL << 30)], s.Nodes);
    }

    [Fact]
    public void Distances_are_mirrored_and_the_diagonal_is_10()
    {
        var s = Ok("-m 1G -object memory-backend-ram,id=a,size=1G -numa node,memdev=a -numa node -numa node " +
                   "-numa dist,src=0,dst=1,val=20 -numa dist,src=0,dst=2,val=30 -numa dist,src=2,dst=1,val=40");
        Assert.Equal([10, 20, 30], s.Distances![0]);
        Assert.Equal([20, 10, 40], s.Distances![1]);
        Assert.Equal([30, 40, 10], s.Distances![2]);
    }

    [Theory]
    [InlineData("-smp 2,maxcpus=1", "Invalid CPU topology: maxcpus must be equal to or greater than smp: sockets (1) * dies (1) * cores (1) * threads (1) == maxcpus (1) < smp_cpus (2)")]
    [InlineData("-smp 4,sockets=3,cores=1,threads=1", "Invalid CPU topology: product of the hierarchy must match maxcpus: sockets (3) * dies (1) * cores (1) * threads (1) != maxcpus (4)")]
    [InlineData("-smp 2,sockets=4", "product of the hierarchy must match maxcpus")]
    [InlineData("-smp 256", "Invalid SMP CPUs 256. The max CPUs supported by machine 'pc-i440fx-7.2' is 255")]
    [InlineData("-smp 4,clusters=2", "clusters not supported by this machine's CPU topology")]
    [InlineData("-smp 4,foo=2", "Invalid parameter 'foo'")]
    [InlineData("-m 2G,maxmem=1G", "invalid value of maxmem: maximum memory size (0x40000000) must be at least the initial memory size (0x80000000)")]
    [InlineData("-m 1G,slots=2,maxmem=1G", "memory slots were specified but maximum memory size (0x40000000) is equal to the initial memory size (0x40000000)")]
    [InlineData("-m 1G,slots=2", "invalid -m option value: missing 'maxmem' option")]
    [InlineData("-m 1G,slots=300,maxmem=8G", "unsupported amount of memory slots: 300")]
    [InlineData("-m 1Q", "Parameter 'size' expects a non-negative number below 2^64")]
    [InlineData("-m 1G -numa node,memdev=nope", "memdev=nope is ambiguous")]
    [InlineData("-m 1G -object memory-backend-ram,id=a,size=512M -numa node,memdev=a", "total memory for NUMA nodes (0x20000000) should equal RAM size (0x40000000)")]
    [InlineData("-m 1G -object memory-backend-ram,id=a,size=1G -numa node,nodeid=0,memdev=a -numa node,nodeid=2", "numa: Node ID missing: 1")]
    [InlineData("-m 1G -object memory-backend-ram,id=a,size=1G -numa node,nodeid=0,memdev=a -numa node,nodeid=0", "Duplicate NUMA nodeid: 0")]
    [InlineData("-m 1G -smp 2 -object memory-backend-ram,id=a,size=1G -numa node,memdev=a,cpus=0-1 -numa node,cpus=1", "CPU is already assigned to node-id: 0")]
    [InlineData("-m 1G -smp 2 -object memory-backend-ram,id=a,size=1G -numa node,memdev=a,cpus=0-2", "CPU index (2) should be smaller than maxcpus (2)")]
    [InlineData("-m 1G -smp 2,sockets=2 -object memory-backend-ram,id=a,size=1G -numa node,memdev=a -numa cpu,node-id=0,socket-id=2", "no match found")]
    [InlineData("-m 1G -smp 2 -object memory-backend-ram,id=a,size=1G -numa node,memdev=a -numa cpu,node-id=1,socket-id=0", "Invalid node-id=1, NUMA node must be defined with -numa node,nodeid=ID before it's used with -numa cpu,node-id=ID")]
    [InlineData("-m 1G -smp 2 -object memory-backend-ram,id=a,size=1G -numa node,memdev=a -numa cpu,node-id=0,die-id=0", "die-id is not supported")]
    [InlineData("-m 1G -object memory-backend-ram,id=a,size=1G -numa node,memdev=a -numa node -numa dist,src=0,dst=0,val=20", "Local distance of node 0 should be 10.")]
    [InlineData("-m 1G -object memory-backend-ram,id=a,size=1G -numa node,memdev=a -numa node -numa dist,src=0,dst=1,val=9", "NUMA distance (9) is invalid, it shouldn't be less than 10.")]
    [InlineData("-m 1G -object memory-backend-ram,id=a,size=1G -numa node,memdev=a -numa node -numa dist,src=0,dst=2,val=20", "Source/Destination NUMA node is missing")]
    [InlineData("-m 1G -object memory-backend-ram,id=a,size=1G -numa node,memdev=a -numa node -numa node -numa dist,src=0,dst=1,val=20", "The distance between node 0 and 2 is missing, at least one distance value between each nodes should be provided.")]
    [InlineData("-m 1G -object memory-backend-ram,id=a,size=1G -numa node,memdev=a -numa node -numa node -numa dist,src=0,dst=1,val=20 -numa dist,src=1,dst=0,val=30 -numa dist,src=0,dst=2,val=20 -numa dist,src=1,dst=2,val=20", "At least one asymmetrical pair of distances is given")]
    [InlineData("-m 1G -numa node,mem=1G", "Parameter -numa node,mem is not supported by this machine type")]
    [InlineData("-m 1G -object memory-backend-ram,id=a,size=1G -object memory-backend-ram,id=a,size=1G", "attempt to add duplicate property 'a'")]
    [InlineData("-m 1G -device pc-dimm", "unsupported device 'pc-dimm'")]
    [InlineData("-m 1G,maxmem=4G -object memory-backend-ram,id=v,size=1G -device virtio-mem-pci,memdev=v,node=3", "'node' property has value '3', which exceedsthe number of numa nodes: 1")]
    [InlineData("-m 1G,maxmem=4G -object memory-backend-ram,id=v,size=1G -device virtio-mem-pci,memdev=v,requested-size=3M", "'requested-size' property has to be multiples of 'block-size' (0x200000)")]
    [InlineData("-m 1G,maxmem=4G -object memory-backend-ram,id=v,size=1G -device virtio-mem-pci,memdev=v,block-size=3M", "'block-size' property has to be a power of two")]
    [InlineData("-m 1G,maxmem=4G -device virtio-mem-pci,id=x", "'memdev' property must be set")]
    [InlineData("-m 1G -object memory-backend-ram,id=v,size=1G -device virtio-mem-pci,memdev=v", "memory devices (e.g. for memory hotplug) are not enabled")]
    [InlineData("-m 1G -machine q35", "unsupported machine type 'q35'")]
    [InlineData("-m", "-m: requires an argument")]
    public void Invalid_command_lines_fail_with_qemus_message(string args, string expected)
    {
        Assert.Contains(expected, Fails(args));
    }

    [Fact]
    public void Harmless_options_are_accepted()
    {
        Ok("-enable-kvm -nographic -no-reboot -accel kvm -M pc -cpu host -display none --serial stdio -m 1G");
    }
}
