using Numasim.Firmware;

namespace Numasim.Tests.Firmware;

/// <summary>-machine hmat=on and -numa hmat-lb/hmat-cache as QEMU 7.2 parses them and builds the ACPI HMAT.</summary>
public class HmatTests
{
    /// <summary>Node 2 has no CPU and only hot-pluggable memory; its initiator is node 0 (the issue 17 conformance machine).</summary>
    public const string Machine = "-machine hmat=on -m 2G,slots=4,maxmem=8G -smp 2,maxcpus=2,sockets=2,cores=1,threads=1 " +
        "-object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G -numa node,nodeid=0,memdev=m0 " +
        "-numa node,nodeid=1,memdev=m1 -numa node,nodeid=2,initiator=0 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=1,socket-id=1 " +
        "-numa dist,src=0,dst=1,val=21 -numa dist,src=0,dst=2,val=17 -numa dist,src=1,dst=2,val=28 " +
        "-numa hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-latency,latency=10 " +
        "-numa hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-bandwidth,bandwidth=10G " +
        "-numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,latency=21 " +
        "-numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-bandwidth,bandwidth=5G " +
        "-numa hmat-lb,initiator=0,target=2,hierarchy=memory,data-type=access-latency,latency=120 " +
        "-numa hmat-lb,initiator=0,target=2,hierarchy=memory,data-type=access-bandwidth,bandwidth=2G " +
        "-numa hmat-lb,initiator=1,target=0,hierarchy=memory,data-type=access-latency,latency=21 " +
        "-numa hmat-lb,initiator=1,target=0,hierarchy=memory,data-type=access-bandwidth,bandwidth=5G " +
        "-numa hmat-lb,initiator=1,target=1,hierarchy=memory,data-type=access-latency,latency=10 " +
        "-numa hmat-lb,initiator=1,target=1,hierarchy=memory,data-type=access-bandwidth,bandwidth=10G " +
        "-numa hmat-lb,initiator=1,target=2,hierarchy=memory,data-type=access-latency,latency=140 " +
        "-numa hmat-lb,initiator=1,target=2,hierarchy=memory,data-type=access-bandwidth,bandwidth=1536M " +
        "-numa hmat-cache,node-id=2,size=10K,level=1,associativity=direct,policy=write-back,line=8";

    private static MachineSpec Ok(string args)
    {
        var r = QemuCommandLine.Parse(args);
        Assert.True(r.Ok, r.ErrorText);
        return r.Spec!;
    }

    [Fact]
    public void Hmat_options_give_initiators_cpu_nodes_entries_and_caches()
    {
        var h = Ok(Machine).Hmat!;
        Assert.Equal([0, 1], h.CpuNodes);
        Assert.Equal(new Dictionary<int, int> { [0] = 0, [1] = 1, [2] = 0 }, h.Initiators);
        Assert.Equal(12, h.Lb.Count);
        Assert.Equal(new HmatLbSpec(1, 2, HmatHierarchy.Memory, HmatDataType.AccessBandwidth, 1536UL << 20), h.Lb[^1]);
        Assert.Equal([new HmatCacheSpec(2, 1, 10240, HmatCacheAssociativity.Direct, HmatCachePolicy.WriteBack, 8)], h.Caches);
        Assert.Null(Ok("-m 1G").Hmat);
    }

    /// <summary>The structures the 6.1.176 and 6.12.111 guests read from /sys/firmware/acpi/tables/HMAT on this machine
    /// (od of the table): initiator-valid proximity structures, base units 1000 ps and 512 MB/s, the entries row by row,
    /// cache attributes 0x00081111.</summary>
    [Fact]
    public void Table_is_what_qemu_7_2_built_for_the_guest()
    {
        var t = AcpiHmatBuilder.Build(Ok(Machine))!;
        Assert.Equal(2, t.Revision);
        Assert.Equal([new HmatProximity(1, 0, 0), new HmatProximity(1, 1, 1), new HmatProximity(1, 0, 2)], t.Proximity);
        Assert.Equal(2, t.Localities.Count);
        var lat = t.Localities[0];
        Assert.Equal((byte)0, lat.DataType);
        Assert.Equal([0u, 1u], lat.Initiators);
        Assert.Equal([0u, 1u, 2u], lat.Targets);
        Assert.Equal(1000UL, lat.EntryBaseUnit);
        Assert.Equal([(ushort)10, 21, 120, 21, 10, 140], lat.Entries);
        var bw = t.Localities[1];
        Assert.Equal((byte)3, bw.DataType);
        Assert.Equal(512UL, bw.EntryBaseUnit);
        Assert.Equal([(ushort)20, 10, 4, 10, 20, 3], bw.Entries);
        Assert.Equal([new HmatCacheInfo(2, 10240, 0x00081111)], t.Caches);
    }

    /// <summary>QEMU 7.2 takes a CPU-less node without initiator= (its proximity structure then names none) and only reports
    /// an initiator id beyond MAX_NODES, going on without that node.</summary>
    [Fact]
    public void A_cpuless_node_may_name_no_initiator()
    {
        var s = Ok(TwoNodes + " -numa node,nodeid=2");
        Assert.False(s.Hmat!.Initiators.ContainsKey(2));
        Assert.Equal(new HmatProximity(0, 128, 2), AcpiHmatBuilder.Build(s)!.Proximity[2]);
        var r = QemuCommandLine.Parse(TwoNodes + " -numa node,nodeid=2,initiator=200");
        Assert.True(r.Ok, r.ErrorText);
        Assert.Equal(2, r.Spec!.Nodes.Count);
        Assert.Contains(r.Warnings, w => w.EndsWith("The initiator id 200 expects an integer between 0 and 127", StringComparison.Ordinal));
    }

    [Fact]
    public void Machine_file_hmat_round_trips_and_boots_the_same_table()
    {
        var spec = Ok(Machine);
        var text = MachineFile.Write(spec);
        Assert.Contains("hmat:\n  initiators: {2: 0}\n", text);
        var back = MachineFile.Parse(text, "m.yaml");
        Assert.Null(MachineSpecEquality.Difference(spec, back));
        Assert.Equal(AcpiHmatBuilder.Build(spec)!.Localities[1].Entries, AcpiHmatBuilder.Build(back)!.Localities[1].Entries);
    }

    [Theory]
    [InlineData("  lb:\n    - {initiator: 2, target: 0, data_type: read-latency, latency: 10}\n", "hmat.lb: invalid initiator=2, it isn't an initiator proximity domain")]
    [InlineData("  lb:\n    - {initiator: 0, target: 0, data_type: read-bandwidth, bandwidth: 1000}\n", "should be 1MB aligned")]
    [InlineData("  caches:\n    - {node: 2, level: 1, size: 1K, associativity: direct, policy: write-back, line: 8}\n", "should be provided before memory side cache attributes")]
    [InlineData("  initiators: {2: 1, 0: 1}\n", "the initiator of CPU NUMA node 0 should be itself (got 1)")]
    public void Machine_file_hmat_refusals_name_the_line(string hmat, string message)
    {
        var text = "qemu: \"-m 2G -smp 2,sockets=2 -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G " +
            "-numa node,nodeid=0,memdev=m0 -numa node,nodeid=1,memdev=m1 -numa node,nodeid=2 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=1,socket-id=1\"\nhmat:\n" + hmat;
        var e = Assert.Throws<MachineFormatException>(() => MachineFile.Parse(text, "m.yaml"));
        Assert.Contains(message, e.Message);
        Assert.True(e.Line >= 3, e.Message);
    }

    [Fact]
    public void Latency_base_is_the_smallest_power_of_ten_dividing_the_entries()
    {
        var info = new HmatLbInfo();
        Assert.Null(info.Add(new HmatLbSpec(0, 0, HmatHierarchy.Memory, HmatDataType.ReadLatency, 100)));
        Assert.Equal(100UL, info.Base);
        Assert.Null(info.Add(new HmatLbSpec(0, 1, HmatHierarchy.Memory, HmatDataType.ReadLatency, 250)));
        Assert.Equal(10UL, info.Base);
        Assert.StartsWith("Duplicate configuration of the latency for initiator=0 and target=1",
            info.Add(new HmatLbSpec(0, 1, HmatHierarchy.Memory, HmatDataType.ReadLatency, 30)));
    }

    private const string TwoNodes = "-machine hmat=on -m 2G -smp 2,sockets=2 -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G " +
        "-numa node,nodeid=0,memdev=m0 -numa node,nodeid=1,memdev=m1 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=1,socket-id=1";
    private const string Lat01 = " -numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,latency=10";
    private const string Bw01 = " -numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-bandwidth,bandwidth=1G";
    private const string Cache1 = " -numa hmat-cache,node-id=1,size=10K,level=1,associativity=direct,policy=write-back,line=8";

    /// <summary>QEMU 7.2.22's own messages for each refusal (run under the oracle lock, 2026-12-07).</summary>
    [Theory]
    [InlineData(TwoNodes + Lat01 + " -numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,latency=20",
        "Duplicate configuration of the latency for initiator=0 and target=1")]
    [InlineData(TwoNodes + " -numa hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-bandwidth,bandwidth=1000",
        "Bandwidth 1000 between initiator=0 and target=0 should be 1MB aligned")]
    [InlineData(TwoNodes + Lat01 + Cache1,
        "The latency and bandwidth information of node-id=1 should be provided before memory side cache attributes")]
    [InlineData(TwoNodes + Lat01 + Bw01 + " -numa hmat-cache,node-id=1,size=10K,level=2,associativity=direct,policy=write-back,line=8",
        "Cache level=1 shall be defined first")]
    [InlineData(TwoNodes + Lat01 + Bw01 + Cache1 + " -numa hmat-cache,node-id=1,size=8K,level=2,associativity=direct,policy=write-back,line=8",
        "Invalid size=8192, the size of level=2 should be larger than the size(10240) of level=1")]
    [InlineData(TwoNodes + " -numa hmat-lb,initiator=0,target=0,hierarchy=memory,latency=10", "Parameter 'data-type' is missing")]
    [InlineData(TwoNodes + " -numa hmat-lb,initiator=0,target=0,hierarchy=l4,data-type=access-latency,latency=10",
        "Parameter 'hierarchy' does not accept value 'l4'")]
    [InlineData(TwoNodes + " -numa hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-bandwidth,latency=10,bandwidth=1G",
        "Invalid option 'latency' since the data type is bandwidth")]
    [InlineData(TwoNodes + " -numa hmat-lb,initiator=5,target=0,hierarchy=memory,data-type=access-latency,latency=10",
        "Invalid initiator=5, it should be less than 2")]
    [InlineData(TwoNodes + " -numa hmat-lb,initiator=0,target=0,hierarchy=memory,data-type=access-latency,latency=1 " +
        "-numa hmat-lb,initiator=0,target=1,hierarchy=memory,data-type=access-latency,latency=100000",
        "Latency 100000 between initiator=0 and target=1 should not differ from previously entered min or max values on more than 65534")]
    [InlineData(TwoNodes + " -numa node,nodeid=2,initiator=7", "NUMA node 7 is missing, use '-numa node' option to declare it first")]
    [InlineData("-machine hmat=on -m 2G -smp 1,maxcpus=2,sockets=2 -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G " +
        "-numa node,nodeid=0,memdev=m0 -numa node,nodeid=1,memdev=m1 -numa node,nodeid=2,initiator=1 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1",
        "The initiator of NUMA node 2 is invalid")]
    [InlineData(TwoNodes + " -numa hmat-lb,initiator=0,target=2,hierarchy=memory,data-type=access-latency,latency=10",
        "The target=2 should point to an existing node")]
    [InlineData("-machine hmat=maybe -m 2G", "Parameter 'hmat' expects 'on' or 'off'")]
    [InlineData("-machine hmat=on -m 2G -smp 2,sockets=2 -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G " +
        "-numa node,nodeid=0,memdev=m0 -numa node,nodeid=1,memdev=m1" + Lat01, "Invalid initiator=0, it isn't an initiator proximity domain")]
    [InlineData(TwoNodes + Lat01 + Bw01 + " -numa hmat-cache,node-id=1,size=10K,level=4,associativity=direct,policy=write-back,line=8",
        "Invalid level=4, it should be larger than 0 and less than or equal to 3")]
    [InlineData(TwoNodes + Lat01 + ",foo=1", "Invalid parameter 'foo'")]
    [InlineData(TwoNodes + " -numa node,nodeid=2,initiator=0 -numa hmat-lb,initiator=2,target=0,hierarchy=memory,data-type=access-latency,latency=10",
        "Invalid initiator=2, it isn't an initiator proximity domain")]
    [InlineData("-m 2G -smp 2,sockets=2 -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G -numa node,nodeid=0,memdev=m0 " +
        "-numa node,nodeid=1,memdev=m1 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=1,socket-id=1" + Lat01,
        "ACPI Heterogeneous Memory Attribute Table (HMAT) is disabled, enable it with -machine hmat=on before using any of hmat specific options")]
    [InlineData("-machine hmat=on -m 2G -smp 2,sockets=2 -object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G " +
        "-numa node,nodeid=0,memdev=m0,initiator=1 -numa node,nodeid=1,memdev=m1 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=1,socket-id=1",
        "The initiator of CPU NUMA node 0 should be itself (got 1)")]
    public void Refusals_carry_qemus_message(string args, string message)
    {
        var r = QemuCommandLine.Parse(args);
        Assert.False(r.Ok);
        Assert.Contains(message, r.ErrorText);
    }
}
