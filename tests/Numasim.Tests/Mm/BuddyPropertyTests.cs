using CsCheck;
using Numasim.Kernel.Mm;

namespace Numasim.Tests.Mm;

public class BuddyPropertyTests
{
    private sealed record Shape(long Start, long[] Pieces, int Batch, int High);
    private sealed record Op(bool Alloc, int Order, int Mt, int Cpu, int Pick);

    private static readonly Gen<Shape> GenShape =
        Gen.Select(Gen.Long[0, 5000], Gen.Long[1, 3000].Array[1, 4], Gen.Int[1, 15], Gen.Int[0, 80],
            (start, pieces, batch, high) => new Shape(start, pieces, batch, high));

    private static readonly Gen<Op> GenOp =
        Gen.Select(Gen.Int[0, 9], Gen.OneOf(Gen.Int[0, 3], Gen.Int[0, 10]), Gen.Int[0, 2], Gen.Int[0, 3], Gen.Int[0, 1000],
            (a, order, mt, cpu, pick) => new Op(a < 6, order, mt, cpu, pick));

    /// <summary>Pieces alternate online / hole: even pieces are onlined, odd ones are holes.</summary>
    private static (ZonePageAllocator Zone, List<(long, long)> Online) Build(Shape s)
    {
        long span = s.Pieces.Sum();
        var z = new ZonePageAllocator(s.Start, span);
        var online = new List<(long, long)>();
        long pfn = s.Start;
        for (int i = 0; i < s.Pieces.Length; i++)
        {
            if (i % 2 == 0) { z.OnlineRange(pfn, s.Pieces[i]); online.Add((pfn, pfn + s.Pieces[i])); }
            pfn += s.Pieces[i];
        }
        z.SetPcpHighAndBatch(s.High, s.Batch);
        return (z, online);
    }

    private static SortedSet<(long Pfn, int Order)> FreeSet(ZonePageAllocator z)
    {
        var set = new SortedSet<(long, int)>();
        for (int o = 0; o < BuddyConstants.MaxOrder; o++)
            for (int mt = 0; mt < MigrateTypes.Count; mt++)
                foreach (var p in z.FreeBlocks(o, (MigrateType)mt))
                    Assert.True(set.Add((p, o)), $"free block {p} order {o} listed twice");
        return set;
    }

    private static void CheckInvariants(ZonePageAllocator z, List<(long S, long E)> online, Dictionary<long, int> live)
    {
        long buddyPages = 0;
        for (int o = 0; o < BuddyConstants.MaxOrder; o++)
        {
            long n = 0;
            for (int mt = 0; mt < MigrateTypes.Count; mt++)
            {
                long c = z.FreeBlocks(o, (MigrateType)mt).LongCount();
                Assert.Equal(c, z.NrFree(o, (MigrateType)mt));
                n += c;
            }
            Assert.Equal(n, z.NrFree(o));
            buddyPages += n << o;
        }
        long onlined = online.Sum(r => r.E - r.S);
        Assert.Equal(buddyPages, z.FreePages);
        Assert.Equal(onlined, z.FreePages + z.PcpPages + z.AllocatedPages);

        // Every page is in exactly one place: buddy, pcp, or one allocation; and inside an online range.
        var ranges = new List<(long S, long E, string What)>();
        foreach (var (p, o) in FreeSet(z)) ranges.Add((p, p + (1L << o), "free"));
        for (int cpu = 0; cpu < 4; cpu++)
            for (int pi = 0; pi < PerCpuPages.NrPcpLists; pi++)
                foreach (var p in z.Pcp(cpu).ListPfns(pi)) ranges.Add((p, p + (1L << PerCpuPages.PindexToOrder(pi)), "pcp"));
        foreach (var (p, o) in live) ranges.Add((p, p + (1L << o), "alloc"));
        ranges.Sort();
        for (int i = 0; i < ranges.Count; i++)
        {
            var r = ranges[i];
            Assert.True((r.S & ((r.E - r.S) - 1)) == 0, $"{r.What} block {r.S} not naturally aligned");
            Assert.Contains(online, o => o.S <= r.S && r.E <= o.E);
            if (i > 0) Assert.True(ranges[i - 1].E <= r.S, $"{ranges[i - 1].What} [{ranges[i - 1].S},{ranges[i - 1].E}) overlaps {r.What} at {r.S}");
        }
        var enumerated = z.AllocatedInRange(z.ZoneStartPfn, z.ZoneEndPfn).Select(b => (b.Pfn, b.Order)).ToList();
        Assert.Equal(live.OrderBy(kv => kv.Key).Select(kv => (kv.Key, kv.Value)).ToList(), enumerated);
    }

    [Fact]
    public void Random_alloc_free_keeps_every_page_accounted_once_and_merges_back()
    {
        Gen.Select(GenShape, GenOp.Array[1, 120]).Sample((shape, ops) =>
        {
            var (z, online) = Build(shape);
            var initial = FreeSet(z);
            var live = new Dictionary<long, int>();
            var order = new List<long>();
            foreach (var op in ops)
            {
                if (op.Alloc || order.Count == 0)
                {
                    long pfn = z.Allocate(op.Order, (MigrateType)op.Mt, op.Cpu);
                    if (pfn >= 0)
                    {
                        Assert.False(live.ContainsKey(pfn), $"pfn {pfn} handed out twice");
                        live[pfn] = op.Order;
                        order.Add(pfn);
                    }
                }
                else
                {
                    int i = op.Pick % order.Count;
                    long pfn = order[i];
                    order.RemoveAt(i);
                    live.Remove(pfn);
                    z.Free(pfn, op.Cpu);
                }
                CheckInvariants(z, online, live);
            }
            foreach (var pfn in order) z.Free(pfn, 1);
            z.DrainPcp();
            Assert.Equal(0, z.PcpPages);
            Assert.Equal(initial, FreeSet(z));
        }, iter: 300);
    }

    [Fact]
    public void Same_operations_give_the_same_pfns()
    {
        Gen.Select(GenShape, GenOp.Array[1, 80]).Sample((shape, ops) =>
        {
            List<long> Run()
            {
                var (z, _) = Build(shape);
                var got = new List<long>();
                var held = new List<long>();
                foreach (var op in ops)
                {
                    if (op.Alloc || held.Count == 0) { long p = z.Allocate(op.Order, (MigrateType)op.Mt, op.Cpu); got.Add(p); if (p >= 0) held.Add(p); }
                    else { int i = op.Pick % held.Count; z.Free(held[i], op.Cpu); held.RemoveAt(i); }
                }
                return got;
            }
            Assert.Equal(Run(), Run());
        }, iter: 100);
    }

    [Fact]
    public void Isolate_then_offline_after_freeing_takes_exactly_the_free_pages()
    {
        Gen.Select(GenOp.Array[1, 60], Gen.Int[0, 7]).Sample((ops, block) =>
        {
            var z = new ZonePageAllocator(0, 8 * 1024);
            z.OnlineRange(0, 8 * 1024);
            z.SetPcpHighAndBatch(40, 7);
            var held = new List<long>();
            foreach (var op in ops)
            {
                if (op.Alloc || held.Count == 0) { long p = z.Allocate(op.Order, (MigrateType)op.Mt, op.Cpu); if (p >= 0) held.Add(p); }
                else { int i = op.Pick % held.Count; z.Free(held[i], op.Cpu); held.RemoveAt(i); }
            }
            long s = block * 1024L, e = s + 1024;
            var err = z.Isolate(s, e);
            Assert.Equal(Numasim.Kernel.Errno.None, err);
            Assert.DoesNotContain(z.FreeBlocks(0, MigrateType.Isolate), p => p < s || p >= e);
            foreach (var p in held.Where(p => p >= s && p < e).ToList()) { z.Free(p, 0); held.Remove(p); }
            z.DrainPcp();
            Assert.Equal(Numasim.Kernel.Errno.None, z.TestPagesIsolated(s, e, out _));
            long freeBefore = z.FreePages;
            Assert.Equal(1024, z.OfflineIsolated(s, e));
            Assert.Equal(freeBefore, z.FreePages);
            Assert.Equal(8 * 1024 - 1024, z.FreePages + z.PcpPages + z.AllocatedPages);
            foreach (var p in held) z.Free(p, 0);
            z.DrainPcp();
            Assert.Equal(7 * 1024, z.FreePages);
        }, iter: 200);
    }
}
