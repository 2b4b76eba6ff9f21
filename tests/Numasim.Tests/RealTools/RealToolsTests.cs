using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Numasim.Tests.RealTools;

/// <summary>
/// Real tools read the model's exported tree of the oracle machine (-m 1G,slots=4,maxmem=8G, 4 sockets x 1 core,
/// CPUs 0-1 present on node 0, CPUs 2-3 possible on node 1, node 1 memoryless and offline, distance 21), and
/// their output is compared with what the same tools print for the facts of the real 6.1.176 guest
/// (/work/shared/oracle/boot-snapshot.v6.1.txt). The expected texts below are derived from those facts, not
/// from the model. What is normalized, and why, is written at each test and in docs/conformance.md.
/// All tools run with LC_ALL=C. Every comparison removes trailing blanks at line ends (column padding).
/// </summary>
public class RealToolsTests(OracleExportFixture fx, ITestOutputHelper output) : IClassFixture<OracleExportFixture>
{
    /// <summary>Guest facts: memory/block_size_bytes=8000000 (128 MiB); memory0..memory7 online (1 GiB below 4 GiB,
    /// no DIMM); 6.1's removable always reads 1. Nothing normalized.</summary>
    [Fact]
    public void Lsmem_summary()
    {
        if (!RealTool.Require("lsmem", output)) return;
        var r = RealTool.Run("lsmem", "-s", fx.Dir);
        Assert.Equal("", r.Err);
        Assert.Equal(0, r.Exit);
        Assert.Equal(
            """
            RANGE                                 SIZE  STATE REMOVABLE BLOCK
            0x0000000000000000-0x000000003fffffff   1G online       yes   0-7

            Memory block size:       128M
            Total online memory:       1G
            Total offline memory:      0B

            """, RealTool.TrimLines(r.Out));
    }

    /// <summary>Guest facts as above, plus: every block links node0; memory0/valid_zones is "none" (it spans DMA
    /// and DMA32; lsmem prints "None"), memory1..7 "DMA32". Nothing normalized.</summary>
    [Fact]
    public void Lsmem_columns_with_node_and_zones()
    {
        if (!RealTool.Require("lsmem", output)) return;
        var r = RealTool.Run("lsmem", "-s", fx.Dir, "-o", "RANGE,SIZE,STATE,REMOVABLE,BLOCK,NODE,ZONES");
        Assert.Equal("", r.Err);
        Assert.Equal(0, r.Exit);
        Assert.Equal(
            """
            RANGE                                  SIZE  STATE REMOVABLE BLOCK NODE ZONES
            0x0000000000000000-0x0000000007ffffff  128M online       yes     0    0  None
            0x0000000008000000-0x000000003fffffff  896M online       yes   1-7    0 DMA32

            Memory block size:       128M
            Total online memory:       1G
            Total offline memory:      0B

            """, RealTool.TrimLines(r.Out));
    }

    /// <summary>Guest facts: cpu/possible=0-3, cpu/present=0-1, cpu/online=0-1; cpu0 and cpu1 link node0 (cpu0 has no
    /// online file; lscpu takes cpu/online); sockets=4,cores=1 so each CPU is its own package and core. lscpu
    /// lists present CPUs only, so 2 and 3 do not appear. Nothing normalized.</summary>
    [Fact]
    public void Lscpu_extended()
    {
        if (!RealTool.Require("lscpu", output)) return;
        var r = RealTool.Run("lscpu", "-s", fx.Dir, "-e=CPU,NODE,SOCKET,CORE,ONLINE");
        Assert.Equal(0, r.Exit);
        Assert.Equal(
            """
            CPU NODE SOCKET CORE ONLINE
              0    0      0    0    yes
              1    0      1    1    yes

            """, RealTool.TrimLines(r.Out));
    }

    /// <summary>Guest facts: one online node (node0, MemTotal 916536 kB = 895 MiB), PUs 0 and 1. Reduced to the
    /// NUMANode and PU objects: the real guest's /sys/devices/system/cpu/cpuN/cache (L1d/L1i/L2/L3 of qemu64)
    /// adds cache objects to the Package/Core lines, and the model does not export CPU caches.</summary>
    [Fact]
    public void Lstopo_numa_nodes_and_pus()
    {
        if (!RealTool.Require("lstopo-no-graphics", output)) return;
        var r = RealTool.Run("lstopo-no-graphics", "-i", fx.Dir);
        Assert.Equal(0, r.Exit);
        var objects = Regex.Matches(r.Out, @"(NUMANode L#\d+ \(P#\d+[^)]*\)|PU L#\d+ \(P#\d+\))").Select(m => m.Value);
        Assert.Equal(
            """
            NUMANode L#0 (P#0 895MB)
            PU L#0 (P#0)
            PU L#1 (P#1)
            """, string.Join("\n", objects));
    }

    /// <summary>Guest facts: node/online=0, node0 cpulist 0-1, node0 MemTotal 916536 kB (895 MB), distance "10"
    /// (node0/distance lists online nodes only). Normalized: the "free" figure (the guest's MemFree, 876436 kB =
    /// 855 MB at the snapshot) depends on boot-time allocations that change from boot to boot and that the model
    /// approximates; it is replaced by N, and only checked to be at most the size.
    /// Runs only as root where unshare -m works (it bind-mounts the export over /sys/devices/system/node in a
    /// private mount namespace).</summary>
    [Fact]
    public void Numactl_hardware_through_a_bind_mount()
    {
        if (!RealTool.Require("numactl", output) || !RealTool.Require("unshare", output)) return;
        if (!RealTool.IsRoot)
        {
            output.WriteLine("NOTE: not root: numactl --hardware over a bind mount not run");
            return;
        }
        if (RealTool.Run("unshare", "-m", "true").Exit != 0)
        {
            output.WriteLine("NOTE: unshare -m does not work here (no CAP_SYS_ADMIN?): numactl --hardware not run");
            return;
        }
        var node = Path.Combine(fx.Dir, "sys/devices/system/node");
        var r = RealTool.Run("unshare", "-m", "sh", "-c",
            $"mount --bind '{node}' /sys/devices/system/node && numactl --hardware");
        Assert.Equal("", r.Err);
        Assert.Equal(0, r.Exit);
        var free = Regex.Match(r.Out, @"^node 0 free: (\d+) MB$", RegexOptions.Multiline);
        Assert.True(free.Success, r.Out);
        Assert.InRange(int.Parse(free.Groups[1].Value), 0, 895);
        var normalized = Regex.Replace(r.Out, @"^(node \d+ free:) \d+ MB$", "$1 N MB", RegexOptions.Multiline);
        Assert.Equal(
            """
            available: 1 nodes (0)
            node 0 cpus: 0 1
            node 0 size: 895 MB
            node 0 free: N MB
            node distances:
            node   0
              0:  10

            """, RealTool.TrimLines(normalized));
    }
}
