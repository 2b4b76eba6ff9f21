using CsCheck;
using Numasim.Firmware;
using Numasim.Kernel.Mm;

namespace Numasim.Tests.Mm;

/// <summary>Random allocation and free sequences through the page allocator's entry points on whole machines.</summary>
public class PageAllocMachinePropertyTests
{
    private static readonly string[] Machines =
    [
        "-m 1G,slots=4,maxmem=8G -smp 2,maxcpus=4,sockets=4,cores=1,threads=1 -object memory-backend-ram,id=m0,size=1G -numa node,nodeid=0,memdev=m0 -numa node,nodeid=1 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 -numa cpu,node-id=1,socket-id=2 -numa cpu,node-id=1,socket-id=3 -numa dist,src=0,dst=1,val=21",
        "-m 5G -smp 4,sockets=4 -object memory-backend-ram,id=a,size=2G -object memory-backend-ram,id=b,size=1G -object memory-backend-ram,id=c,size=2G -numa node,nodeid=0,memdev=a,cpus=0 -numa node,nodeid=1,memdev=b,cpus=1-2 -numa node,nodeid=2,memdev=c,cpus=3 -numa dist,src=0,dst=1,val=20 -numa dist,src=0,dst=2,val=30 -numa dist,src=1,dst=2,val=20",
        "-m 512M -smp 2",
    ];

    private static readonly Gfp[] Gfps =
    [
        Gfp.GfpKernel, Gfp.GfpHighUserMovable, Gfp.GfpDma32 | Gfp.GfpKernel, Gfp.GfpKernel | Gfp.ThisNode | Gfp.NoWarn,
        Gfp.GfpAtomic, Gfp.GfpKernel | Gfp.Dma,
    ];

    /// <summary>(kind 0..3: alloc, alloc, alloc, free; nid -1..2; order 0..10; gfp index; cpu; which allocation to free)</summary>
    private static readonly Gen<(int, int, int, int, int, int)> GenOp =
        Gen.Select(Gen.Int[0, 3], Gen.Int[-1, 2], Gen.OneOf(Gen.Int[0, 3], Gen.Int[0, 10]), Gen.Int[0, Gfps.Length - 1], Gen.Int[0, 3], Gen.Int[0, 1000]);

    [Fact]
    public void Pages_are_conserved_never_shared_and_merge_back_on_every_machine()
    {
        Gen.Select(Gen.Int[0, Machines.Length - 1], GenOp.Array[1, 150]).Sample((mi, ops) =>
        {
            var m = Machine.Boot(QemuCommandLine.Parse(Machines[mi]).GetSpecOrThrow());
            var k = m.Kernel;
            // Boot leaves pages on the pcp lists (the kernel's own allocations refill them); compare drained states.
            foreach (var z in k.AllZones()) z.Pages.DrainPcp();
            var before = m.Read("/proc/buddyinfo").Text;
            var held = new List<AllocatedPage>();
            foreach (var (kind, nid, order, gi, cpu0, which) in ops)
            {
                int cpu = k.Cpus.Online.Bits().ElementAt(cpu0 % k.Cpus.Online.Weight());
                if (kind == 3 && held.Count > 0)
                {
                    var p = held[which % held.Count];
                    held.Remove(p);
                    Assert.Equal(Kernel.Errno.None, m.PageAlloc.FreePages(p.Pfn, cpu));
                    continue;
                }
                int node = nid >= 0 && nid < k.NrNodeIds ? nid : -1;
                var page = m.PageAlloc.AllocPagesNode(node, Gfps[gi] | Gfp.NoWarn, order, new AllocContext(cpu, "prop", 1, []));
                if (page is null) continue;
                Assert.True(page.Zone.Type <= GfpFlags.GfpZone(Gfps[gi]), "a page above the gfp's highest zone");
                if ((Gfps[gi] & Gfp.ThisNode) != 0) Assert.Equal(node < 0 ? m.PageAlloc.NumaMemId(cpu) : node, page.Node);
                held.Add(page);
            }
            // No page handed out twice.
            var ranges = held.Select(p => (p.Pfn, End: p.Pfn + (1L << p.Order))).OrderBy(r => r.Pfn).ToList();
            for (int i = 1; i < ranges.Count; i++) Assert.True(ranges[i - 1].End <= ranges[i].Pfn, "overlapping pages");
            // free + on pcp lists + allocated == managed, zone by zone.
            foreach (var z in k.AllZones().Where(z => z.IsManaged))
                Assert.Equal(z.ManagedPages, z.FreePages + z.Pages.PcpPages + z.Pages.AllocatedPages);
            foreach (var p in held) m.PageAlloc.FreePages(p.Pfn, 0);
            foreach (var z in k.AllZones()) z.Pages.DrainPcp();
            Assert.Equal(before, m.Read("/proc/buddyinfo").Text);
        }, iter: 40, threads: 1);
    }
}
