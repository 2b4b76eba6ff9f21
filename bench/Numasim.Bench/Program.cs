using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Numasim.Kernel.Mm;

namespace Numasim.Bench;

public static class Program
{
    public static void Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--quick") { Quick(); return; }
        if (args.Length > 0 && args[0] == "--memory") { AllocatorMemoryFigures.Run(); return; }
        if (args.Length > 0 && args[0] == "--import-big") { ImportRoundTrip.Run(args.Length > 1 ? args[1] : null); return; }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
    }

    /// <summary>A Stopwatch smoke figure (no BenchmarkDotNet): ns per order-0 pair.</summary>
    private static void Quick()
    {
        var b = new PageAllocatorBench();
        b.Setup();
        for (int round = 0; round < 3; round++)
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            const int n = 20_000_000;
            long x = 0;
            for (int i = 0; i < n; i++) x += b.Order0Pair();
            double pair = sw.Elapsed.TotalNanoseconds / n;
            sw.Restart();
            for (int i = 0; i < n; i++) x += b.FloorLifoCalls();
            double floor = sw.Elapsed.TotalNanoseconds / n;
            Console.WriteLine($"order-0 pair {pair:F2} ns, floor (calls) {floor:F2} ns, ratio {pair / floor:F1} ({x})");
        }
    }
}

/// <summary>Hot paths of one zone's page allocator against a bare LIFO array of page numbers (the floor).</summary>
[MemoryDiagnoser]
[ShortRunJob]
public class PageAllocatorBench
{
    private ZonePageAllocator _zone = null!;
    private long[] _stack = null!;
    private int _top;
    private readonly long[] _burst = new long[1000];

    [GlobalSetup]
    public void Setup()
    {
        const long pages = 1L << 18; // 1 GiB zone
        _zone = new ZonePageAllocator(4096, pages);
        _zone.OnlineRange(4096, pages);
        int batch = Watermarks.ZoneBatchsize(pages);
        var w = Watermarks.SetupPerZoneWmarks(Watermarks.CalculateMinFreeKbytes(pages), [new ZoneReserveInput(1, pages)]);
        _zone.SetPcpHighAndBatch(Watermarks.ZoneHighsize(w[0].Low, pages, batch, 2, 0, 2), batch);
        _stack = new long[1024];
        for (int i = 0; i < _stack.Length; i++) _stack[i] = i;
        _top = _stack.Length;
    }

    [Benchmark(Baseline = true, Description = "floor: LIFO array pop+push (inlined)")]
    public long FloorLifoPair()
    {
        long p = _stack[--_top];
        _stack[_top++] = p;
        return p;
    }

    [Benchmark(Description = "floor: LIFO array Alloc()+Free() calls (not inlined)")]
    public long FloorLifoCalls()
    {
        long p = LifoAlloc();
        LifoFree(p);
        return p;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private long LifoAlloc() => _top == 0 ? -1 : _stack[--_top];

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void LifoFree(long p) => _stack[_top++] = p;

    [Benchmark(Description = "order-0 alloc+free via pcp")]
    public long Order0Pair()
    {
        long p = _zone.Allocate(0, MigrateType.Movable, 0);
        _zone.Free(p, 0);
        return p;
    }

    [Benchmark(Description = "order-9 alloc+free (THP pcp list)")]
    public long Order9Pair()
    {
        long p = _zone.Allocate(9, MigrateType.Movable, 1);
        _zone.Free(p, 1);
        return p;
    }

    [Benchmark(Description = "order-4 alloc+free (buddy, split+merge)")]
    public long Order4Pair()
    {
        long p = _zone.Allocate(4, MigrateType.Unmovable, 1);
        _zone.Free(p, 1);
        return p;
    }

    [Benchmark(OperationsPerInvoke = 1000, Description = "order-0 burst of 1000 allocs then 1000 frees (per page)")]
    public long Order0Burst()
    {
        for (int i = 0; i < _burst.Length; i++) _burst[i] = _zone.Allocate(0, MigrateType.Movable, 2);
        for (int i = 0; i < _burst.Length; i++) _zone.Free(_burst[i], 2);
        return _burst[0];
    }
}

/// <summary>Setting up a freshly onlined 16 TiB zone: must not cost memory per page.</summary>
[MemoryDiagnoser]
[ShortRunJob]
public class ZoneSetupBench
{
    [Benchmark(Description = "16 TiB zone: construct + OnlineRange")]
    public long Setup16TiB()
    {
        long span = (16L << 40) >> 12;
        var z = new ZonePageAllocator(0, span);
        z.OnlineRange(0, span);
        return z.FreePages;
    }

    [Benchmark(Description = "16 TiB zone onlined in 128 MiB memory blocks (131072 calls)")]
    public long Setup16TiBByBlocks()
    {
        long span = (16L << 40) >> 12;
        var z = new ZonePageAllocator(0, span);
        for (long p = 0; p < span; p += 32768) z.OnlineRange(p, 32768);
        return z.FreePages;
    }
}
