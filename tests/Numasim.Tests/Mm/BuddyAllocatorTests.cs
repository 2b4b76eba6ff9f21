using Numasim.Kernel;
using Numasim.Kernel.Mm;

namespace Numasim.Tests.Mm;

public class BuddyAllocatorTests
{
    private static ZonePageAllocator Zone(long start, long span, bool online = true)
    {
        var z = new ZonePageAllocator(start, span);
        if (online) z.OnlineRange(start, span);
        return z;
    }

    private static long[] Buddyinfo(ZonePageAllocator z) =>
        Enumerable.Range(0, BuddyConstants.MaxOrder).Select(o => z.NrFree(o)).ToArray();

    [Fact]
    public void Onlining_frees_largest_aligned_blocks_and_counts_free_pages()
    {
        var z = Zone(0, 4096);
        Assert.Equal(new long[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4 }, Buddyinfo(z));
        Assert.Equal(4096, z.FreePages);
        Assert.Equal(new long[] { 0, 1024, 2048, 3072 }, z.FreeBlocks(10, MigrateType.Movable).ToArray());
    }

    [Fact]
    public void Onlining_an_unaligned_range_uses_natural_alignment()
    {
        var z = Zone(1, 1030); // pfns 1..1030
        // 1 (o0) 2 (o1) 4 (o2) 8 (o3) ... 512 (o9) then 1024 (o2: 1024..1027), 1028 (o1), 1030 (o0)
        Assert.Equal(new long[] { 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 0 }, Buddyinfo(z));
        Assert.Equal(1030, z.FreePages);
    }

    [Fact]
    public void Allocation_splits_a_max_order_block_with_expand()
    {
        var z = Zone(0, 1024);
        long pfn = z.Allocate(4, MigrateType.Movable, 0);
        Assert.Equal(0, pfn);
        Assert.Equal(new long[] { 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0 }, Buddyinfo(z));
        // expand() puts the upper halves on the lists: 16, 32, 64, 128, 256, 512
        Assert.Equal(new long[] { 16 }, z.FreeBlocks(4, MigrateType.Movable).ToArray());
        Assert.Equal(new long[] { 512 }, z.FreeBlocks(9, MigrateType.Movable).ToArray());
        Assert.Equal(1024 - 16, z.FreePages);
    }

    [Fact]
    public void Freeing_merges_buddies_back_to_max_order()
    {
        var z = Zone(0, 1024);
        long a = z.Allocate(4, MigrateType.Movable, 0);
        long b = z.Allocate(4, MigrateType.Movable, 0);
        Assert.Equal(16, b);
        z.Free(a, 0);
        z.Free(b, 0);
        Assert.Equal(new long[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }, Buddyinfo(z));
        Assert.Equal(1024, z.FreePages);
    }

    [Fact]
    public void Double_free_is_caught_as_a_bug()
    {
        var z = Zone(0, 1024);
        long a = z.Allocate(5, MigrateType.Unmovable, 0);
        z.Free(a, 0);
        Assert.Throws<InvalidOperationException>(() => z.Free(a, 0));
        Assert.Throws<InvalidOperationException>(() => z.Free(a + 1, 0));
    }

    [Fact]
    public void Fallback_for_a_pageblock_sized_block_takes_the_pageblocks()
    {
        var z = Zone(0, 1024);
        long a = z.Allocate(4, MigrateType.Unmovable, 0);
        Assert.Equal(0, a);
        // the order-10 movable block was stolen whole: both pageblocks now unmovable
        Assert.Equal(MigrateType.Unmovable, z.PageblockMigratetype(0));
        Assert.Equal(MigrateType.Unmovable, z.PageblockMigratetype(512));
        Assert.Equal(1, z.NrFree(9, MigrateType.Unmovable));
    }

    [Fact]
    public void Fallback_steal_converts_a_pageblock_when_half_is_free_or_alike()
    {
        var z = Zone(0, 512);
        long m = z.Allocate(8, MigrateType.Movable, 0); // 256 movable pages used, 256 free
        Assert.Equal(0, m);
        Assert.Equal(MigrateType.Movable, z.PageblockMigratetype(0));
        long u = z.Allocate(4, MigrateType.Unmovable, 0);
        Assert.Equal(256, u);
        // free 256 + alike 0 >= 256: the pageblock is claimed
        Assert.Equal(MigrateType.Unmovable, z.PageblockMigratetype(0));
        Assert.Equal(0, z.NrFree(4, MigrateType.Movable) + z.NrFree(7, MigrateType.Movable));
    }

    [Fact]
    public void Movable_fallback_below_half_pageblock_order_takes_a_single_block_and_keeps_the_pageblock()
    {
        var z = Zone(0, 512, online: false);
        z.SetPageblockMigratetype(0, 512, MigrateType.Unmovable);
        z.OnlineRange(0, 512);
        for (int o = 8; o >= 3; o--) z.Allocate(o, MigrateType.Unmovable, 0); // leaves one order-3 block at 504
        Assert.Equal(new long[] { 504 }, z.FreeBlocks(3, MigrateType.Unmovable).ToArray());
        long m = z.Allocate(2, MigrateType.Movable, 0); // order 3 < pageblock_order / 2: no steal
        Assert.Equal(504, m);
        Assert.Equal(MigrateType.Unmovable, z.PageblockMigratetype(0));
        Assert.Equal(new long[] { 508 }, z.FreeBlocks(2, MigrateType.Movable).ToArray());
    }

    [Fact]
    public void Movable_fallback_at_half_pageblock_order_claims_the_pageblock()
    {
        var z = Zone(0, 512, online: false);
        z.SetPageblockMigratetype(0, 512, MigrateType.Unmovable);
        z.OnlineRange(0, 512);
        z.Allocate(8, MigrateType.Unmovable, 0);
        Assert.Equal(256, z.Allocate(4, MigrateType.Movable, 0));
        // can_steal_fallback(8, Movable): order >= pageblock_order / 2; 256 free pages >= half a pageblock
        Assert.Equal(MigrateType.Movable, z.PageblockMigratetype(0));
    }

    [Fact]
    public void Isolated_pageblocks_are_not_allocatable_and_undo_restores_them()
    {
        var z = Zone(0, 4096);
        Assert.Equal(Errno.None, z.Isolate(0, 2048));
        Assert.Equal(2048, z.FreePages);
        Assert.Equal(2, z.NrFree(10, MigrateType.Isolate));
        Assert.Equal(Errno.EBUSY, z.Isolate(0, 512));
        var got = new List<long>();
        for (long p; (p = z.Allocate(10, MigrateType.Movable, 0)) >= 0;) got.Add(p);
        Assert.Equal(new long[] { 2048, 3072 }, got);
        foreach (var p in got) z.Free(p, 0);
        z.UndoIsolate(0, 2048);
        Assert.Equal(4096, z.FreePages);
        Assert.Equal(0, z.NrFree(10, MigrateType.Isolate));
        Assert.Equal(4, z.NrFree(10, MigrateType.Movable));
        Assert.Equal(0, z.IsolatedPageblocks);
    }

    [Fact]
    public void Isolating_half_a_max_order_block_splits_it_at_the_boundary()
    {
        var z = Zone(0, 1024);
        Assert.Equal(Errno.None, z.Isolate(0, 512));
        Assert.Equal(512, z.FreePages);
        Assert.Equal(1, z.NrFree(9, MigrateType.Isolate));
        Assert.Equal(1, z.NrFree(9, MigrateType.Movable));
        z.UndoIsolate(0, 512);
        Assert.Equal(1, z.NrFree(10, MigrateType.Movable));
        Assert.Equal(1024, z.FreePages);
    }

    [Fact]
    public void Offline_removes_exactly_the_free_pages_of_the_isolated_range()
    {
        var z = Zone(0, 8192);
        long a = z.Allocate(0, MigrateType.Unmovable, 1); // boot pageset: straight from the buddy
        Assert.Equal(0, a);
        Assert.Equal(Errno.EBUSY, z.Isolate(0, 4096, out long bad, checkUnmovable: true));
        Assert.Equal(0, bad);
        Assert.Equal(Errno.None, z.Isolate(4096, 8192, out _, checkUnmovable: true));
        Assert.Equal(Errno.None, z.TestPagesIsolated(4096, 8192, out _));
        long before = z.FreePages;
        Assert.Equal(4096, z.OfflineIsolated(4096, 8192));
        Assert.Equal(before, z.FreePages);
        Assert.Equal(8192 - 4096, z.ManagedPages);
        Assert.Equal(3, z.NrFree(10));
        Assert.Equal(0, z.NrFree(10, MigrateType.Isolate));
        Assert.False(z.IsFreeBuddyPage(5000));
        Assert.True(z.IsFreeBuddyPage(3000));
    }

    [Fact]
    public void Test_pages_isolated_fails_while_a_page_is_allocated_or_on_a_pcp_list()
    {
        var z = Zone(0, 2048);
        z.SetPcpHighAndBatch(high: 100, batch: 7);
        long p = z.Allocate(0, MigrateType.Movable, 0);
        Assert.Equal(Errno.None, z.Isolate(0, 2048));
        Assert.Equal(Errno.EBUSY, z.TestPagesIsolated(0, 2048, out long failed));
        Assert.Equal(p, failed);
        z.Free(p, 0); // back to the pcp list: still not in the buddy
        Assert.Equal(Errno.EBUSY, z.TestPagesIsolated(0, 2048, out _));
        z.DrainPcp();
        Assert.Equal(Errno.None, z.TestPagesIsolated(0, 2048, out _));
        Assert.Equal(0, z.FreePages);
        Assert.Equal(2048, z.OfflineIsolated(0, 2048));
    }

    [Fact]
    public void Pcp_refills_batch_pages_and_keeps_them_out_of_nr_free_pages()
    {
        var z = Zone(0, 4096);
        z.SetPcpHighAndBatch(high: 20, batch: 5);
        long p = z.Allocate(0, MigrateType.Movable, 2);
        Assert.Equal(0, p);
        Assert.Equal(4, z.PcpPages);
        Assert.Equal(4096 - 5, z.FreePages);
        Assert.Equal(new long[] { 1, 2, 3, 4 }, z.Pcp(2).ListPfns(PerCpuPages.OrderToPindex(MigrateType.Movable, 0)).ToArray());
        z.Free(p, 2);
        Assert.Equal(5, z.PcpPages);
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, z.Pcp(2).ListPfns(1).ToArray());
        z.DrainPcp();
        Assert.Equal(0, z.PcpPages);
        Assert.Equal(4096, z.FreePages);
        Assert.Equal(4, z.NrFree(10));
    }

    [Fact]
    public void Pcp_frees_a_batch_back_to_the_buddy_when_count_reaches_high()
    {
        var z = Zone(0, 4096);
        z.SetPcpHighAndBatch(high: 8, batch: 2);
        var pages = new List<long>();
        for (int i = 0; i < 10; i++) pages.Add(z.Allocate(0, MigrateType.Unmovable, 0));
        foreach (var p in pages) z.Free(p, 0);
        Assert.True(z.PcpPages < 8);
        Assert.Equal(4096, z.FreePages + z.PcpPages);
    }

    [Fact]
    public void Order_9_goes_through_the_thp_pcp_list()
    {
        var z = Zone(0, 4096);
        z.SetPcpHighAndBatch(high: 63 * 4, batch: 63);
        long p = z.Allocate(9, MigrateType.Movable, 0);
        Assert.Equal(0, p);
        Assert.Equal(512, z.PcpPages); // batch >> 9 -> max(.., 2) = 2 blocks refilled
        z.Free(p, 0);
        // count 1024 >= high 252: nr_pcp_free() = 63 pages, which the bulk free rounds up to one order-9 block
        Assert.Equal(512, z.PcpPages);
        Assert.Equal(4096 - 512, z.FreePages);
    }

    [Fact]
    public void A_16_TiB_zone_costs_a_few_list_nodes()
    {
        long span = (16L << 40) >> 12;
        var z = new ZonePageAllocator(0, span);
        z.OnlineRange(0, span);
        Assert.Equal(span >> 10, z.NrFree(10));
        Assert.Equal(span, z.FreePages);
        Assert.True(z.ApproximateBytes < 16 * 1024, $"{z.ApproximateBytes} bytes");
        long a = z.Allocate(0, MigrateType.Movable, 0);
        long b = z.Allocate(10, MigrateType.Movable, 0);
        Assert.Equal(0, a);
        Assert.Equal(1024, b);
        Assert.Equal(Errno.None, z.Isolate(1L << 30, (1L << 30) + 32768));
        Assert.Equal(32768, z.OfflineIsolated(1L << 30, (1L << 30) + 32768));
        Assert.True(z.ApproximateBytes < 64 * 1024, $"{z.ApproximateBytes} bytes");
        z.Free(a, 0);
        z.Free(b, 0);
        Assert.Equal(span - 32768, z.FreePages);
    }
}
