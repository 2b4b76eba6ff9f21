using CsCheck;
using Numasim.Kernel.Mm;
using Numasim.Snapshots;

namespace Numasim.Tests.Mm;

/// <summary>rmqueue_bulk()'s run (<see cref="BuddyFreeArea.RmqueueSmallestRun"/>) against the kernel's loop of one
/// __rmqueue_smallest() a block, on fragmented zones: the same blocks in the same order, the same lists after.</summary>
public class RmqueueBulkRunTests
{
    /// <summary>A zone whose online pieces alternate with holes, then fragmented by allocations of random orders.</summary>
    private static BuddyFreeArea Build(long[] pieces, int[] takes)
    {
        var area = new BuddyFreeArea(0, pieces.Sum(), new StateStore(), "zone");
        long pfn = 0;
        for (int i = 0; i < pieces.Length; i++)
        {
            if (i % 2 == 0) area.FreeRange(pfn, pfn + pieces[i]);
            pfn += pieces[i];
        }
        foreach (var order in takes) area.RmqueueSmallest(order, area.Pageblocks.DefaultType);
        return area;
    }

    /// <summary>Every free list in list order, one line a list.</summary>
    private static List<string> Lists(BuddyFreeArea a)
    {
        var l = new List<string>();
        for (int o = 0; o < BuddyConstants.MaxOrder; o++)
            for (int mt = 0; mt < MigrateTypes.Count; mt++)
                l.Add($"order {o} mt {mt}: {string.Join(' ', a.Lists.Blocks(o, (MigrateType)mt))}");
        return l;
    }

    [Fact]
    public void RunTakesWhatOneRmqueueSmallestPerBlockTakes()
    {
        Gen.Select(Gen.Long[1, 3000].Array[1, 5], Gen.Int[0, 10].Array[0, 12], Gen.Int[0, 4], Gen.Int[1, 200])
            .Sample((pieces, takes, order, count) =>
            {
                var byRun = Build(pieces, takes);
                var byBlock = Build(pieces, takes);
                var mt = byRun.Pageblocks.DefaultType;
                var run = new List<long>();
                while (run.Count < count)
                {
                    long head = byRun.RmqueueSmallestRun(order, mt, AllocFlags.None, count - run.Count, out int got);
                    if (head < 0) break;
                    Assert.InRange(got, 1, count - run.Count);
                    for (int j = 0; j < got; j++) run.Add(head + ((long)j << order));
                }
                var loop = new List<long>();
                while (loop.Count < count && byBlock.RmqueueSmallest(order, mt) is var pfn and >= 0) loop.Add(pfn);
                Assert.Equal(loop, run);
                Assert.Equal(Lists(byBlock), Lists(byRun));
                for (int o = 0; o < BuddyConstants.MaxOrder; o++) Assert.Equal(byBlock.Lists.NrFree(o), byRun.Lists.NrFree(o));
            });
    }
}
