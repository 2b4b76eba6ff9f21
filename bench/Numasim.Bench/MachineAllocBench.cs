using BenchmarkDotNet.Attributes;
using Numasim.Firmware;
using Numasim.Kernel.Mm;

namespace Numasim.Bench;

/// <summary>The page allocator end to end through Numasim.Machine: alloc_pages_node() + __free_pages() on the oracle
/// machine, and an allocation of node 0 that falls back across 3 nodes of a 4-node machine whose nodes 0 and 1 are
/// exhausted (their zones below the min watermark).</summary>
[MemoryDiagnoser]
[ShortRunJob]
public class MachinePageAllocBench
{
    /// <summary>The real-kernel oracle machine (/work/shared/oracle/README.md).</summary>
    public const string OracleArgs =
        "-m 1G,slots=4,maxmem=8G -smp 2,maxcpus=4,sockets=4,cores=1,threads=1 -object memory-backend-ram,id=m0,size=1G " +
        "-numa node,nodeid=0,memdev=m0 -numa node,nodeid=1 -numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=0,socket-id=1 " +
        "-numa cpu,node-id=1,socket-id=2 -numa cpu,node-id=1,socket-id=3 -numa dist,src=0,dst=1,val=21";

    /// <summary>Four nodes of 512 MiB, one CPU each, default distances (fallback order of node 0: 0 1 2 3).</summary>
    public const string FourNodeArgs =
        "-m 2G -smp 4,sockets=4,cores=1,threads=1 " +
        "-object memory-backend-ram,id=m0,size=512M -object memory-backend-ram,id=m1,size=512M " +
        "-object memory-backend-ram,id=m2,size=512M -object memory-backend-ram,id=m3,size=512M " +
        "-numa node,nodeid=0,memdev=m0 -numa node,nodeid=1,memdev=m1 -numa node,nodeid=2,memdev=m2 -numa node,nodeid=3,memdev=m3 " +
        "-numa cpu,node-id=0,socket-id=0 -numa cpu,node-id=1,socket-id=1 -numa cpu,node-id=2,socket-id=2 -numa cpu,node-id=3,socket-id=3";

    private Machine _oracle = null!;
    private Machine _four = null!;
    private readonly AllocContext _ctx = new(0, "bench", 1, []);

    public static Machine Boot(string args) => Machine.Boot(QemuCommandLine.Parse(args).GetSpecOrThrow());

    /// <summary>Allocates order-0 pages with __GFP_THISNODE until node nid has none above the min watermark.</summary>
    public static int Exhaust(Machine m, int nid, int cpu)
    {
        var ctx = new AllocContext(cpu, "exhaust", 1, []);
        int n = 0;
        while (m.PageAlloc.AllocPagesNode(nid, Gfp.GfpKernel | Gfp.ThisNode | Gfp.NoWarn, 0, ctx) is not null) n++;
        return n;
    }

    [GlobalSetup]
    public void Setup()
    {
        _oracle = Boot(OracleArgs);
        _four = Boot(FourNodeArgs);
        Exhaust(_four, 0, 0);
        Exhaust(_four, 1, 1);
        var p = _four.PageAlloc.AllocPagesNode(0, Gfp.GfpKernel, 0, _ctx)!;
        if (p.Node != 2) throw new InvalidOperationException($"fallback went to node {p.Node}, not 2");
        _four.PageAlloc.FreePages(p.Pfn, 0);
    }

    [Benchmark(Description = "oracle machine: alloc_pages_node(0, GFP_KERNEL, 0) + __free_pages")]
    public long OraclePair()
    {
        var p = _oracle.PageAlloc.AllocPagesNode(0, Gfp.GfpKernel, 0, _ctx)!;
        _oracle.PageAlloc.FreePages(p.Pfn, 0);
        return p.Pfn;
    }

    [Benchmark(Description = "4 nodes, 0 and 1 exhausted: alloc on node 0 falls back to node 2 (+ free)")]
    public long Fallback3NodesPair()
    {
        var p = _four.PageAlloc.AllocPagesNode(0, Gfp.GfpKernel, 0, _ctx)!;
        _four.PageAlloc.FreePages(p.Pfn, 0);
        return p.Pfn;
    }
}

/// <summary>Managed memory while 1 M order-0 pages are allocated and freed on the 64 TiB machine's zones: 1,024 zones of
/// 64 GiB (the machine of issue 2: 1,024 nodes of 64 GiB), built as ZonePageAllocator objects because that machine's
/// boot takes about a minute today. Pages come from every zone in turn through the pcp lists of 8 CPUs per node.</summary>
public static class AllocatorMemoryFigures
{
    public static void Run()
    {
        const int zones = 1024;
        const long zonePages = (64L << 30) >> 12;
        const int pages = 1 << 20;
        long Heap() => GC.GetTotalMemory(forceFullCollection: true);
        long start = Heap();
        long allocStart = GC.GetTotalAllocatedBytes(precise: true);
        var z = new ZonePageAllocator[zones];
        int batch = Watermarks.ZoneBatchsize(zonePages);
        var w = Watermarks.SetupPerZoneWmarks(Watermarks.CalculateMinFreeKbytes(zonePages * zones), [new ZoneReserveInput(1, zonePages)]);
        for (int i = 0; i < zones; i++)
        {
            z[i] = new ZonePageAllocator(zonePages * i + (1L << 20), zonePages);
            z[i].OnlineRange(z[i].ZoneStartPfn, zonePages);
            z[i].SetPcpHighAndBatch(Watermarks.ZoneHighsize(w[0].Low, zonePages, batch, 8, 0, 8192), batch);
        }
        long afterOnline = Heap();
        var pfns = new long[pages];
        long pfnArray = Heap() - afterOnline;
        long peak = 0;
        var sw = System.Diagnostics.Stopwatch.StartNew();
        for (int i = 0; i < pages; i++)
        {
            int zi = i % zones;
            pfns[i] = z[zi].Allocate(0, MigrateType.Movable, zi * 8 + (i / zones) % 8);
            if ((i & 0xFFFF) == 0xFFFF) peak = Math.Max(peak, Heap());
        }
        double allocMs = sw.Elapsed.TotalMilliseconds;
        long allocated = Heap();
        peak = Math.Max(peak, allocated);
        sw.Restart();
        for (int i = 0; i < pages; i++) z[i % zones].Free(pfns[i], (i % zones) * 8 + (i / zones) % 8);
        double freeMs = sw.Elapsed.TotalMilliseconds;
        long freed = Heap();
        foreach (var x in z) { x.DrainPcp(); x.Compact(); }
        long compacted = Heap();
        long totalAllocated = GC.GetTotalAllocatedBytes(precise: true) - allocStart;
        static string MiB(long b) => $"{b / 1048576.0:F1} MiB";
        Console.WriteLine($"1,024 zones of 64 GiB (64 TiB), 1 M order-0 pages");
        Console.WriteLine($"  heap before: {MiB(start)}; zones constructed + onlined: {MiB(afterOnline - start)}");
        Console.WriteLine($"  pfn array of the benchmark itself: {MiB(pfnArray)} (subtracted below)");
        Console.WriteLine($"  peak while allocating (sampled every 64 K): {MiB(peak - afterOnline - pfnArray)} above the onlined zones");
        Console.WriteLine($"  with 1 M pages allocated: {MiB(allocated - afterOnline - pfnArray)} above the onlined zones ({(allocated - afterOnline - pfnArray) / (double)pages:F1} B/page)");
        Console.WriteLine($"  after freeing all: {MiB(freed - afterOnline - pfnArray)}; after drain + Compact(): {MiB(compacted - afterOnline - pfnArray)}");
        Console.WriteLine($"  bytes allocated in all: {MiB(totalAllocated)}; alloc {allocMs * 1e6 / pages:F0} ns/page, free {freeMs * 1e6 / pages:F0} ns/page (with heap sampling)");
        GC.KeepAlive(pfns);
        GC.KeepAlive(z);
    }
}
