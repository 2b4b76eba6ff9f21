using Numasim.Firmware;
using Numasim.Kernel.Mm;
using Numasim.Kernel.Profiles;
using Numasim.Tests.Cli;

namespace Numasim.Tests.Mm;

/// <summary>build_zonerefs_node() takes populated zones since e553f62f10d9 (v5.18), managed ones before it: a zone whose
/// pages the buddy allocator does not manage (all ballooned out: adjust_managed_page_count()) stays in 6.1's zonelists
/// and leaves v4.19's at the next build_all_zonelists().</summary>
public class ZonerefsTests
{
    [Theory]
    [InlineData("v6.1", true)]
    [InlineData("v6.12", true)]
    [InlineData("v4.19", false)]
    [InlineData("v4.20", false)]
    public void A_populated_zone_without_managed_pages_is_in_the_zonelists_from_v5_18(string profile, bool listed)
    {
        var m = Machine.Boot(QemuCommandLine.Parse(CliHarness.OracleQemu).GetSpecOrThrow(), KernelProfile.Find(profile)!);
        var k = m.Kernel;
        var node0 = k.NodeDataOf(0)!;
        var dma = node0.Zone(ZoneType.Dma);
        Assert.True(dma.IsPopulated);
        Assert.Contains(dma, Zones(node0.Fallback));
        dma.ManagedPages = 0;
        Zonelists.BuildAll(k, null);
        Assert.Equal(listed, Zones(node0.Fallback).Contains(dma));
        Assert.Equal(listed, Zones(node0.NoFallback).Contains(dma));
    }

    private static List<Zone> Zones(Zonelist zl)
    {
        var list = new List<Zone>();
        for (int i = 0; i < zl.Count; i++) list.Add(zl[i]);
        return list;
    }
}
